/**
 * `stopGradient(f, x)`: the value of f(x), with no gradient to x (tfjs has no stop_gradient op).
 *
 * Why a custom op: ops run inside a customGrad forward are not recorded on the tape (tfjs records
 * only at kernel depth 0), so Monte-Carlo passes or "detached" evidence computed here cost no tape
 * memory, and the zero gradient makes the detachment explicit (MIREL's frozen instance evidence,
 * certainty pooling's MC-dropout certainty).
 */
import * as tf from '@tensorflow/tfjs';

export function stopGradient<T extends tf.Tensor>(x: tf.Tensor, f: (x: tf.Tensor) => T = (t) => tf.clone(t) as T): T {
  const op = tf.customGrad((...args: (tf.Tensor | ((t: tf.Tensor[]) => void))[]) => {
    const input = args[0] as tf.Tensor;
    return { value: f(input), gradFunc: () => [tf.zerosLike(input)] };
  });
  return (op as (t: tf.Tensor) => tf.Tensor)(x) as T;
}
