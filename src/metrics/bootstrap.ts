/**
 * Seeded bootstrap of any metric (pure TypeScript).
 *
 * Draws `resamples` multinomial resamples of the n samples (with replacement) and evaluates the
 * statistic on each. Reports the percentile interval (numpy-style linear quantiles) and, as MHIM v2
 * reports its test metrics, the mean ± sample sd over the resamples. Resamples on which the metric
 * is undefined (NaN, e.g. an AUC of a resample holding one class) are left out and counted.
 */
import { Rng } from '../random';
import { meanSd, quantile } from './util';

export interface BootstrapOptions {
  /** Number of resamples (default 1000). */
  resamples?: number;
  /** Seed of the resampling generator (default 0): same seed → same interval. */
  seed?: number;
  /** Coverage of the percentile interval (default 0.95). */
  level?: number;
}

export interface BootstrapResult {
  /** Mean and sample sd of the statistic over the resamples where it is defined. */
  mean: number;
  sd: number;
  /** Percentile confidence interval. */
  lower: number;
  upper: number;
  level: number;
  resamples: number;
  /** Resamples left out because the statistic was NaN on them. */
  undefinedResamples: number;
}

/** The multinomial resamples of 0..n−1 (seeded), one index array at a time. */
function* resampleIndices(n: number, resamples: number, seed: number): Generator<number[]> {
  if (!(n > 0)) throw new Error('bootstrap: empty input (no samples)');
  const rng = new Rng(seed);
  for (let r = 0; r < resamples; r++) yield Array.from({ length: n }, () => rng.int(n));
}

function summarise(values: number[], resamples: number, level: number): BootstrapResult {
  const defined = values.filter((v) => Number.isFinite(v)).sort((a, b) => a - b);
  const { mean, sd } = meanSd(defined);
  return {
    mean,
    sd,
    lower: quantile(defined, (1 - level) / 2),
    upper: quantile(defined, 1 - (1 - level) / 2),
    level,
    resamples,
    undefinedResamples: resamples - defined.length,
  };
}

/** Bootstraps `statistic(indices)` over n samples; `indices` is one resample of 0..n−1. */
export function bootstrap(
  n: number,
  statistic: (indices: number[]) => number,
  opts: BootstrapOptions = {},
): BootstrapResult {
  const resamples = opts.resamples ?? 1000;
  const values = Array.from(resampleIndices(n, resamples, opts.seed ?? 0), statistic);
  return summarise(values, resamples, opts.level ?? 0.95);
}

/** Bootstraps several metrics on the same resamples: `metrics(indices)` returns a record of numbers. */
export function bootstrapRecord(
  n: number,
  metrics: (indices: number[]) => object,
  opts: BootstrapOptions = {},
): Record<string, BootstrapResult> {
  const resamples = opts.resamples ?? 1000;
  const per: Record<string, number[]> = {};
  for (const ix of resampleIndices(n, resamples, opts.seed ?? 0)) {
    for (const [k, v] of Object.entries(metrics(ix))) if (typeof v === 'number') (per[k] ??= []).push(v);
  }
  return Object.fromEntries(Object.entries(per).map(([k, v]) => [k, summarise(v, resamples, opts.level ?? 0.95)]));
}
