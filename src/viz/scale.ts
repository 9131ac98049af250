/**
 * Heatmap colour scales, shared by the static figures and the interactive JupyterLab view so both
 * colour a bag the same way by default.
 * - linear: colour ∝ score between the bag's min and max (a dominant instance stands out);
 * - percentile: colour = rank within the bag (the CLAM heatmap convention: softmax weights over
 *   thousands of patches are mostly near 0, so a linear scale shows one bright dot);
 * - log: colour ∝ log(score) between the bag's smallest positive score and its max (attention
 *   spans orders of magnitude; unlike percentile it keeps how much larger one weight is).
 */
export const HEAT_SCALES = ['linear', 'percentile', 'log'] as const;
export type HeatScale = (typeof HEAT_SCALES)[number];

/** Bags up to this size are coloured linearly by default; larger ones by percentile. */
export const SMALL_BAG = 64;

/** The default scale for a bag of n instances. */
export function defaultHeatScale(n: number): HeatScale {
  return n <= SMALL_BAG ? 'linear' : 'percentile';
}

export interface ScaledScores {
  /** Per instance, the colour position in [0, 1]. */
  t: Float32Array;
  /** Labels of the colour bar's two ends. */
  low: string;
  high: string;
}

/** [min, max] of finite values without spreading (bags may hold 50,000 values). */
export function extent(values: ArrayLike<number>, positiveOnly = false): [number, number] {
  let lo = Infinity;
  let hi = -Infinity;
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (!Number.isFinite(v) || (positiveOnly && v <= 0)) continue;
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  return [lo, hi];
}

/** Percentile rank in [0, 1] of each score (ties share the lower rank). */
export function percentileRanks(scores: ArrayLike<number>): Float32Array {
  const n = scores.length;
  const order = Int32Array.from({ length: n }, (_, i) => i).sort((a, b) => scores[a] - scores[b] || a - b);
  const out = new Float32Array(n);
  const denom = Math.max(1, n - 1);
  let r = 0;
  for (let k = 0; k < n; k++) {
    if (k === 0 || scores[order[k]] !== scores[order[k - 1]]) r = k;
    out[order[k]] = r / denom;
  }
  return out;
}

const label = (x: number) =>
  Math.abs(x) >= 0.01 || x === 0 ? Number(x.toPrecision(3)).toString() : x.toExponential(1);

/** Colour positions of `scores` under `scale`, with the colour bar's end labels. */
export function scaleScores(scores: ArrayLike<number>, scale: HeatScale): ScaledScores {
  const n = scores.length;
  if (scale === 'percentile') return { t: percentileRanks(scores), low: '0%', high: '100%' };
  const t = new Float32Array(n);
  if (scale === 'log') {
    const [lo, hi] = extent(scores, true);
    if (!(hi > lo)) return { t: t.fill(1), low: label(lo), high: label(hi) };
    const [a, b] = [Math.log(lo), Math.log(hi)];
    for (let i = 0; i < n; i++) t[i] = scores[i] > 0 ? (Math.log(scores[i]) - a) / (b - a) : 0;
    return { t, low: label(lo), high: label(hi) };
  }
  // Linear over the bag's own range: class-aware probabilities never go below 1/C, so 0 would waste half the colours.
  const [lo, hi] = extent(scores);
  for (let i = 0; i < n; i++) t[i] = hi > lo ? (scores[i] - lo) / (hi - lo) : 1;
  return { t, low: label(lo), high: label(hi) };
}

/**
 * Colour positions of several score maps of one bag drawn side by side (two models' attention over
 * the same patches) under one scale, so the panels read alike: percentile ranks each map within
 * itself (a rank means the same in every panel); linear and log span the maps' pooled range, so one
 * colour is one score in every panel. The end labels belong to the shared colour bar.
 */
export function scaleScoreMaps(
  maps: ArrayLike<number>[],
  scale: HeatScale,
): { t: Float32Array[]; low: string; high: string } {
  if (scale === 'percentile') return { t: maps.map(percentileRanks), low: '0%', high: '100%' };
  const pooled = new Float64Array(maps.reduce((n, m) => n + m.length, 0));
  maps.reduce((at, m) => (pooled.set(m, at), at + m.length), 0);
  const { t, low, high } = scaleScores(pooled, scale);
  let at = 0;
  return { t: maps.map((m) => t.subarray(at, (at += m.length))), low, high };
}
