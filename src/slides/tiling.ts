/**
 * Magnification-aware tiling, pure (no I/O). A patch is `patchSize` pixels at the target
 * magnification (or µm per pixel); on the slide it covers `patchSizeLevel0` level-0 pixels, and it
 * is read from the coarsest level that is not coarser than the target (downsampled from there
 * when no level matches). Coordinates are level-0 top-left corners, the CLAM/TRIDENT convention.
 */
import { MilkitDataError } from '../data/errors';
import { bestLevelForDownsample } from './slide';
import type { TissueMask } from './tissue';
import type { SlideLevel } from './types';

export interface TilingConfig {
  /** Patch side in pixels at the target resolution. Default 256. */
  patchSize: number;
  /** Target magnification (20 = 20×). Default 20; ignored when `targetMpp` is set. */
  magnification?: number;
  /** Target µm per pixel instead of a magnification (e.g. 0.5). */
  targetMpp?: number;
  /** Overlap of neighbouring patches in target pixels. Default 0. */
  overlap: number;
  /** Minimum tissue fraction of a patch (0..1). Default 0.5. */
  minTissue: number;
  /** The slide's level-0 µm per pixel, for files that do not record it (or record it wrongly). */
  mpp?: number;
}

export const DEFAULT_TILING: Readonly<TilingConfig> = Object.freeze({
  patchSize: 256,
  magnification: 20,
  overlap: 0,
  minTissue: 0.5,
});

/** What a slide must tell the planner. */
export interface SlideGeometry {
  path: string;
  width: number;
  height: number;
  levels: readonly SlideLevel[];
  mpp: { x: number; y: number } | undefined;
  objectivePower: number | undefined;
}

export interface TilingPlan {
  /** µm per level-0 pixel (from the file, or the `mpp` override). */
  level0Mpp: number;
  /** Level-0 magnification: the objective power when recorded, else 10 / level0Mpp (0.25 µm/px = 40×). */
  level0Magnification: number;
  targetMpp: number;
  targetMagnification: number;
  /** Target pixel size / level-0 pixel size. */
  downsample: number;
  patchSize: number;
  /** The patch's side in level-0 pixels (TRIDENT's patch_size_level0). */
  patchSizeLevel0: number;
  /** Distance between neighbouring patches in level-0 pixels. */
  stepLevel0: number;
  /** Overlap in target pixels. */
  overlap: number;
  /** The level patches are read from (CLAM's patch_level). */
  patchLevel: number;
  /** Pixels read at `patchLevel`; resized to `patchSize` when they differ. */
  readSize: number;
}

/** `config` without its undefined fields, so they do not hide the defaults when spread. */
export function definedFields<T extends object>(config: T): Partial<T> {
  return Object.fromEntries(Object.entries(config).filter(([, v]) => v !== undefined)) as Partial<T>;
}

function positive(v: number | undefined, name: string, file: string): void {
  if (v !== undefined && !(Number.isFinite(v) && v > 0))
    throw new MilkitDataError(`${name} must be a positive number, got ${v}`, { file });
}

/** The patch geometry for `slide` under `config`; errors name the file and the fix. */
export function planTiling(slide: SlideGeometry, config: Partial<TilingConfig> = {}): TilingPlan {
  const cfg = { ...DEFAULT_TILING, ...definedFields(config) };
  const file = slide.path;
  positive(cfg.mpp, '--mpp', file);
  positive(cfg.targetMpp, '--target-mpp', file);
  positive(cfg.magnification, '--magnification', file);
  if (!Number.isInteger(cfg.patchSize) || cfg.patchSize < 1)
    throw new MilkitDataError(`--patch-size must be a positive integer, got ${cfg.patchSize}`, { file });
  if (!Number.isInteger(cfg.overlap) || cfg.overlap < 0 || cfg.overlap >= cfg.patchSize)
    throw new MilkitDataError(`--overlap must be an integer in [0, patch size ${cfg.patchSize}), got ${cfg.overlap}`, {
      file,
    });
  if (!(cfg.minTissue >= 0 && cfg.minTissue <= 1))
    throw new MilkitDataError(`--min-tissue must lie in [0, 1], got ${cfg.minTissue}`, { file });
  const level0Mpp = cfg.mpp ?? (slide.mpp ? (slide.mpp.x + slide.mpp.y) / 2 : undefined);
  if (level0Mpp === undefined)
    throw new MilkitDataError(
      'the slide does not record its microns per pixel, so a magnification cannot be found on it; ' +
        'pass the scanner resolution with --mpp (e.g. --mpp 0.25 for 40×, --mpp 0.5 for 20×)',
      { file, field: 'mpp' },
    );
  const level0Magnification = slide.objectivePower ?? 10 / level0Mpp;
  const downsample =
    cfg.targetMpp !== undefined ? cfg.targetMpp / level0Mpp : level0Magnification / (cfg.magnification ?? 20);
  const targetMpp = level0Mpp * downsample;
  const targetMagnification = level0Magnification / downsample;
  if (downsample < 0.99)
    throw new MilkitDataError(
      `the target (${targetMagnification.toFixed(3).replace(/\.?0+$/, '')}×, ${targetMpp.toFixed(4)} ` +
        `µm/px) is finer than ` +
        (`the slide's level 0 (${level0Magnification.toFixed(3).replace(/\.?0+$/, '')}×, ${level0Mpp} ` +
          `µm/px), and patches are `) +
        'never upsampled; choose a lower --magnification or a larger --target-mpp',
      { file },
    );
  const patchSizeLevel0 = Math.round(cfg.patchSize * downsample);
  const stepLevel0 = Math.round((cfg.patchSize - cfg.overlap) * downsample);
  const patchLevel = bestLevelForDownsample(slide.levels, downsample);
  const readSize = Math.round(patchSizeLevel0 / slide.levels[patchLevel].downsample);
  if (slide.width < patchSizeLevel0 || slide.height < patchSizeLevel0)
    throw new MilkitDataError(
      `the slide (${slide.width}×${slide.height} level-0 pixels) is smaller than one patch ` +
        `(${patchSizeLevel0}×${patchSizeLevel0} level-0 pixels = ${cfg.patchSize} px at the target); ` +
        'use a smaller --patch-size or a lower --magnification',
      { file },
    );
  return {
    level0Mpp,
    level0Magnification,
    targetMpp,
    targetMagnification,
    downsample,
    patchSize: cfg.patchSize,
    patchSizeLevel0,
    stepLevel0,
    overlap: cfg.overlap,
    patchLevel,
    readSize,
  };
}

/** Summed-area table of a 0/1 mask, (w+1) × (h+1). */
function integral(mask: TissueMask): Float64Array {
  const { width: w, height: h, data } = mask;
  const sat = new Float64Array((w + 1) * (h + 1));
  for (let y = 0; y < h; y++) {
    let row = 0;
    for (let x = 0; x < w; x++) {
      row += data[y * w + x];
      sat[(y + 1) * (w + 1) + x + 1] = sat[y * (w + 1) + x + 1] + row;
    }
  }
  return sat;
}

/**
 * The integral at a fractional point: bilinear interpolation of the table, which is exact for a
 * mask that is constant on each pixel (the integral is bilinear inside a pixel).
 */
function integralAt(sat: Float64Array, w: number, h: number, x: number, y: number): number {
  x = Math.min(Math.max(x, 0), w);
  y = Math.min(Math.max(y, 0), h);
  const x0 = Math.min(Math.floor(x), w - 1);
  const y0 = Math.min(Math.floor(y), h - 1);
  const fx = x - x0;
  const fy = y - y0;
  const W = w + 1;
  const a = sat[y0 * W + x0];
  const b = sat[y0 * W + x0 + 1];
  const c = sat[(y0 + 1) * W + x0];
  const d = sat[(y0 + 1) * W + x0 + 1];
  return a * (1 - fx) * (1 - fy) + b * fx * (1 - fy) + c * (1 - fx) * fy + d * fx * fy;
}

export interface PatchGrid {
  /** Level-0 top-left corners, x0 y0 x1 y1 ..., row-major over the slide. */
  coords: Int32Array;
  /** Tissue fraction of each kept patch. */
  tissue: Float32Array;
  /** Patches on the full grid (before the tissue filter). */
  gridSize: number;
}

/**
 * Every patch of the grid from (0, 0) in steps of `stepLevel0` that lies wholly inside the slide,
 * kept when the fraction of its area the mask calls tissue is at least `minTissue`.
 */
export function gridPatches(
  plan: TilingPlan,
  slide: { width: number; height: number },
  mask: TissueMask,
  minTissue: number,
): PatchGrid {
  const sat = integral(mask);
  const sx = mask.width / slide.width;
  const sy = mask.height / slide.height;
  const size = plan.patchSizeLevel0;
  const cols = Math.floor((slide.width - size) / plan.stepLevel0) + 1;
  const rows = Math.floor((slide.height - size) / plan.stepLevel0) + 1;
  const coords: number[] = [];
  const tissue: number[] = [];
  const area = size * sx * size * sy;
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) {
      const x = c * plan.stepLevel0;
      const y = r * plan.stepLevel0;
      const [ax, ay, bx, by] = [x * sx, y * sy, (x + size) * sx, (y + size) * sy];
      const inside =
        integralAt(sat, mask.width, mask.height, bx, by) -
        integralAt(sat, mask.width, mask.height, ax, by) -
        integralAt(sat, mask.width, mask.height, bx, ay) +
        integralAt(sat, mask.width, mask.height, ax, ay);
      const frac = Math.min(1, Math.max(0, inside / area));
      // A tolerance for float rounding: a patch exactly on the threshold is kept.
      if (frac + 1e-9 >= minTissue && frac > 0) {
        coords.push(x, y);
        tissue.push(frac);
      }
    }
  }
  return { coords: Int32Array.from(coords), tissue: Float32Array.from(tissue), gridSize: cols * rows };
}
