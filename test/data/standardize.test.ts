import { strict as assert } from 'node:assert';
import { FeatureStatsBuilder, featureStats, standardize } from '../../src/core';
import { firstNonFinite } from '../../src/data/format';

describe('data/standardize: training-fold statistics', () => {
  it('hand-worked: two bags, two features', () => {
    // Feature 0 over the 4 training instances: 1, 3, 5, 7 → mean 4, population sd √5. Feature 1 is constant 2.
    const train = [{ features: new Float32Array([1, 2, 3, 2]) }, { features: new Float32Array([5, 2, 7, 2]) }];
    const s = featureStats(train, 2);
    assert.equal(s.count, 4);
    assert.deepEqual(Array.from(s.mean), [4, 2]);
    assert.ok(Math.abs(s.std[0] - Math.sqrt(5)) < 1e-6);
    assert.equal(s.std[1], 1, 'a constant feature gets sd 1, not 0');
    const test = standardize(new Float32Array([4 + Math.sqrt(5), 2, 4, 9]), s);
    assert.ok(Math.abs(test[0] - 1) < 1e-6);
    assert.deepEqual([test[1], test[2], test[3]], [0, 0, 7]);
  });

  it('streams bag by bag with the same result as a direct two-pass computation, even with a large offset', () => {
    const dim = 3;
    const bags = Array.from({ length: 7 }, (_, b) => ({
      features: Float32Array.from({ length: (b + 1) * dim }, (_, i) => 1e4 + Math.sin(b * 31 + i) * (1 + (i % dim))),
    }));
    const all = bags.flatMap((b) => Array.from(b.features));
    const n = all.length / dim;
    for (let j = 0; j < dim; j++) {
      const col = all.filter((_, i) => i % dim === j);
      const mean = col.reduce((a, v) => a + v, 0) / n;
      const sd = Math.sqrt(col.reduce((a, v) => a + (v - mean) ** 2, 0) / n);
      const b = new FeatureStatsBuilder(dim);
      for (const bag of bags) b.add(bag.features);
      const s = b.finish();
      assert.ok(Math.abs(s.mean[j] - mean) < 1e-3, `mean ${s.mean[j]} vs ${mean}`);
      assert.ok(Math.abs(s.std[j] - sd) / sd < 1e-5, `sd ${s.std[j]} vs ${sd}`);
      assert.equal(s.count, n);
    }
  });

  it('uses only the bags it is given (test bags do not move the statistics)', () => {
    const train = [{ features: new Float32Array([0, 10]) }];
    const outlier = { features: new Float32Array([1000, 1000]) };
    const s = featureStats(train, 1);
    assert.deepEqual(Array.from(s.mean), [5]);
    assert.deepEqual(Array.from(standardize(outlier.features, s)), [199, 199]);
    assert.throws(() => featureStats([], 3), /at least one instance/);
  });
});

describe('data/format: firstNonFinite', () => {
  it('finds the first NaN or ±Inf at any position, including the unrolled tail', () => {
    for (const n of [0, 1, 3, 4, 5, 17, 1000]) {
      const v = new Float32Array(n).fill(0.5);
      assert.equal(firstNonFinite(v), -1);
      for (const at of [0, n - 1, n >> 1]) {
        if (n === 0) continue;
        for (const bad of [NaN, Infinity, -Infinity]) {
          const w = v.slice();
          w[at] = bad;
          if (at + 1 < n) w[n - 1] = NaN;
          assert.equal(firstNonFinite(w), at, `n=${n} at=${at} ${bad}`);
        }
      }
    }
    assert.equal(firstNonFinite([1e38, -3.4e38, 0]), -1, 'large finite values are finite');
  });
});
