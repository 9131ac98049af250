/**
 * The opt-in bf16 inference products (native/src/bf16.c through `withPrecision('bf16')`): each
 * kernel against a double-precision product, and the rules of when it runs (weights only, never
 * under a gradient tape, never a stale copy of an updated weight).
 * Outputs of trained models on MUSK1 and colon: test/data-suite/train/bf16.test.ts.
 */
import { strict as assert } from 'node:assert';
import * as tf from '@tensorflow/tfjs';
import { bf16Available, blasStatus, nativeBlas, withPrecision } from '../../src/backend/blasKernels';
import { createModel } from '../../src/registry';
import '../../src/models';
import { forwardBag } from '../../src/train/predict';
import { Rng } from '../../src/random';
import { skipBecause } from '../helpers/skip';

/** x·W in double precision. */
function product(x: Float32Array, w: Float32Array, n: number, k: number, m: number) {
  const out = new Float64Array(n * m);
  for (let i = 0; i < n; i++)
    for (let j = 0; j < m; j++) {
      let s = 0;
      for (let q = 0; q < k; q++) s += x[i * k + q] * w[q * m + j];
      out[i * m + j] = s;
    }
  return out;
}

const maxAbsDiff = (a: ArrayLike<number>, b: ArrayLike<number>) =>
  Array.from(a).reduce((d, v, i) => Math.max(d, Math.abs(v - b[i])), 0);
const maxAbs = (a: ArrayLike<number>) => Array.from(a).reduce((d, v) => Math.max(d, Math.abs(v)), 0);

describe('bf16 inference products (AVX-512 BF16)', function () {
  this.timeout(120_000);
  const rng = new Rng(7);
  const random = (count: number) => Float32Array.from({ length: count }, () => rng.normal());

  before(function () {
    if (!blasStatus().active) return skipBecause(this, `the native path is off: ${blasStatus().reason}`);
    if (!nativeBlas()!.info().bf16) return skipBecause(this, 'this CPU has no AVX-512 BF16');
  });

  it('each kernel (AMX, vdpbf16ps) equals a double product within 1e-5 (edge tiles, odd K, bias)', () => {
    assert.ok(bf16Available());
    const addon = nativeBlas()!;
    const active = addon.info().bf16Kernel;
    try {
      for (const kernel of ['amx', 'avx512'] as const) {
        if (!addon.setBf16Kernel(kernel)) continue; // no AMX on this CPU (or no tile permission)
        const error = addon.bf16SelfTest();
        assert.ok(error >= 0 && error < 1e-5, `${kernel}: bf16 self-test error ${error} of max |C|`);
      }
    } finally {
      addon.setBf16Kernel(active === 'AMX' ? 'amx' : 'avx512');
    }
  });

  it('a weight product runs in bf16 inside withPrecision, float32 outside, with the bias and activation', () => {
    const [n, k, m] = [45, 203, 70];
    const x = random(n * k);
    const wValues = random(k * m);
    const w = tf.variable(tf.tensor2d(wValues, [k, m]), false, 'bf16-test/w');
    const b = tf.variable(tf.tensor1d(random(m)), false, 'bf16-test/b');
    try {
      const xs = tf.tensor2d(x, [n, k]);
      const run = () =>
        tf.tidy(() => tf.fused.matMul({ a: xs, b: w, bias: b, activation: 'relu' }).dataSync() as Float32Array);
      const f32 = run();
      const half = withPrecision('bf16', run);
      const bias = b.dataSync();
      const exact = Array.from(product(x, wValues, n, k, m), (v, i) => Math.max(0, v + bias[i % m]));
      const scale = maxAbs(exact);
      // Split bf16 (three bfloat16 products) is as close to the exact product as float32 is, within a few …
      assert.ok(maxAbsDiff(f32, exact) < 1e-5 * scale);
      assert.ok(maxAbsDiff(half, exact) < 2e-5 * scale, `bf16 vs exact: ${maxAbsDiff(half, exact) / scale} of max`);
      // … but not bit for bit float32's: the bf16 path really ran.
      assert.ok(maxAbsDiff(half, f32) > 0, 'bf16 equals float32 bit for bit: the bf16 path did not run');
      xs.dispose();
    } finally {
      tf.dispose([w, b]);
    }
  });

  it('still runs in bf16 after a training step that threw (tfjs leaves its tape set then)', () => {
    const [n, k, m] = [16, 40, 24];
    const x = tf.tensor2d(random(n * k), [n, k]);
    const w = tf.variable(tf.tensor2d(random(k * m), [k, m]), true, 'bf16-test/w3');
    try {
      assert.throws(() =>
        tf.variableGrads(() => {
          tf.matMul(x, w);
          throw new Error('a refused bag');
        }, [w]),
      );
      const plain = tf.matMul(x, w).dataSync();
      const half = withPrecision('bf16', () => tf.matMul(x, w).dataSync());
      assert.ok(maxAbsDiff(half, plain) > 0, 'bf16 equals float32 bit for bit after the failed step');
      assert.ok(maxAbsDiff(half, plain) < 1e-4 * maxAbs(plain));
    } finally {
      tf.dispose([x, w]);
    }
  });

  it('stays float32 for products of two activations, under a gradient tape, and after a weight update', () => {
    const [n, k, m] = [32, 64, 48];
    const x = tf.tensor2d(random(n * k), [n, k]);
    const y = tf.tensor2d(random(k * m), [k, m]);
    // Its own data: a clone of y would share y's dataId, and y would count as a weight.
    const w = tf.variable(tf.tensor2d(random(k * m), [k, m]), true, 'bf16-test/w2');
    try {
      const plain = tf.matMul(x, y).dataSync();
      // Not a weight: exact.
      assert.deepEqual(
        withPrecision('bf16', () => tf.matMul(x, y).dataSync()),
        plain,
      );
      // A weight under a tape (training): exact, and so is its gradient.
      const grads = withPrecision('bf16', () => tf.variableGrads(() => tf.sum(tf.matMul(x, w)) as tf.Scalar, [w]));
      const plainGrads = tf.variableGrads(() => tf.sum(tf.matMul(x, w)) as tf.Scalar, [w]);
      assert.equal(grads.value.dataSync()[0], plainGrads.value.dataSync()[0]);
      assert.deepEqual(grads.grads[w.name].dataSync(), plainGrads.grads[w.name].dataSync());
      tf.dispose([grads.value, plainGrads.value, ...Object.values(grads.grads), ...Object.values(plainGrads.grads)]);
      // The packed copy follows the variable: after assign, bf16 uses the new values.
      const before = withPrecision('bf16', () => tf.matMul(x, w).dataSync());
      const doubled = tf.mul(w, 2) as tf.Tensor2D;
      w.assign(doubled);
      doubled.dispose();
      const after = withPrecision('bf16', () => tf.matMul(x, w).dataSync());
      assert.ok(
        maxAbsDiff(
          Array.from(before, (v) => 2 * v),
          after,
        ) <
          1e-4 * maxAbs(after),
      );
    } finally {
      tf.dispose([x, y, w]);
    }
  });

  it('AB-MIL inference in bf16 gives the float32 probabilities within 1e-5, attention within 0.1 %', () => {
    const model = createModel('abmil', { inputDim: 1024, seed: 3 });
    try {
      const n = 3000;
      const bag = { id: 'b', features: random(n * 1024), numInstances: n, dim: 1024 };
      const run = () =>
        tf.tidy(() => {
          const out = forwardBag(model, bag, { training: false });
          return [tf.softmax(out.logits).dataSync(), out.attention!.dataSync()];
        });
      const [p32, a32] = run();
      const [p16, a16] = withPrecision('bf16', run);
      assert.ok(maxAbsDiff(p16, p32) < 1e-5, `probabilities differ by ${maxAbsDiff(p16, p32)}`);
      assert.ok(maxAbsDiff(a16, a32) < 1e-3 * maxAbs(a32), `attention differs by ${maxAbsDiff(a16, a32)}`);
    } finally {
      model.dispose();
    }
  });
});
