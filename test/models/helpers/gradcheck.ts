/** Central-difference gradient checks for tiny float32 problems (run on the cpu backend). */
import * as tf from '@tensorflow/tfjs';
import { strict as assert } from 'node:assert';

/** Runs `fn` on the cpu backend and restores the previous backend afterwards. */
export async function onCpu<T>(fn: () => T | Promise<T>): Promise<T> {
  const previous = tf.getBackend();
  await tf.setBackend('cpu');
  try {
    return await fn();
  } finally {
    await tf.setBackend(previous);
  }
}

/**
 * Compares d f / d v from tfjs (with milkit's registered gradients) to central differences at the
 * given flat coordinates of `v`: |analytic − numeric| ≤ atol + rtol·|numeric|.
 */
export function expectGradMatches(
  f: () => tf.Scalar,
  v: tf.Variable,
  coords: number[],
  eps = 1e-2,
  rtol = 2e-2,
  atol = 2e-3,
): void {
  const { grads, value } = tf.variableGrads(f, [v]);
  const analytic = grads[v.name].dataSync().slice();
  tf.dispose([value, ...Object.values(grads)]);
  const base = v.dataSync().slice() as Float32Array;
  const evalAt = (i: number, delta: number) => {
    const p = base.slice();
    p[i] += delta;
    v.assign(tf.tensor(p, v.shape));
    const y = tf.tidy(f);
    const out = y.dataSync()[0];
    y.dispose();
    return out;
  };
  for (const i of coords) {
    const numeric = (evalAt(i, eps) - evalAt(i, -eps)) / (2 * eps);
    const err = Math.abs(analytic[i] - numeric);
    assert.ok(
      err <= atol + rtol * Math.abs(numeric),
      `d/d${v.name}[${i}]: analytic ${analytic[i]} vs numeric ${numeric}`,
    );
  }
  v.assign(tf.tensor(base, v.shape));
}

/** A few spread-out flat indices of a tensor of `size` elements. */
export function someCoords(size: number, count = 6): number[] {
  return Array.from(
    { length: Math.min(count, size) },
    (_, i) => Math.floor((i * size) / Math.min(count, size) + (size > count ? 1 : 0)) % size,
  );
}

export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  assert.equal(a.length, b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}
