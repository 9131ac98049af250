/**
 * Numerical checks of the gradients of the shared layers (central differences in float32 on the
 * cpu backend, plus agreement with a reference implementation where one exists).
 */
import { strict as assert } from 'node:assert';
import * as tf from '@tensorflow/tfjs';
import { Rng } from '../../src/random';
import { NystromAttention, moorePenrosePinv } from '../../src/models/layers/nystrom';
import { PPEG } from '../../src/models/layers/ppeg';
import { MultiHeadCrossAttention } from '../../src/models/layers/crossAttention';
import { gelu } from '../../src/models/layers/activations';
import { Dense, projectBag } from '../../src/models/layers/dense';
import { ParamStore, normalTensor } from '../../src/models/layers/params';
import { expectGradMatches, expectZeroGrad, maxAbsDiff, onCpu, SHIFT_INVARIANT, someCoords } from './helpers/gradcheck';
import { AttentionScorer, softmaxOverInstances } from '../../src/models/layers/attention';

const rng = new Rng(7);
const rand = (shape: number[]) => normalTensor(rng, shape, 1);

describe('models/layers gradients (cpu, float32 central differences)', () => {
  it(
    'Moore–Penrose iteration: converges to the inverse of a ' +
      'well-conditioned softmax matrix and has correct gradients',
    () =>
      onCpu(() => {
        const a = tf.softmax(tf.add(tf.mul(tf.eye(5), 3), tf.mul(rand([2, 5, 5]), 0.3))) as tf.Tensor3D;
        const z = moorePenrosePinv(a, 12);
        const prod = tf.matMul(a, z);
        assert.ok(maxAbsDiff(prod.dataSync(), tf.stack([tf.eye(5), tf.eye(5)]).dataSync()) < 1e-3, 'A·pinv(A) ≈ I');
        const v = tf.variable(rand([2, 5, 5]));
        const w = rand([2, 5, 5]);
        expectGradMatches(
          () => tf.sum(tf.mul(moorePenrosePinv(tf.softmax(v) as tf.Tensor3D, 6), w)) as tf.Scalar,
          v,
          someCoords(50, 8),
        );
        tf.dispose([a, z, prod, v, w]);
      }),
  );

  it('Nyström attention: gradients of every parameter match finite differences (padding and landmarks active)', () =>
    onCpu(() => {
      const store = new ParamStore(3);
      const layer = new NystromAttention(store.scope('nys'), {
        dim: 8,
        heads: 2,
        headDim: 4,
        landmarks: 4,
        residualKernel: 5,
        dropout: 0,
      });
      const x = rand([10, 8]) as tf.Tensor2D; // 10 rows → left-padded to 12, 3 rows per landmark
      const w = rand([10, 8]);
      const f = () => tf.tidy(() => tf.sum(tf.mul(layer.apply(x, false, 0).out, w)) as tf.Scalar);
      for (const v of store.all()) expectGradMatches(f, v, someCoords(v.size, 5));
      // Outside a gradient tape the layer also returns the cls row's attention over the 9 others.
      const r = layer.apply(x, false, 0);
      assert.deepEqual(r.clsAttention!.shape, [2, 9]);
      assert.ok(r.clsAttention!.dataSync().every(Number.isFinite));
      tf.dispose([r.out, r.clsAttention!, r.values]);
      store.dispose();
      tf.dispose([x, w]);
    }));

  it('PPEG and cross-attention: gradients match finite differences', () =>
    onCpu(() => {
      const store = new ParamStore(4);
      const ppeg = new PPEG(store.scope('ppeg'), 3);
      const mca = new MultiHeadCrossAttention(store.scope('mca'), { dim: 6, heads: 2, headDim: 3, dropout: 0 });
      const x = rand([11, 3]) as tf.Tensor2D; // 11 tokens → 4×4 grid, then 7×7
      const q = rand([2, 6]) as tf.Tensor2D;
      const t = rand([5, 6]) as tf.Tensor2D;
      const w1 = rand([11, 3]);
      const w2 = rand([2, 6]);
      const f = () =>
        tf.tidy(
          () => tf.add(tf.sum(tf.mul(ppeg.apply(x), w1)), tf.sum(tf.mul(mca.apply(q, t, false), w2))) as tf.Scalar,
        );
      for (const v of store.all()) expectGradMatches(f, v, someCoords(v.size, 4));
      store.dispose();
      tf.dispose([x, q, t, w1, w2]);
    }));

  it('PPEG: the summed-kernel convolution equals x + dwconv7 + dwconv5 + dwconv3 of the reference', () =>
    onCpu(() => {
      const store = new ParamStore(5);
      const ppeg = new PPEG(store.scope('ppeg'), 4);
      const x = rand([20, 4]) as tf.Tensor2D; // 5×5 grid (5 repeated tokens), zero-padded to 7×7
      const [f7, b7, f5, b5, f3, b3] = store.all();
      const grid = tf.concat([x, tf.slice(x, [0, 0], [5, 4]), tf.zeros([24, 4])]).reshape([1, 7, 7, 4]) as tf.Tensor4D;
      const conv = (f: tf.Tensor, b: tf.Tensor) => tf.add(tf.depthwiseConv2d(grid, f as tf.Tensor4D, 1, 'same'), b);
      const ref = tf.slice(tf.addN([grid, conv(f7, b7), conv(f5, b5), conv(f3, b3)]).reshape([49, 4]), [0, 0], [20, 4]);
      assert.ok(maxAbsDiff(ppeg.apply(x).dataSync(), ref.dataSync()) < 1e-5);
      store.dispose();
    }));

  it(
    'projectBag (custom op, no input gradient): same values and ' +
      'W/b gradients as the generic dense path, and finite differences',
    () =>
      onCpu(() => {
        for (const act of ['gelu', 'relu', 'linear', 'tanh', 'sigmoid'] as const) {
          const store = new ParamStore(11);
          const layer = new Dense(store.scope('p'), 6, 4, act);
          const x = rand([9, 6]) as tf.Tensor2D;
          const w = rand([9, 4]);
          const fast = () => tf.sum(tf.mul(projectBag(x, layer), w)) as tf.Scalar;
          const generic = () => tf.sum(tf.mul(layer.apply(x), w)) as tf.Scalar;
          const a = tf.variableGrads(fast, store.all());
          const b = tf.variableGrads(generic, store.all());
          assert.ok(Math.abs(a.value.dataSync()[0] - b.value.dataSync()[0]) < 1e-5, `${act}: values differ`);
          for (const v of store.all())
            assert.ok(
              maxAbsDiff(a.grads[v.name].dataSync(), b.grads[v.name].dataSync()) < 1e-5,
              `${act}: gradients differ`,
            );
          for (const v of store.all()) expectGradMatches(fast, v, someCoords(v.size, 5));
          tf.dispose([a.value, b.value, ...Object.values(a.grads), ...Object.values(b.grads), x, w]);
          store.dispose();
        }
      }),
  );

  it('attention scorers (tanh, gated) pooled by a softmax over instances: gradients match finite differences', () =>
    onCpu(() => {
      for (const kind of ['tanh', 'gated'] as const) {
        const store = new ParamStore(12);
        const scorer = new AttentionScorer(store.scope('attention'), { kind, inDim: 6, hiddenDim: 5 });
        const h = rand([9, 6]) as tf.Tensor2D;
        const y = rand([6, 1]);
        // An attention-weighted sum of the instances, read out: the path of every attention MIL model.
        const f = () => tf.sum(tf.matMul(tf.matMul(softmaxOverInstances(scorer.scores(h, false)), h), y)) as tf.Scalar;
        const scales: number[] = [];
        for (const [name, v] of store.named()) {
          if (name === 'attention/w/bias') continue;
          scales.push(expectGradMatches(f, v, someCoords(v.size, 6), 1e-2, 2e-2, 2e-3, `${kind} ${name}`).scale);
        }
        const bias = store.named().get('attention/w/bias');
        if (bias) expectZeroGrad(f, bias, [0], SHIFT_INVARIANT, Math.max(...scales), `${kind} attention/w/bias`);
        tf.dispose([h, y]);
        store.dispose();
      }
    }));

  it('GELU is the exact erf form', () => {
    const x = tf.tensor1d([-3, -1, 0, 0.5, 2]);
    const erf = (v: number) => {
      // Abramowitz–Stegun 7.1.26 (|error| < 1.5e-7)
      const t = 1 / (1 + 0.3275911 * Math.abs(v));
      const y =
        1 -
        ((((1.061405429 * t - 1.453152027) * t + 1.421413741) * t - 0.284496736) * t + 0.254829592) *
          t *
          Math.exp(-v * v);
      return v >= 0 ? y : -y;
    };
    const ref = [-3, -1, 0, 0.5, 2].map((v) => 0.5 * v * (1 + erf(v / Math.SQRT2)));
    assert.ok(maxAbsDiff(gelu(x).dataSync(), ref) < 1e-5);
    x.dispose();
  });
});
