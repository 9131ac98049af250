import { strict as assert } from 'node:assert';
import { Rng } from '../../src/random';
import { type AugmentConfig, DEFAULT_AUGMENT, NO_AUGMENT, augmentBatch } from '../../src/ssl/augment';

/** Four 8 × 8 patches with distinct H&E-like colours and a gradient, so every transform changes something. */
function patches(p = 8, n = 4): Uint8Array {
  const out = new Uint8Array(n * p * p * 3);
  for (let i = 0; i < n; i++) {
    for (let y = 0; y < p; y++) {
      for (let x = 0; x < p; x++) out.set([150 + 10 * i, 60 + 12 * x, 140 + 9 * y], ((i * p + y) * p + x) * 3);
    }
  }
  return out;
}

const only = (over: Partial<AugmentConfig>): AugmentConfig => ({ ...NO_AUGMENT, ...over });

describe('ssl/augment: seeded H&E augmentations', () => {
  const px = patches();

  it('is deterministic under a seed and differs across seeds', () => {
    const a = augmentBatch(px, 8, [0, 1, 2, 3], 8, new Rng(7), DEFAULT_AUGMENT);
    const b = augmentBatch(px, 8, [0, 1, 2, 3], 8, new Rng(7), DEFAULT_AUGMENT);
    const c = augmentBatch(px, 8, [0, 1, 2, 3], 8, new Rng(8), DEFAULT_AUGMENT);
    assert.deepEqual(a, b);
    assert.notDeepEqual(a, c);
    assert.ok(a.every((v) => v >= 0 && v <= 1));
  });

  it('without augmentation is the patch in [0, 1]; two views of one patch differ with it', () => {
    const plain = augmentBatch(px, 8, [2], 8, new Rng(1), NO_AUGMENT);
    assert.ok(plain.every((v, i) => Math.abs(v - px[2 * 192 + i] / 255) < 1e-6));
    const rng = new Rng(3);
    const v1 = augmentBatch(px, 8, [2], 8, rng, DEFAULT_AUGMENT);
    const v2 = augmentBatch(px, 8, [2], 8, rng, DEFAULT_AUGMENT);
    assert.notDeepEqual(v1, v2);
  });

  it('flips and 90° rotations permute pixels (same multiset of values)', () => {
    const plain = [...augmentBatch(px, 8, [1], 8, new Rng(1), NO_AUGMENT)].sort();
    for (let seed = 0; seed < 6; seed++) {
      const moved = augmentBatch(px, 8, [1], 8, new Rng(seed), only({ flip: 0.5, rotate90: true }));
      assert.deepEqual([...moved].sort(), plain);
    }
  });

  it('resized crop resamples to the network size; HED jitter with σ → 0 is the identity', () => {
    const up = augmentBatch(px, 8, [0, 1], 16, new Rng(2), only({ cropScale: [0.5, 0.5] }));
    assert.equal(up.length, 2 * 16 * 16 * 3);
    const plain = augmentBatch(px, 8, [3], 8, new Rng(1), NO_AUGMENT);
    const hed = augmentBatch(px, 8, [3], 8, new Rng(1), only({ hedSigma: 1e-9 }));
    assert.ok(
      hed.every((v, i) => Math.abs(v - plain[i]) < 1e-4),
      'RGB → HED → RGB round trip',
    );
    const jittered = augmentBatch(px, 8, [3], 8, new Rng(1), only({ hedSigma: 0.2 }));
    assert.ok(jittered.some((v, i) => Math.abs(v - plain[i]) > 0.01));
  });

  it('Gaussian blur keeps the mean of a patch and reduces its variation', () => {
    const plain = augmentBatch(px, 8, [0], 8, new Rng(1), NO_AUGMENT);
    const blurred = augmentBatch(px, 8, [0], 8, new Rng(1), only({ blur: 1, blurSigma: [1, 1] }));
    const mean = (a: Float32Array) => a.reduce((s, v) => s + v, 0) / a.length;
    const tv = (a: Float32Array) => a.reduce((s, v, i) => (i >= 3 ? s + Math.abs(v - a[i - 3]) : s), 0);
    assert.ok(Math.abs(mean(plain) - mean(blurred)) < 0.01);
    assert.ok(tv(blurred) < tv(plain));
  });
});
