/**
 * Per-feature standardisation with TRAINING statistics only (pure).
 *
 * Statistics from the whole cohort would leak the test bags' distribution into training (MUSK1's
 * protocol says so explicitly), so cohorts store raw features and each fold computes its own:
 * `const s = featureStats(trainBags)`, then `standardize(bag.features, s)` for train and test bags.
 */
export interface FeatureStats {
  dim: number;
  mean: Float32Array;
  /** Standard deviation; features that are constant in training get 1 (so they map to 0, not NaN). */
  std: Float32Array;
  /** Instances the statistics were computed from. */
  count: number;
}

/** Mean and standard deviation per feature over all instances of the given bags (two-pass, float64). */
export function featureStats(bags: Iterable<{ features: Float32Array }>, dim: number): FeatureStats {
  const list = [...bags];
  const sum = new Float64Array(dim);
  let count = 0;
  for (const { features } of list) {
    for (let i = 0; i < features.length; i++) sum[i % dim] += features[i];
    count += features.length / dim;
  }
  if (count === 0) throw new RangeError('featureStats needs at least one instance');
  const mean = sum.map((s) => s / count);
  const sq = new Float64Array(dim);
  for (const { features } of list) {
    for (let i = 0; i < features.length; i++) {
      const d = features[i] - mean[i % dim];
      sq[i % dim] += d * d;
    }
  }
  const std = Float32Array.from(sq, (s) => {
    const sd = Math.sqrt(s / count);
    return sd > 1e-12 ? sd : 1;
  });
  return { dim, mean: Float32Array.from(mean), std, count };
}

/** `(x - mean) / std` per feature, into a new array (the input may be a read-only file view). */
export function standardize(features: Float32Array, stats: FeatureStats): Float32Array {
  const { dim, mean, std } = stats;
  const out = new Float32Array(features.length);
  for (let i = 0; i < features.length; i++) {
    const j = i % dim;
    out[i] = (features[i] - mean[j]) / std[j];
  }
  return out;
}
