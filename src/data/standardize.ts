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

/**
 * Accumulates per-feature mean and variance one bag at a time, so statistics of a training fold
 * larger than memory need one streaming pass: each bag's own mean and squared deviations
 * (two passes over that bag, float64) are merged with Chan et al.'s parallel formula, which
 * stays accurate where a running sum of squares would cancel.
 */
export class FeatureStatsBuilder {
  private readonly mean: Float64Array;
  private readonly m2: Float64Array;
  private count = 0;
  private readonly bagMean: Float64Array;
  private readonly bagM2: Float64Array;

  constructor(readonly dim: number) {
    this.mean = new Float64Array(dim);
    this.m2 = new Float64Array(dim);
    this.bagMean = new Float64Array(dim);
    this.bagM2 = new Float64Array(dim);
  }

  /** Adds one bag's instances (`n × dim`, row-major). */
  add(features: Float32Array): this {
    const { dim, bagMean, bagM2 } = this;
    const n = features.length / dim;
    if (n === 0) return this;
    bagMean.fill(0);
    bagM2.fill(0);
    for (let i = 0; i < features.length; i++) bagMean[i % dim] += features[i];
    for (let j = 0; j < dim; j++) bagMean[j] /= n;
    for (let i = 0; i < features.length; i++) {
      const d = features[i] - bagMean[i % dim];
      bagM2[i % dim] += d * d;
    }
    const total = this.count + n;
    for (let j = 0; j < dim; j++) {
      const delta = bagMean[j] - this.mean[j];
      this.mean[j] += (delta * n) / total;
      this.m2[j] += bagM2[j] + (delta * delta * this.count * n) / total;
    }
    this.count = total;
    return this;
  }

  finish(): FeatureStats {
    if (this.count === 0) throw new RangeError('featureStats needs at least one instance');
    const std = Float32Array.from(this.m2, (m) => {
      const sd = Math.sqrt(m / this.count);
      return sd > 1e-12 ? sd : 1;
    });
    return { dim: this.dim, mean: Float32Array.from(this.mean), std, count: this.count };
  }
}

/** Mean and (population) standard deviation per feature over all instances of the given bags. */
export function featureStats(bags: Iterable<{ features: Float32Array }>, dim: number): FeatureStats {
  const b = new FeatureStatsBuilder(dim);
  for (const { features } of bags) b.add(features);
  return b.finish();
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
