/** Input checks shared by the metrics (pure TypeScript: no tfjs, no Node). */

/** Throws a clear error for empty or mismatched inputs: metrics of nothing are a caller bug, not NaN. */
export function checkPaired(
  what: string,
  a: ArrayLike<unknown>,
  b: ArrayLike<unknown>,
  aName = 'labels',
  bName = 'scores',
): void {
  if (a.length !== b.length) throw new Error(`${what}: ${aName} has ${a.length} entries but ${bName} has ${b.length}`);
  if (a.length === 0) throw new Error(`${what}: empty input (no samples)`);
}

/** Checks that every label is an integer class index in [0, numClasses). */
export function checkLabels(what: string, labels: ArrayLike<number>, numClasses: number): void {
  for (let i = 0; i < labels.length; i++) {
    const y = labels[i];
    if (!Number.isInteger(y) || y < 0 || y >= numClasses)
      throw new Error(`${what}: label ${y} at position ${i} is not a class index in [0, ${numClasses})`);
  }
}

/** Mean and sample standard deviation (n − 1 in the denominator, as torch.std and pandas) of the finite values. */
export function meanSd(values: ArrayLike<number>): { mean: number; sd: number; n: number } {
  const v = Array.from(values).filter((x) => Number.isFinite(x));
  const n = v.length;
  if (n === 0) return { mean: NaN, sd: NaN, n };
  const mean = v.reduce((s, x) => s + x, 0) / n;
  const sd = n > 1 ? Math.sqrt(v.reduce((s, x) => s + (x - mean) ** 2, 0) / (n - 1)) : 0;
  return { mean, sd, n };
}

/** Quantile with linear interpolation between order statistics (numpy's default "linear" method). */
export function quantile(sorted: ArrayLike<number>, q: number): number {
  const n = sorted.length;
  if (n === 0) return NaN;
  const pos = (n - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.min(lo + 1, n - 1);
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo);
}
