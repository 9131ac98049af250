/**
 * LayerNorm's own gradient (src/models/layers/layerNorm.ts) against tfjs's gradient of the same
 * forward written with generic ops, and against central differences; its forward value is the
 * same with and without a tape.
 */
import { strict as assert } from 'node:assert';
import * as tf from '@tensorflow/tfjs';
import { LayerNorm } from '../../src/models/layers/layerNorm';
import { ParamStore } from '../../src/models/layers/params';
import { Rng } from '../../src/random';
import { expectGradMatches, maxAbsDiff, onCpu, someCoords } from './helpers/gradcheck';

function rand(shape: number[], seed: number, mean = 0, sd = 1): tf.Tensor {
  const rng = new Rng(seed);
  return tf.tensor(
    Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => rng.normal(mean, sd)),
    shape,
  );
}

/** The previous LayerNorm: generic ops, tfjs's gradients. */
function plainLayerNorm(x: tf.Tensor, gamma: tf.Tensor, beta: tf.Tensor, eps = 1e-5): tf.Tensor {
  const { mean, variance } = tf.moments(x, -1, true);
  return tf.add(tf.mul(tf.mul(tf.sub(x, mean), tf.rsqrt(tf.add(variance, eps))), gamma), beta);
}

function makeNorm(dim: number): { norm: LayerNorm; store: ParamStore } {
  const store = new ParamStore(1);
  const norm = new LayerNorm(store.scope('ln'), dim);
  // Non-trivial γ, β so their gradients and the γ factor in dx are exercised.
  tf.tidy(() => {
    norm.gamma.assign(rand([dim], 11, 1, 0.5));
    norm.beta.assign(rand([dim], 12, 0, 0.5));
  });
  return { norm, store };
}

function compareToPlain(): void {
  const { norm, store } = makeNorm(7);
  const x = rand([5, 7], 1, 0.3, 2);
  const dy = rand([5, 7], 2);
  const vars = [norm.gamma, norm.beta];
  const f = (fn: () => tf.Tensor) => tf.variableGrads(() => tf.sum(tf.mul(fn(), dy)) as tf.Scalar, vars);
  const a = f(() => norm.apply(x));
  const b = f(() => plainLayerNorm(x, norm.gamma, norm.beta));
  for (const v of vars)
    assert.ok(maxAbsDiff(a.grads[v.name].dataSync(), b.grads[v.name].dataSync()) < 1e-5, `d${v.name}`);
  const dxA = tf.grad((xi: tf.Tensor) => tf.sum(tf.mul(norm.apply(xi), dy)))(x);
  const dxB = tf.grad((xi: tf.Tensor) => tf.sum(tf.mul(plainLayerNorm(xi, norm.gamma, norm.beta), dy)))(x);
  assert.ok(maxAbsDiff(dxA.dataSync(), dxB.dataSync()) < 1e-5, 'dx');
  const untaped = norm.apply(x);
  assert.equal(
    maxAbsDiff(untaped.dataSync(), plainLayerNorm(x, norm.gamma, norm.beta).dataSync()),
    0,
    'forward identical',
  );
  tf.dispose([x, dy, dxA, dxB, untaped, a.value, b.value, ...Object.values(a.grads), ...Object.values(b.grads)]);
  store.dispose();
}

describe('models/layers: LayerNorm gradient', () => {
  it('equals tfjs gradients of the generic-op LayerNorm (active backend)', () => compareToPlain());

  it('equals tfjs gradients of the generic-op LayerNorm (cpu backend)', () => onCpu(compareToPlain));

  it('matches central differences for x, γ and β', () =>
    onCpu(() => {
      const { norm, store } = makeNorm(6);
      const x = tf.variable(rand([4, 6], 3, 0.5, 1.5));
      const w = rand([4, 6], 4);
      const loss = () => tf.tidy(() => tf.sum(tf.mul(norm.apply(x), w)) as tf.Scalar);
      expectGradMatches(loss, x, someCoords(x.size, 10));
      expectGradMatches(loss, norm.gamma, someCoords(6, 4));
      expectGradMatches(loss, norm.beta, someCoords(6, 4));
      tf.dispose([x, w]);
      store.dispose();
    }));

  it('leaves no tensors behind after a gradient', () => {
    const { norm, store } = makeNorm(8);
    const x = rand([16, 8], 5);
    const before = tf.memory().numTensors;
    for (let i = 0; i < 3; i++) tf.grad((xi: tf.Tensor) => tf.sum(norm.apply(xi)))(x).dispose();
    assert.equal(tf.memory().numTensors, before);
    x.dispose();
    store.dispose();
  });
});
