/** LayerNorm over the last axis (γ = 1, β = 0 at init; eps 1e-5 as PyTorch). */
import * as tf from '@tensorflow/tfjs';
import type { ParamScope } from './params';

export class LayerNorm {
  readonly gamma: tf.Variable;
  readonly beta: tf.Variable;

  constructor(scope: ParamScope, dim: number, readonly eps = 1e-5) {
    this.gamma = scope.add('gamma', tf.ones([dim]));
    this.beta = scope.add('beta', tf.zeros([dim]));
  }

  apply<T extends tf.Tensor>(x: T): T {
    return tf.tidy(() => {
      const { mean, variance } = tf.moments(x, -1, true);
      const normed = tf.mul(tf.sub(x, mean), tf.rsqrt(tf.add(variance, this.eps)));
      return tf.add(tf.mul(normed, this.gamma), this.beta) as T;
    });
  }
}
