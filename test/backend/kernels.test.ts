/**
 * The gradients and kernels milkit registers on tfjs (fastGradients.ts, wasmKernels.ts): each fast
 * gradient equals tfjs's own and central differences (float32, cpu backend), and the copy-free wasm
 * slicing kernels give the cpu backend's results.
 */
import { strict as assert } from 'node:assert';
import * as tf from '@tensorflow/tfjs';
import { Rng } from '../../src/random';
import { matMulFast, originalGradient } from '../../src/backend/fastGradients';
import { installWasmKernels } from '../../src/backend/wasmKernels';
import { normalTensor } from '../../src/models/layers/params';
import { expectGradMatches, maxAbsDiff, onCpu, someCoords } from '../models/helpers/gradcheck';
import { skipBecause } from '../helpers/skip';

const rng = new Rng(7);
const rand = (shape: number[]) => normalTensor(rng, shape, 1);

/** dy·(fast gradient) vs dy·(tfjs's original gradient) for one kernel call. */
function compareWithOriginal(
  kernel: string,
  run: (xs: tf.Tensor[]) => tf.Tensor,
  inputs: tf.Tensor[],
  names: string[],
  attrs: tf.NamedAttrMap,
): number {
  const dy = tf.tidy(() => tf.onesLike(run(inputs)).mul(rand(run(inputs).shape)));
  const fast = tf.getGradient(kernel)!;
  const orig = originalGradient(kernel)!;
  const out = run(inputs);
  const saved = [...(fast.inputsToSave ?? []).map((n) => inputs[names.indexOf(n)])];
  const a = fast.gradFunc(dy, saved, attrs);
  const b = orig.gradFunc(dy, [...(orig.inputsToSave ?? []).map((n) => inputs[names.indexOf(n)])], attrs);
  let worst = 0;
  for (const n of names) worst = Math.max(worst, maxAbsDiff(a[n]().dataSync(), b[n]().dataSync()));
  tf.dispose([dy, out]);
  return worst;
}

describe('backend gradients (cpu, float32 central differences)', () => {
  it('BatchMatMul: the fast gradient equals tfjs’s and finite differences, all transpose cases, 2-D and batched', () =>
    onCpu(() => {
      for (const [ta, tb] of [
        [false, false],
        [false, true],
        [true, false],
        [true, true],
      ] as const) {
        for (const batch of [0, 3]) {
          const pre = batch ? [batch] : [];
          const a = tf.variable(rand([...pre, ...(ta ? [4, 3] : [3, 4])]));
          const b = tf.variable(rand([...pre, ...(tb ? [5, 4] : [4, 5])]));
          const w = rand([...pre, 3, 5]);
          const f = () => tf.sum(tf.mul(tf.matMul(a, b, ta, tb), w)) as tf.Scalar;
          expectGradMatches(f, a, someCoords(a.size));
          expectGradMatches(f, b, someCoords(b.size));
          const diff = compareWithOriginal(tf.BatchMatMul, ([x, y]) => tf.matMul(x, y, ta, tb), [a, b], ['a', 'b'], {
            transposeA: ta,
            transposeB: tb,
          });
          assert.ok(
            diff < 1e-5,
            `transposeA=${ta} transposeB=${tb} batch=${batch}: fast vs tfjs gradient differ by ${diff}`,
          );
          tf.dispose([a, b, w]);
        }
      }
    }));

  it('matMulFast equals matMul with transposes, also batched', () =>
    onCpu(() => {
      const a = rand([2, 4, 3]);
      const b = rand([2, 5, 3]);
      assert.ok(maxAbsDiff(matMulFast(a, b, false, true).dataSync(), tf.matMul(a, b, false, true).dataSync()) < 1e-5);
      tf.dispose([a, b]);
    }));

  it(
    'DepthwiseConv2dNative: the conv-only gradient equals ' +
      'tfjs’s and finite differences (same 7×7, 33×1, valid 3×3)',
    () =>
      onCpu(() => {
        const cases: [number[], number[], 'same' | 'valid'][] = [
          [[1, 6, 5, 3], [7, 7, 3, 1], 'same'],
          [[1, 40, 2, 2], [33, 1, 2, 1], 'same'],
          [[1, 6, 6, 2], [3, 3, 2, 1], 'valid'],
        ];
        for (const [xs, fs, pad] of cases) {
          const x = tf.variable(rand(xs));
          const filter = tf.variable(rand(fs));
          const run = ([a, b]: tf.Tensor[]) => tf.depthwiseConv2d(a as tf.Tensor4D, b as tf.Tensor4D, 1, pad);
          const w = rand(run([x, filter]).shape);
          const f = () => tf.sum(tf.mul(run([x, filter]), w)) as tf.Scalar;
          expectGradMatches(f, x, someCoords(x.size));
          expectGradMatches(f, filter, someCoords(filter.size));
          const diff = compareWithOriginal(tf.DepthwiseConv2dNative, run, [x, filter], ['x', 'filter'], {
            strides: 1,
            pad,
            dilations: 1,
            dataFormat: 'NHWC',
          } as unknown as tf.NamedAttrMap);
          assert.ok(diff < 1e-4, `${fs} ${pad}: fast vs tfjs gradient differ by ${diff}`);
          tf.dispose([x, filter, w]);
        }
      }),
  );

  it('TopK values: the registered gradient matches finite differences (1-D and 2-D)', () =>
    onCpu(() => {
      for (const shape of [[9], [3, 7]]) {
        const x = tf.variable(rand(shape));
        const w = rand([...shape.slice(0, -1), 3]);
        expectGradMatches(() => tf.sum(tf.mul(tf.topk(x, 3).values, w)) as tf.Scalar, x, someCoords(x.size, 9));
        tf.dispose([x, w]);
      }
    }));
});

describe('models/layers wasm kernels', () => {
  it('copy-free Slice / Unpack / SplitV give the cpu backend’s results', async function () {
    // wasm is the default backend; skipped only where it is absent
    if (!tf.findBackend('wasm') && tf.getBackend() !== 'wasm') return skipBecause(this, 'the wasm backend is absent');
    const previous = tf.getBackend();
    const shapes = [[7], [5, 6], [3, 4, 5], [2, 3, 4, 5]];
    const cases = shapes.flatMap((s) => [
      { s, begin: s.map(() => 0), size: s.map((d) => d) },
      { s, begin: s.map((d) => (d > 2 ? 1 : 0)), size: s.map((d) => (d > 2 ? d - 2 : d)) },
      { s, begin: s.map((_, i) => (i === 0 ? 1 : 0)), size: s.map((d, i) => (i === 0 ? 1 : d)) },
    ]);
    const compute = () =>
      cases.map(({ s, begin, size }) =>
        tf.tidy(() => {
          const x = tf.tensor(
            Array.from({ length: s.reduce((a, b) => a * b, 1) }, (_, i) => i * 0.5 - 3),
            s,
          );
          const parts = [tf.slice(x, begin, size), ...tf.unstack(x, s.length - 1), ...tf.split(x, [1, s[0] - 1], 0)];
          return parts.map((p) => Array.from(p.dataSync()));
        }),
      );
    await tf.setBackend('cpu');
    const expected = compute();
    await tf.setBackend('wasm');
    assert.ok(installWasmKernels(), 'wasm kernels installed');
    const got = compute();
    await tf.setBackend(previous);
    assert.deepEqual(got, expected);
  });
});
