/**
 * Slide metadata that every backend reads the same way: Aperio's ImageDescription, microns per
 * pixel and objective power. Pure (no I/O).
 */

/**
 * Aperio's ImageDescription: `Aperio Image Library v11.2.1 \r\n46000x32914 [...] JPEG/RGB Q=30|AppMag = 20|MPP =
 * 0.4990|...`
 * → `{ 'aperio.AppMag': '20', 'aperio.MPP': '0.4990', ... }` (OpenSlide's property names). A key
 * given twice keeps its first value, as OpenSlide does.
 */
export function parseAperioDescription(desc: string): Record<string, string> {
  const out: Record<string, string> = {};
  const fields = desc.split('|').slice(1);
  for (const f of fields) {
    const eq = f.indexOf(' = ');
    if (eq <= 0) continue;
    const key = `aperio.${f.slice(0, eq).trim()}`;
    if (!(key in out)) out[key] = f.slice(eq + 3).trim();
  }
  return out;
}

export function isAperioDescription(desc: string | undefined): boolean {
  return typeof desc === 'string' && desc.startsWith('Aperio');
}

/** A positive finite number, or undefined. */
function positive(v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  return Number.isFinite(n) && n > 0 ? n : undefined;
}

/**
 * Plausible microscope resolutions (µm per pixel). TIFF resolution tags outside this range are
 * not microscopy metadata: a plain image's default 72 dpi would claim 353 µm/px.
 */
export const MPP_RANGE = { min: 0.05, max: 20 } as const;

/**
 * Microns per level-0 pixel from the properties, in this order: OpenSlide's `openslide.mpp-x/y`,
 * Aperio's `aperio.MPP`, then the TIFF resolution tags (`tiff.XResolution` + `tiff.ResolutionUnit`
 * in inch or centimeter) when they give a value inside MPP_RANGE.
 */
export function mppFromProperties(props: Readonly<Record<string, string>>): { x: number; y: number } | undefined {
  const ox = positive(props['openslide.mpp-x']);
  const oy = positive(props['openslide.mpp-y']);
  if (ox && oy) return { x: ox, y: oy };
  const aperio = positive(props['aperio.MPP']);
  if (aperio) return { x: aperio, y: aperio };
  const unit = props['tiff.ResolutionUnit'];
  const umPerUnit = unit === 'centimeter' || unit === '3' ? 1e4 : unit === 'inch' || unit === '2' ? 25_400 : undefined;
  const rx = positive(props['tiff.XResolution']);
  const ry = positive(props['tiff.YResolution']) ?? rx;
  if (umPerUnit && rx && ry) {
    const x = umPerUnit / rx;
    const y = umPerUnit / ry;
    if ([x, y].every((v) => v >= MPP_RANGE.min && v <= MPP_RANGE.max)) return { x, y };
  }
  return undefined;
}

/** Objective power at level 0: `openslide.objective-power`, else Aperio's `AppMag`. */
export function objectivePowerFromProperties(props: Readonly<Record<string, string>>): number | undefined {
  return positive(props['openslide.objective-power']) ?? positive(props['aperio.AppMag']);
}
