/**
 * Score heatmaps over a slide, the pure part (no tfjs, Node or DOM; exported by `milkit/core`):
 * patch coordinates → rectangles on an image of the slide, the translucent blend, the colour bar
 * and its ticks. Scores map to [0, 1] and to colours as in every other view (viz/scale.ts,
 * viridis of viz/static/svg.ts), so a patch has the same colour in `milkit heatmap`, the kernel
 * helpers and the JupyterLab slide view.
 */
import { extent, type HeatScale } from '../viz/scale';
import { viridisRgb } from '../viz/static/svg';

/** Named score maps of the same patches, drawn side by side in key order (`{ 'AB-MIL': a, 'MHIM-v2': b }`). */
export type ScoreMaps = Record<string, ArrayLike<number>>;

/** One unnamed map or named maps as a list; every map must hold one score per patch. */
export function scoreMapList(scores: ArrayLike<number> | ScoreMaps): { name: string; scores: ArrayLike<number> }[] {
  const list =
    ArrayBuffer.isView(scores) || Array.isArray(scores)
      ? [{ name: '', scores: scores as ArrayLike<number> }]
      : Object.entries(scores as ScoreMaps).map(([name, s]) => ({ name, scores: s }));
  if (list.length === 0) throw new Error('no score map to draw: give scores, or named maps { name: scores }');
  const n = list[0].scores.length;
  for (const m of list)
    if (m.scores.length !== n)
      throw new Error(
        `score maps must score the same patches: "${list[0].name}" has ${n} scores, "${m.name}" ${m.scores.length}`,
      );
  return list;
}

/** A short label for a score (3 significant digits; exponent form below 0.001). */
export function formatScore(x: number): string {
  if (x === 0) return '0';
  const a = Math.abs(x);
  if (a < 1e-3 || a >= 1e5) return x.toExponential(1).replace('e+', 'e');
  return String(Number(x.toPrecision(3)));
}

/**
 * Colour-bar ticks for `scores` under `scale` (the mapping of viz/scale.ts): the position on
 * [0, 1] and the score there. Percentile ticks name the score at each quartile and the
 * percentile; linear and log ticks the score at evenly spaced positions.
 */
export function scoreTicks(scores: ArrayLike<number>, scale: HeatScale): { at: number; label: string }[] {
  const finite = Array.from(scores).filter(Number.isFinite);
  if (finite.length === 0) return [];
  const quarters = [0, 0.25, 0.5, 0.75, 1];
  if (scale === 'percentile') {
    finite.sort((a, b) => a - b);
    return quarters.map((p) => ({
      at: p,
      label: `${formatScore(finite[Math.round(p * (finite.length - 1))])} (${100 * p}%)`,
    }));
  }
  const [lo, hi] = extent(finite, scale === 'log');
  if (!(hi > lo)) return Number.isFinite(lo) ? [{ at: 1, label: formatScore(lo) }] : [];
  const at = (p: number) =>
    scale === 'log' ? Math.exp(Math.log(lo) + p * (Math.log(hi) - Math.log(lo))) : lo + p * (hi - lo);
  return quarters.map((p) => ({ at: p, label: formatScore(at(p)) }));
}

/**
 * Patch rectangles on an image of the whole slide: `[x0, y0, x1, y1]` per patch (x1, y1
 * exclusive), from level-0 top-left corners `coords` (x, y pairs) and the patch side in level-0
 * pixels. Each axis scales by image size / slide size; a patch is at least one pixel; everything
 * is clipped to the image.
 */
export function patchRects(
  coords: ArrayLike<number>,
  patchSizeLevel0: number,
  slide: { width: number; height: number },
  image: { width: number; height: number },
): Int32Array {
  const sx = image.width / slide.width;
  const sy = image.height / slide.height;
  const n = Math.floor(coords.length / 2);
  const out = new Int32Array(4 * n);
  const clip = (v: number, hi: number) => Math.min(hi, Math.max(0, v));
  for (let i = 0; i < n; i++) {
    const [x, y] = [coords[2 * i], coords[2 * i + 1]];
    const x0 = clip(Math.round(x * sx), image.width);
    const y0 = clip(Math.round(y * sy), image.height);
    out[4 * i] = x0;
    out[4 * i + 1] = y0;
    out[4 * i + 2] = clip(Math.max(x0 + 1, Math.round((x + patchSizeLevel0) * sx)), image.width);
    out[4 * i + 3] = clip(Math.max(y0 + 1, Math.round((y + patchSizeLevel0) * sy)), image.height);
  }
  return out;
}

export interface OverlayOptions {
  /** Weight of the score colour over the image, 0..1. Default 0.5. */
  opacity?: number;
  /** Colour of a value in [0, 1]. Default viridis (viz/static/svg.ts). */
  colormap?: (t: number) => [number, number, number];
}

/**
 * `rgb` (width × height × 3 bytes) with each patch rectangle blended towards the colour of its
 * value (quantised to 256 levels) at `opacity`. Where patches overlap (tiling with overlap) a pixel shows the mean of
 * their values. Pixels outside every rectangle, and patches whose value is NaN, keep the image's
 * bytes exactly. Returns a new array.
 */
export function blendScores(
  rgb: Uint8Array,
  width: number,
  height: number,
  rects: Int32Array,
  values: ArrayLike<number>,
  opts: OverlayOptions = {},
): Uint8Array {
  const alpha = opts.opacity ?? 0.5;
  if (!(alpha >= 0 && alpha <= 1)) throw new Error(`opacity must lie in [0, 1], got ${alpha}`);
  // 256 colours, as the canvas views use: one lookup per pixel instead of a colour computation.
  const colormap = opts.colormap ?? viridisRgb;
  const lut = Array.from({ length: 256 }, (_, k) => colormap(k / 255));
  const sum = new Float32Array(width * height);
  const count = new Uint16Array(width * height);
  for (let p = 0; p < values.length; p++) {
    const v = values[p];
    if (!Number.isFinite(v)) continue;
    const [x0, y0, x1, y1] = [rects[4 * p], rects[4 * p + 1], rects[4 * p + 2], rects[4 * p + 3]];
    for (let y = y0; y < y1; y++)
      for (let i = y * width + x0, end = y * width + x1; i < end; i++) {
        sum[i] += v;
        count[i]++;
      }
  }
  const out = Uint8Array.from(rgb);
  for (let i = 0; i < width * height; i++) {
    if (count[i] === 0) continue;
    const c = lut[Math.round(Math.min(1, Math.max(0, sum[i] / count[i])) * 255)];
    for (let k = 0; k < 3; k++) out[3 * i + k] = Math.round((1 - alpha) * rgb[3 * i + k] + alpha * c[k]);
  }
  return out;
}

/** A vertical colour bar, `width × height` RGB: the top row is value 1, the bottom row value 0. */
export function colorBar(
  width: number,
  height: number,
  colormap: (t: number) => [number, number, number] = (t) => viridisRgb(t),
): Uint8Array {
  const out = new Uint8Array(width * height * 3);
  for (let y = 0; y < height; y++) {
    const c = colormap(height > 1 ? 1 - y / (height - 1) : 1);
    for (let x = 0; x < width; x++) out.set(c, 3 * (y * width + x));
  }
  return out;
}
