import { strict as assert } from 'node:assert';
import { Rng } from '../../src/random';
import { linearProbeAuc } from '../../src/ssl/probe';

describe('ssl/probe: linear probe of patch features', () => {
  /** n instances, 10 % witnesses; feature 0 carries `signal` × label, the other 4 are noise. */
  function features(n: number, signal: number, seed = 1): { x: Float32Array; y: Uint8Array } {
    const rng = new Rng(seed);
    const y = Uint8Array.from({ length: n }, () => (rng.next() < 0.1 ? 1 : 0));
    const x = Float32Array.from(
      { length: n * 5 },
      (_, k) => rng.normal() * 3 + (k % 5 === 0 ? signal * y[Math.floor(k / 5)] : 0) + 10,
    );
    return { x, y };
  }

  it('finds a separating direction among noise features, and reports chance on pure noise', () => {
    const strong = features(2000, 12);
    const aucs = linearProbeAuc(strong.x, 5, strong.y, { seed: 3 });
    assert.equal(aucs.length, 2);
    assert.ok(
      aucs.every((a) => a > 0.97),
      `separable: ${aucs}`,
    );
    const noise = features(2000, 0);
    assert.ok(
      linearProbeAuc(noise.x, 5, noise.y).every((a) => Math.abs(a - 0.5) < 0.1),
      'noise ≈ 0.5',
    );
    // Seeded: same halves, same numbers.
    assert.deepEqual(linearProbeAuc(strong.x, 5, strong.y, { seed: 3 }), aucs);
  });

  it('bad input: feature and label counts that disagree', () => {
    assert.throws(() => linearProbeAuc(new Float32Array(9), 5, new Uint8Array(2)), /9 feature values for 2 labels × 5/);
  });
});
