/**
 * The slide heatmap view's notebook payload (`application/vnd.milkit.slide+json`), pure so the
 * kernel helper builds it and the JupyterLab slide view reads it with the same code: the slide's
 * thumbnail, every patch's level-0 position, one or more score maps (two models side by side)
 * and each map's top-scoring patches at full resolution. Everything the view draws is in the
 * payload (tslab has no comms), so it stays interactive in a saved notebook opened without a
 * kernel; `source` lets the view ask a running kernel for any other patch
 * (jupyterlab-plugin/src/kernel.ts).
 */
import type { HeatScale } from '../viz/scale';
import { HEAT_SCALES } from '../viz/scale';

export const SLIDE_MIME = 'application/vnd.milkit.slide+json';
export const SLIDE_VIEW_VERSION = 2;
/** Patches a payload may carry (a 40× resection at 256 px has tens of thousands). */
export const MAX_SLIDE_PATCHES = 200_000;
/** Score maps one view shows side by side. */
export const MAX_SLIDE_MAPS = 8;

export interface SlidePatchImage {
  /** The patch's index in `coords` / the map's `scores`. */
  index: number;
  /** The image as a `data:image/jpeg;base64,...` (or png) URI, `size × size` pixels. */
  src: string;
  size: number;
}

/** Images in a payload: base64 JPEG or PNG data URIs only (the payload is untrusted notebook data). */
const IMAGE_URI = /^data:image\/(jpeg|png);base64,[A-Za-z0-9+/=]+$/;

/** One score per patch under a name (a model), with its top patches at full resolution. */
export interface SlideScoreMap {
  /** Shown above the map ("AB-MIL"); empty for a single unnamed map. */
  name: string;
  /** One score per patch (4 significant digits). */
  scores: number[];
  /** The map's top-scoring patches at full resolution, best first. */
  patches: SlidePatchImage[];
}

export interface SlidePayload {
  kind: 'slide';
  version: number;
  slideId: string;
  title?: string;
  /** Level-0 size of the slide, and its µm per pixel when known. */
  slide: { width: number; height: number; mpp?: number };
  /**
   * The slide file as the kernel opened it (relative to the kernel's working folder, or absolute):
   * with it the JupyterLab view asks the notebook's kernel for patches it does not carry.
   */
  source?: string;
  /** The slide drawn whole (a JPEG or PNG data URI) and its size in pixels. */
  image: { src: string; width: number; height: number };
  /** Patch side in level-0 pixels. */
  patchSize: number;
  /** Level-0 top-left corners, x, y pairs. */
  coords: number[];
  /** The maps, drawn side by side over the same patches under one colour scale (viz/scale.ts). */
  maps: SlideScoreMap[];
  /** What the scores are ("attention", "P(tumor)"). */
  scoreName: string;
  scale: HeatScale;
  opacity: number;
}

/** Version 1 (one map: `scores` and `patches` at the top level), as notebooks saved before maps. */
type SlidePayloadV1 = Omit<SlidePayload, 'maps' | 'version'> & {
  version: 1;
  scores: number[];
  patches: SlidePatchImage[];
};

/** Indices of the `k` highest finite scores, best first (ties: lower index first). */
export function topPatches(scores: ArrayLike<number>, k: number): number[] {
  const idx: number[] = [];
  for (let i = 0; i < scores.length; i++) if (Number.isFinite(scores[i])) idx.push(i);
  return idx.sort((a, b) => scores[b] - scores[a] || a - b).slice(0, Math.max(0, k));
}

/** A score rounded for the payload (it is stored in the notebook). */
export const roundScore = (x: number): number => (Number.isFinite(x) ? Number(x.toPrecision(4)) : x);

/**
 * Checks a payload (from a notebook file: any JSON); returns it (a version-1 payload as its one
 * map) or throws naming the field.
 */
export function checkSlidePayload(p: unknown): SlidePayload {
  let s = (typeof p === 'string' ? JSON.parse(p) : p) as SlidePayload;
  const bad = (field: string, why: string) => new Error(`milkit slide view: "${field}" ${why}`);
  if (!s || s.kind !== 'slide') throw bad('kind', 'is not "slide"');
  if (s.version === 1) {
    const { scores, patches, ...rest } = s as unknown as SlidePayloadV1;
    s = { ...rest, version: SLIDE_VIEW_VERSION, maps: [{ name: '', scores, patches }] };
  }
  if (s.version !== SLIDE_VIEW_VERSION)
    throw bad(
      'version',
      `is ${s.version}; this view reads versions 1 and ${SLIDE_VIEW_VERSION} (update milkit-jupyterlab)`,
    );
  for (const [k, v] of [
    ['slide.width', s.slide?.width],
    ['slide.height', s.slide?.height],
    ['image.width', s.image?.width],
    ['image.height', s.image?.height],
    ['patchSize', s.patchSize],
  ] as const)
    if (!(typeof v === 'number' && v > 0)) throw bad(k, `must be a positive number, got ${JSON.stringify(v)}`);
  if (typeof s.image.src !== 'string' || !IMAGE_URI.test(s.image.src))
    throw bad('image.src', 'must be a base64 JPEG or PNG data URI');
  if (s.source !== undefined && typeof s.source !== 'string') throw bad('source', 'must be a file path');
  if (!Array.isArray(s.coords) || s.coords.length % 2 || s.coords.some((v) => !Number.isInteger(v)))
    throw bad('coords', 'must be integer x, y pairs');
  const n = s.coords.length / 2;
  if (n > MAX_SLIDE_PATCHES) throw bad('coords', `holds more than ${MAX_SLIDE_PATCHES} patches`);
  if (!Array.isArray(s.maps) || s.maps.length < 1 || s.maps.length > MAX_SLIDE_MAPS)
    throw bad('maps', `must hold 1 to ${MAX_SLIDE_MAPS} score maps`);
  for (const [m, map] of s.maps.entries()) {
    if (typeof map?.name !== 'string') throw bad(`maps[${m}].name`, 'must be a string');
    if (!Array.isArray(map.scores) || map.scores.length !== n)
      throw bad(`maps[${m}].scores`, `must hold one score per patch (${map.scores?.length} scores for ${n} patches)`);
    if (!Array.isArray(map.patches)) throw bad(`maps[${m}].patches`, 'must be a list');
    for (const [k, q] of map.patches.entries())
      if (!(Number.isInteger(q?.index) && q.index >= 0 && q.index < n) || !IMAGE_URI.test(String(q.src)))
        throw bad(`maps[${m}].patches[${k}]`, 'needs the index of a patch and a base64 JPEG or PNG data URI');
  }
  if (!HEAT_SCALES.includes(s.scale)) throw bad('scale', `must be one of ${HEAT_SCALES.join(', ')}`);
  if (!(s.opacity >= 0 && s.opacity <= 1)) throw bad('opacity', 'must lie in [0, 1]');
  return s;
}

/**
 * The patch under level-0 point (x, y): the highest-scoring patch containing it (patches overlap
 * when tiled with overlap), or -1. Linear in the number of patches: for a click, not per frame.
 */
export function patchAt(
  coords: ArrayLike<number>,
  scores: ArrayLike<number>,
  size: number,
  x: number,
  y: number,
): number {
  let best = -1;
  for (let i = 0; i < scores.length; i++) {
    const [px, py] = [coords[2 * i], coords[2 * i + 1]];
    if (x >= px && x < px + size && y >= py && y < py + size && (best < 0 || scores[i] > scores[best])) best = i;
  }
  return best;
}
