/** Element-wise activations by name (the ones the reference models use). */
import * as tf from '@tensorflow/tfjs';

export type ActivationName = 'linear' | 'relu' | 'gelu' | 'tanh' | 'sigmoid';

/** Exact GELU, x·Φ(x) = 0.5·x·(1 + erf(x/√2)), as PyTorch's `nn.GELU()` (tfjs has no gelu op). */
export function gelu(x: tf.Tensor): tf.Tensor {
  return tf.tidy(() => tf.mul(tf.mul(x, 0.5), tf.add(tf.erf(tf.mul(x, Math.SQRT1_2)), 1)));
}

export function activate(x: tf.Tensor, act: ActivationName): tf.Tensor {
  switch (act) {
    case 'linear':
      return x;
    case 'relu':
      return tf.relu(x);
    case 'gelu':
      return gelu(x);
    case 'tanh':
      return tf.tanh(x);
    case 'sigmoid':
      return tf.sigmoid(x);
  }
}

/** Activations the backend can fuse into matMul (tf.fused.matMul). */
export const FUSABLE: ReadonlySet<ActivationName> = new Set(['linear', 'relu', 'sigmoid']);
