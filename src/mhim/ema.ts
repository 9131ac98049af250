/** Exponential moving averages of variables: the momentum teacher and the GRN's global queries. */
import * as tf from '@tensorflow/tfjs';

/** target ← m·target + (1 − m)·source for each pair (no gradient; shapes must match). */
export function emaUpdate(target: tf.Variable[], source: tf.Tensor[], momentum: number): void {
  if (target.length !== source.length) throw new Error(`EMA: ${target.length} targets for ${source.length} sources`);
  tf.tidy(() => {
    target.forEach((t, i) => {
      assertSameShape(t, source[i], i);
      t.assign(tf.add(tf.mul(t, momentum), tf.mul(source[i], 1 - momentum)));
    });
  });
}

/** target ← source for each pair (teacher = copy of the student, or init from a checkpoint). */
export function copyValues(target: tf.Variable[], source: tf.Tensor[]): void {
  if (target.length !== source.length) throw new Error(`copy: ${target.length} targets for ${source.length} sources`);
  target.forEach((t, i) => {
    assertSameShape(t, source[i], i);
    t.assign(source[i]);
  });
}

function assertSameShape(a: tf.Tensor, b: tf.Tensor, i: number): void {
  if (a.shape.join() !== b.shape.join())
    throw new Error(`variable ${i}: shape [${a.shape}] vs [${b.shape}] (different architectures?)`);
}
