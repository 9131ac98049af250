/**
 * Tissue detection on a thumbnail, the CLAM recipe in physical units. Pure (no I/O, no tfjs).
 *
 * 1. HSV saturation of each pixel (stained tissue is pink/purple, glass is white or grey);
 * 2. a median filter (removes speckle and thin dust);
 * 3. Otsu's threshold on the filtered saturation, never below `minThreshold` (a blank slide's
 *    histogram is all glass, and Otsu would split its noise);
 * 4. morphological closing (joins tissue torn into fragments by lumens and fat);
 * 5. holes smaller than `maxHoleUm2` filled (nuclei-free stroma, small gaps), larger ones kept;
 * 6. optionally pen marks removed (ink has a colour H&E never has: green/blue ink shows more green
 *    than red; black ink is darker than any stain);
 * 7. regions smaller than `minRegionUm2` dropped (dust, debris).
 * Sizes are in µm so the same settings work at any thumbnail resolution and scanner.
 */
import { definedFields } from './tiling';
import type { RgbPixels } from './types';

export interface TissueConfig {
  /**
   * µm per pixel of the thumbnail tissue is found on. Default 8 (CLAM segments 40× slides at downsample 32, ≈ 8 µm/px).
   */
  mpp: number;
  /** Longest thumbnail side in pixels: larger slides are segmented coarser than `mpp`. Default 2048. */
  maxSide: number;
  /** Side of the median filter on saturation in µm (0: none). Default 56 (CLAM's 7 px at 8 µm/px). */
  medianUm: number;
  /** A fixed saturation threshold 0..255 instead of Otsu's. Default undefined (Otsu). */
  threshold?: number;
  /** Lowest threshold Otsu may pick (0..255): glass stays glass on an empty slide. Default 15. */
  minThreshold: number;
  /** Side of the closing in µm (0: none). Default 32 (CLAM's 4 px at 8 µm/px). */
  closeUm: number;
  /** Tissue regions smaller than this (µm²) are dropped. Default 20,000 (0.02 mm², ~ a 140 µm square). */
  minRegionUm2: number;
  /** Holes smaller than this (µm²) are filled; larger ones stay background. Default 40,000 (0.04 mm²). */
  maxHoleUm2: number;
  /** Remove green, blue and black pen marks. Default false. */
  excludePen: boolean;
}

export const DEFAULT_TISSUE: Readonly<TissueConfig> = Object.freeze({
  mpp: 8,
  maxSide: 2048,
  medianUm: 56,
  minThreshold: 15,
  closeUm: 32,
  minRegionUm2: 20_000,
  maxHoleUm2: 40_000,
  excludePen: false,
});

/** The tissue mask: 1 = tissue, row-major, at `umPerPixel` µm per pixel. */
export interface TissueMask {
  width: number;
  height: number;
  data: Uint8Array;
  umPerPixel: number;
  /** The saturation threshold used (0..255). */
  threshold: number;
  /** Tissue regions kept after the size filter. */
  regions: number;
  /** Fraction of the thumbnail that is tissue. */
  tissueFraction: number;
  /** Pixels removed as pen marks (0 when `excludePen` is off). */
  penPixels: number;
}

/** Odd window side in pixels for a size in µm (1 = no filtering). */
function windowPx(um: number, umPerPixel: number): number {
  const k = Math.round(um / umPerPixel);
  return k <= 1 ? 1 : k % 2 ? k : k + 1;
}

/** HSV saturation in 0..255 (OpenCV's definition: (max − min) / max). */
export function saturation(img: RgbPixels): Uint8Array {
  const n = img.width * img.height;
  const out = new Uint8Array(n);
  const d = img.data;
  for (let i = 0; i < n; i++) {
    const r = d[3 * i];
    const g = d[3 * i + 1];
    const b = d[3 * i + 2];
    const max = r > g ? (r > b ? r : b) : g > b ? g : b;
    const min = r < g ? (r < b ? r : b) : g < b ? g : b;
    out[i] = max === 0 ? 0 : Math.round((255 * (max - min)) / max);
  }
  return out;
}

/** Median over a k × k window (edges replicated), Huang's sliding histogram. */
export function medianFilter(src: Uint8Array, w: number, h: number, k: number): Uint8Array {
  if (k <= 1) return src.slice();
  const r = k >> 1;
  const half = (k * k) >> 1;
  const out = new Uint8Array(w * h);
  const hist = new Int32Array(256);
  const cx = (x: number) => (x < 0 ? 0 : x >= w ? w - 1 : x);
  const cy = (y: number) => (y < 0 ? 0 : y >= h ? h - 1 : y);
  for (let y = 0; y < h; y++) {
    hist.fill(0);
    for (let dy = -r; dy <= r; dy++) {
      const row = cy(y + dy) * w;
      for (let dx = -r; dx <= r; dx++) hist[src[row + cx(dx)]]++;
    }
    let m = 0;
    let ltm = 0; // values below m
    while (ltm + hist[m] <= half) ltm += hist[m++];
    out[y * w] = m;
    for (let x = 1; x < w; x++) {
      const gone = cx(x - r - 1);
      const come = cx(x + r);
      for (let dy = -r; dy <= r; dy++) {
        const row = cy(y + dy) * w;
        const a = src[row + gone];
        const b = src[row + come];
        hist[a]--;
        if (a < m) ltm--;
        hist[b]++;
        if (b < m) ltm++;
      }
      if (ltm > half) {
        while (ltm > half) ltm -= hist[--m];
      } else {
        while (ltm + hist[m] <= half) ltm += hist[m++];
      }
      out[y * w + x] = m;
    }
  }
  return out;
}

/** Otsu's threshold t (class 0 = values ≤ t) maximising the between-class variance. */
export function otsuThreshold(values: Uint8Array): number {
  const hist = new Float64Array(256);
  for (let i = 0; i < values.length; i++) hist[values[i]]++;
  const total = values.length;
  let sumAll = 0;
  for (let v = 0; v < 256; v++) sumAll += v * hist[v];
  let w0 = 0;
  let sum0 = 0;
  let best = 0;
  let bestVar = -1;
  for (let t = 0; t < 255; t++) {
    w0 += hist[t];
    sum0 += t * hist[t];
    const w1 = total - w0;
    if (w0 === 0 || w1 === 0) continue;
    const m0 = sum0 / w0;
    const m1 = (sumAll - sum0) / w1;
    const between = w0 * w1 * (m0 - m1) ** 2;
    if (between > bestVar) {
      bestVar = between;
      best = t;
    }
  }
  return best;
}

/** Max (dilate) or min (erode) over a k × k square, separably. Outside the image counts as 0. */
function morph(src: Uint8Array, w: number, h: number, k: number, dilate: boolean): Uint8Array {
  const r = k >> 1;
  const tmp = new Uint8Array(w * h);
  const out = new Uint8Array(w * h);
  const pick = dilate ? (a: number, b: number) => a | b : (a: number, b: number) => a & b;
  for (let y = 0; y < h; y++)
    for (let x = 0; x < w; x++) {
      let v = dilate ? 0 : 1;
      for (let d = -r; d <= r; d++) {
        const xx = x + d;
        v = pick(v, xx >= 0 && xx < w ? src[y * w + xx] : 0);
      }
      tmp[y * w + x] = v;
    }
  for (let y = 0; y < h; y++)
    for (let x = 0; x < w; x++) {
      let v = dilate ? 0 : 1;
      for (let d = -r; d <= r; d++) {
        const yy = y + d;
        v = pick(v, yy >= 0 && yy < h ? tmp[yy * w + x] : 0);
      }
      out[y * w + x] = v;
    }
  return out;
}

/** Morphological closing (dilate then erode) of a 0/1 mask. */
export function closeMask(mask: Uint8Array, w: number, h: number, k: number): Uint8Array {
  if (k <= 1) return mask.slice();
  // Pad so that erosion does not eat tissue touching the border.
  const r = k >> 1;
  const pw = w + 2 * r;
  const ph = h + 2 * r;
  const padded = new Uint8Array(pw * ph);
  for (let y = 0; y < ph; y++)
    for (let x = 0; x < pw; x++) {
      const sx = Math.min(w - 1, Math.max(0, x - r));
      const sy = Math.min(h - 1, Math.max(0, y - r));
      padded[y * pw + x] = mask[sy * w + sx];
    }
  const closed = morph(morph(padded, pw, ph, k, true), pw, ph, k, false);
  const out = new Uint8Array(w * h);
  for (let y = 0; y < h; y++) out.set(closed.subarray((y + r) * pw + r, (y + r) * pw + r + w), y * w);
  return out;
}

/**
 * Labels the connected pixels equal to `value` (8-connected for tissue, 4-connected for the
 * background, the complementary pair). Returns each pixel's label (-1 elsewhere) and per label
 * its area and whether it touches the image border.
 */
export function components(
  mask: Uint8Array,
  w: number,
  h: number,
  value: 0 | 1,
  eight: boolean,
): { labels: Int32Array; area: number[]; border: boolean[] } {
  const labels = new Int32Array(w * h).fill(-1);
  const area: number[] = [];
  const border: boolean[] = [];
  const stack = new Int32Array(w * h);
  const offsets = eight
    ? [
        [-1, -1],
        [0, -1],
        [1, -1],
        [-1, 0],
        [1, 0],
        [-1, 1],
        [0, 1],
        [1, 1],
      ]
    : [
        [0, -1],
        [-1, 0],
        [1, 0],
        [0, 1],
      ];
  for (let start = 0; start < w * h; start++) {
    if (mask[start] !== value || labels[start] >= 0) continue;
    const id = area.length;
    let n = 0;
    let top = 0;
    let touches = false;
    stack[top++] = start;
    labels[start] = id;
    while (top > 0) {
      const p = stack[--top];
      n++;
      const x = p % w;
      const y = (p - x) / w;
      if (x === 0 || y === 0 || x === w - 1 || y === h - 1) touches = true;
      for (const [dx, dy] of offsets) {
        const xx = x + dx;
        const yy = y + dy;
        if (xx < 0 || yy < 0 || xx >= w || yy >= h) continue;
        const q = yy * w + xx;
        if (mask[q] === value && labels[q] < 0) {
          labels[q] = id;
          stack[top++] = q;
        }
      }
    }
    area.push(n);
    border.push(touches);
  }
  return { labels, area, border };
}

/** Pen ink: more green than red (green, blue, cyan markers; H&E never is), or darker than any stain. */
export function penMask(img: RgbPixels): Uint8Array {
  const n = img.width * img.height;
  const out = new Uint8Array(n);
  const d = img.data;
  for (let i = 0; i < n; i++) {
    const r = d[3 * i];
    const g = d[3 * i + 1];
    const b = d[3 * i + 2];
    out[i] = g > r + 10 || Math.max(r, g, b) < 50 ? 1 : 0;
  }
  return out;
}

/** Finds tissue on `thumb` (RGB over white) taken at `umPerPixel` µm per pixel. */
export function detectTissue(thumb: RgbPixels, umPerPixel: number, config: Partial<TissueConfig> = {}): TissueMask {
  const cfg = { ...DEFAULT_TISSUE, ...definedFields(config) };
  const { width: w, height: h } = thumb;
  const areaPx = (um2: number) => um2 / (umPerPixel * umPerPixel);
  const sat = medianFilter(saturation(thumb), w, h, windowPx(cfg.medianUm, umPerPixel));
  const threshold = cfg.threshold ?? Math.max(otsuThreshold(sat), cfg.minThreshold);
  let mask: Uint8Array = new Uint8Array(w * h);
  for (let i = 0; i < mask.length; i++) mask[i] = sat[i] > threshold ? 1 : 0;
  mask = closeMask(mask, w, h, windowPx(cfg.closeUm, umPerPixel));
  // Fill small holes: background components that do not reach the border.
  const bg = components(mask, w, h, 0, false);
  const maxHole = areaPx(cfg.maxHoleUm2);
  for (let i = 0; i < mask.length; i++) {
    const l = bg.labels[i];
    if (l >= 0 && !bg.border[l] && bg.area[l] < maxHole) mask[i] = 1;
  }
  let penPixels = 0;
  if (cfg.excludePen) {
    const pen = penMask(thumb);
    for (let i = 0; i < mask.length; i++)
      if (pen[i] && mask[i]) {
        mask[i] = 0;
        penPixels++;
      }
  }
  const fg = components(mask, w, h, 1, true);
  const minRegion = areaPx(cfg.minRegionUm2);
  let kept = 0;
  let tissue = 0;
  for (let l = 0; l < fg.area.length; l++) if (fg.area[l] >= minRegion) kept++;
  for (let i = 0; i < mask.length; i++) {
    const l = fg.labels[i];
    mask[i] = l >= 0 && fg.area[l] >= minRegion ? 1 : 0;
    tissue += mask[i];
  }
  return {
    width: w,
    height: h,
    data: mask,
    umPerPixel,
    threshold,
    regions: kept,
    tissueFraction: tissue / (w * h),
    penPixels,
  };
}
