/**
 * MHIM masking: which instances of a bag the student sees (pure TypeScript, browser-safe: the
 * JupyterLab preview runs this exact code).
 *
 * Strategies, combined in the order the authors' code applies them (random → low → high):
 * - RSM  random masking of a fraction `randomRatio` of the bag;
 * - LSM  masking of the `lowRatio` lowest-scored instances;
 * - HSM  masking of the `highRatio` highest-scored instances (hard-instance mining's "easy" ones);
 * - RHSM HSM with `highRandomRatio` r < 1: candidates = top ⌈N·βh/r⌉, mask a random ⌈k·r⌉ of them
 *   (if βh/r > 1 the code falls back to random masking of βh of the bag).
 * Counts use the same float64 arithmetic as the Python code (`ceil(N * (βh / r))`), so counts match
 * it exactly, including float artefacts such as ceil(100 · 0.07) = 8. As in the code, every stage
 * counts from the whole bag N, also after an earlier stage: the code hands the earlier picks to
 * `select_mask_fn` (`cls_attn_topk_idx_other`), which keeps its count at N, ranks the whole bag and
 * absorbs already-masked picks in the union (so with random masking 0.5 before RHSM, about half of
 * the RHSM picks are masked already).
 *
 * Unlike the code, a bag is never emptied: at most N − 1 instances are masked (the last-chosen
 * masked instances are released first), so bags of 1 instance are untouched and bags of 2 keep one.
 */
import type { RandomSource } from '../random';

export interface MaskConfig {
  /** βh: fraction masked among the highest scores (`--mask_ratio_h`; v2 grid 0.01/0.03/0.05). */
  highRatio: number;
  /** r: RHSM randomness (`--mask_ratio_hr`, default 1 = plain HSM; v1 C16 used 0.5). */
  highRandomRatio: number;
  /** βl: fraction masked among the lowest scores (`--mask_ratio_l`, v1 only, default 0). */
  lowRatio: number;
  /** Fraction masked uniformly at random (`--mask_ratio`, v1 only, default 0). */
  randomRatio: number;
}

export const DEFAULT_MASK: Readonly<MaskConfig> = { highRatio: 0.01, highRandomRatio: 1, lowRatio: 0, randomRatio: 0 };

export interface MaskResult {
  /** Instances the student sees, ascending (original bag order). */
  kept: Int32Array;
  /** Masked by HSM/RHSM, ascending. */
  maskedHigh: Int32Array;
  /** Masked by LSM, ascending. */
  maskedLow: Int32Array;
  /** Masked by RSM (random), ascending. */
  maskedRandom: Int32Array;
  /** Bag size N. */
  total: number;
}

/**
 * Indices of the `k` largest (or smallest) scores, ties broken by lower index first, returned in
 * ascending index order. O(N): find the k-th value by quickselect on a copy, then collect.
 */
export function topK(scores: ArrayLike<number>, k: number, largest = true): Int32Array {
  const n = scores.length;
  k = Math.max(0, Math.min(k, n));
  const out = new Int32Array(k);
  if (k === 0) return out;
  const sign = largest ? -1 : 1; // select the k smallest of sign·s
  const v = new Float64Array(n);
  for (let i = 0; i < n; i++) v[i] = sign * scores[i];
  const threshold = kthSmallest(Float64Array.from(v), k - 1);
  let below = 0;
  for (let i = 0; i < n; i++) if (v[i] < threshold) below++;
  let ties = k - below; // how many instances equal to the threshold are taken (lowest indices)
  let j = 0;
  for (let i = 0; i < n && j < k; i++) {
    if (v[i] < threshold) out[j++] = i;
    else if (v[i] === threshold && ties > 0) {
      out[j++] = i;
      ties--;
    }
  }
  return out;
}

/** A random `k` of `items` (partial Fisher–Yates on a copy), in random order. */
function randomSubset(items: ArrayLike<number>, k: number, rng: RandomSource): Int32Array {
  const a = Int32Array.from(items);
  k = Math.min(k, a.length);
  for (let i = 0; i < k; i++) {
    const j = i + rng.int(a.length - i);
    const t = a[i];
    a[i] = a[j];
    a[j] = t;
  }
  return a.subarray(0, k);
}

function iota(n: number): Int32Array {
  const a = new Int32Array(n);
  for (let i = 0; i < n; i++) a[i] = i;
  return a;
}

/** The value of rank `k` (0-based) in ascending order; reorders `a` (Hoare quickselect). */
function kthSmallest(a: Float64Array, k: number): number {
  let lo = 0;
  let hi = a.length - 1;
  while (lo < hi) {
    const pivot = a[(lo + hi) >>> 1];
    let i = lo;
    let j = hi;
    while (i <= j) {
      while (a[i] < pivot) i++;
      while (a[j] > pivot) j--;
      if (i <= j) {
        const t = a[i];
        a[i] = a[j];
        a[j] = t;
        i++;
        j--;
      }
    }
    if (k <= j) hi = j;
    else if (k >= i) lo = i;
    else return a[k];
  }
  return a[k];
}

/**
 * One `select_mask_fn` call of the authors' code: candidates = the top-⌈N·ratio/r⌉ scores of the
 * whole bag, then a random ⌈k·r⌉ of them. Returns the chosen indices (some may be masked already).
 */
function selectByScore(
  scores: ArrayLike<number>,
  ratio: number,
  randomRatio: number,
  largest: boolean,
  rng: RandomSource,
): Int32Array {
  let candidateRatio = ratio / randomRatio;
  if (candidateRatio > 1) {
    // The code's fallback: all instances are candidates and a `ratio` fraction of them is masked.
    randomRatio = ratio;
    candidateRatio = 1;
  }
  const candidates = topK(scores, Math.ceil(scores.length * candidateRatio), largest);
  if (randomRatio >= 1) return candidates;
  return randomSubset(candidates, Math.ceil(candidates.length * randomRatio), rng);
}

/**
 * Masks a bag given per-instance scores (higher = more salient / easier). Deterministic for a given
 * `rng` state. `highRatio` may be the decayed βh of the current iteration (see `cosineSchedule`).
 */
export function selectMask(scores: ArrayLike<number>, cfg: Partial<MaskConfig>, rng: RandomSource): MaskResult {
  const c = { ...DEFAULT_MASK, ...cfg };
  for (const [k, v] of Object.entries(c)) {
    if (!(v >= 0 && v <= 1)) throw new Error(`mask config: ${k} must be in [0, 1], got ${v}`);
  }
  if (!(c.highRandomRatio > 0)) throw new Error('mask config: highRandomRatio must be > 0');
  const n = scores.length;
  for (let i = 0; i < n; i++) if (Number.isNaN(scores[i])) throw new Error(`mask scores: instance ${i} is NaN`);

  // 0 = kept; otherwise the strategy that masked it first (1 random, 2 low, 3 high).
  const owner = new Uint8Array(n);
  const order: number[] = []; // masking order, to release the last-chosen if the bag would empty
  let maskedCount = 0;
  const mark = (idx: ArrayLike<number>, tag: number) => {
    for (let j = 0; j < idx.length; j++) {
      const i = idx[j];
      if (owner[i] === 0) {
        owner[i] = tag;
        order.push(i);
        maskedCount++;
      }
    }
  };
  // RSM: the code calls select_mask_fn(largest=False, random_ratio=0.001), which always takes the
  // fallback branch: a random ⌈N·ratio⌉ of the whole bag.
  if (c.randomRatio > 0) mark(randomSubset(iota(n), Math.ceil(n * c.randomRatio), rng), 1);
  if (c.lowRatio > 0) mark(selectByScore(scores, c.lowRatio, 1, false, rng), 2);
  if (c.highRatio > 0) mark(selectByScore(scores, c.highRatio, c.highRandomRatio, true, rng), 3);

  // Never empty the bag.
  while (n > 0 && maskedCount >= n) {
    owner[order.pop()!] = 0;
    maskedCount--;
  }
  return collect(owner, n);
}

function collect(owner: Uint8Array, n: number): MaskResult {
  const counts = [0, 0, 0, 0];
  for (let i = 0; i < n; i++) counts[owner[i]]++;
  const lists = counts.map((k) => new Int32Array(k));
  const fill = [0, 0, 0, 0];
  for (let i = 0; i < n; i++) lists[owner[i]][fill[owner[i]]++] = i;
  return { kept: lists[0], maskedRandom: lists[1], maskedLow: lists[2], maskedHigh: lists[3], total: n };
}

/**
 * The DINO-style `cosine_scheduler(base, final, epochs, iters_per_epoch)` the code uses, at global
 * iteration `t` of `total`: final + ½(base − final)(1 + cos(π t / total)). Used for the decay of βh
 * (final 0, `--mrh_sche`) and the teacher momentum (final 1, `--mm_sche`). Clamped to `final` past the end.
 */
export function cosineSchedule(base: number, final: number, t: number, total: number): number {
  if (!(total > 0)) throw new Error(`cosineSchedule: total iterations must be > 0, got ${total}`);
  const p = Math.min(Math.max(t, 0), total) / total;
  return final + 0.5 * (base - final) * (1 + Math.cos(Math.PI * p));
}

export interface RecycleSplit {
  /** Kept instances the student encodes directly; in the code's (shuffled) order unless `keepOrder`. */
  student: Int32Array;
  /** Kept instances dropped from the student and summarised by the Global Recycle Network. */
  recycled: Int32Array;
}

/**
 * The GRN's random split of the kept instances (`merge.py`, training, mask_type 'random'):
 * a random ⌊L·keepFraction⌋ go to the student, the rest are recycled. At least one instance always
 * goes to the student. The code feeds the student in the shuffled order; `keepOrder` sorts it back
 * (matters only for order-dependent models such as TransMIL's PPEG).
 */
export function splitForRecycle(
  kept: Int32Array,
  keepFraction: number,
  rng: RandomSource,
  keepOrder = false,
): RecycleSplit {
  if (!(keepFraction > 0 && keepFraction <= 1))
    throw new Error(`GRN keepFraction must be in (0, 1], got ${keepFraction}`);
  const l = kept.length;
  const nKeep = Math.min(l, Math.max(1, Math.floor(l * keepFraction)));
  const shuffled = randomSubset(kept, l, rng); // a full random permutation
  const student = shuffled.slice(0, nKeep);
  const recycled = shuffled.slice(nKeep).sort();
  if (keepOrder) student.sort();
  return { student, recycled };
}
