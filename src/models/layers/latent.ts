/**
 * Pieces shared by the variational instance models (MIVAE, CausalMIL, FocusMIL): a Gaussian head
 * (μ, log σ²) on a feature, a decoder MLP back to the input features, and the reconstruction term.
 */
import * as tf from '@tensorflow/tfjs';
import { Dense } from './dense';
import type { ParamScope } from './params';

export class GaussianHead {
  readonly mu: Dense;
  readonly logVar: Dense;

  constructor(scope: ParamScope, inDim: number, latentDim: number) {
    this.mu = new Dense(scope.scope('mu'), inDim, latentDim);
    this.logVar = new Dense(scope.scope('log_var'), inDim, latentDim);
  }

  apply(h: tf.Tensor2D): { mu: tf.Tensor2D; logVar: tf.Tensor2D } {
    return { mu: this.mu.apply(h) as tf.Tensor2D, logVar: this.logVar.apply(h) as tf.Tensor2D };
  }
}

/** Decoder z → x̂: ReLU layers of the given widths, then a linear layer to the input width. */
export class Decoder {
  private readonly layers: Dense[];

  constructor(scope: ParamScope, latentDim: number, widths: number[], outDim: number) {
    const dims = [latentDim, ...widths, outDim];
    this.layers = dims
      .slice(1)
      .map((w, i) => new Dense(scope.scope(String(i)), dims[i], w, i < dims.length - 2 ? 'relu' : 'linear'));
  }

  apply(z: tf.Tensor2D): tf.Tensor2D {
    return this.layers.reduce((x, layer) => layer.apply(x) as tf.Tensor2D, z);
  }
}

/** Gaussian reconstruction term per row, ½‖x − x̂‖² (unit variance, constants dropped). */
export function reconstructionError(x: tf.Tensor2D, xHat: tf.Tensor2D): tf.Tensor1D {
  return tf.tidy(() => tf.mul(tf.sum(tf.squaredDifference(x, xHat), 1), 0.5) as tf.Tensor1D);
}
