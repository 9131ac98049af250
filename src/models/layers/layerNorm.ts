/**
 * LayerNorm over the last axis (γ = 1, β = 0 at init; eps 1e-5 as PyTorch).
 *
 * While a gradient is recorded it is one op with its own gradient, which keeps x̂ and 1/σ only.
 * Why: through generic ops the tape holds five [N × C] tensors of the forward and ~10 more
 * gradients of that size until the backward pass ends (tfjs frees none before); in TransMIL's
 * recomputed layers at N = 8000 that is ~0.3 GB per norm. The forward runs the same ops as before.
 * On the native path (OpenBLAS addon) forward and gradient are one vectorised pass each
 * (`MilkitLayerNorm`, native/src/rows.c) instead of ~10 kernels over [N × C].
 */
import * as tf from '@tensorflow/tfjs';
import { LAYER_NORM_GRAD_KERNEL, LAYER_NORM_KERNEL } from '../../backend/nativeKernels';
import { recordingGradients } from './dense';
import { nativeDenseAvailable } from '../../backend/nativeOps';
import type { ParamScope } from './params';

export class LayerNorm {
  readonly gamma: tf.Variable;
  readonly beta: tf.Variable;

  constructor(
    scope: ParamScope,
    dim: number,
    readonly eps = 1e-5,
  ) {
    this.gamma = scope.add('gamma', tf.ones([dim]));
    this.beta = scope.add('beta', tf.zeros([dim]));
  }

  apply<T extends tf.Tensor>(x: T): T {
    if (!recordingGradients()) return tf.tidy(() => this.normalise(x).y) as T;
    const op = tf.customGrad(((input: tf.Tensor, gamma: tf.Tensor, beta: tf.Tensor, save: tf.GradSaveFunc) => {
      const { y, xhat, rstd } = tf.tidy(() => this.normalise(input));
      save([xhat, rstd]);
      return {
        value: y,
        gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) =>
          tf.tidy(() => layerNormGrad(dy, saved[0], saved[1], gamma, beta.shape)),
      };
    }) as unknown as Parameters<typeof tf.customGrad<tf.Tensor>>[0]) as (...t: tf.Tensor[]) => tf.Tensor;
    return op(x, this.gamma, this.beta) as T;
  }

  /** y = x̂·γ + β with x̂ = (x − μ)/√(σ² + eps), and 1/√(σ² + eps) `[..., 1]`. */
  private normalise(x: tf.Tensor): { y: tf.Tensor; xhat: tf.Tensor; rstd: tf.Tensor } {
    if (nativeDenseAvailable() && x.dtype === 'float32' && x.size > 0) {
      const [y, xhat, rstd] = tf
        .engine()
        .runKernel(
          LAYER_NORM_KERNEL,
          { x, gamma: this.gamma, beta: this.beta },
          { eps: this.eps },
        ) as unknown as tf.Tensor[];
      return { y, xhat, rstd: tf.reshape(rstd, [...x.shape.slice(0, -1), 1]) };
    }
    const { mean, variance } = tf.moments(x, -1, true);
    const rstd = tf.rsqrt(tf.add(variance, this.eps));
    const xhat = tf.mul(tf.sub(x, mean), rstd);
    return { y: tf.add(tf.mul(xhat, this.gamma), this.beta), xhat, rstd };
  }
}

/**
 * [dx, dγ, dβ] of y = x̂·γ + β: dx = (g − mean(g) − x̂·mean(g·x̂))/σ with g = dy·γ (means over the
 * normalised axis), dγ = Σ dy·x̂ and dβ = Σ dy over all other axes.
 */
export function layerNormGrad(
  dy: tf.Tensor,
  xhat: tf.Tensor,
  rstd: tf.Tensor,
  gamma: tf.Tensor,
  paramShape: number[],
): tf.Tensor[] {
  if (nativeDenseAvailable() && xhat.size > 0) {
    const [dx, dGamma, dBeta] = tf
      .engine()
      .runKernel(LAYER_NORM_GRAD_KERNEL, { dy, xhat, rstd, gamma }, {}) as unknown as tf.Tensor[];
    return [dx, tf.reshape(dGamma, paramShape), tf.reshape(dBeta, paramShape)];
  }
  const c = xhat.shape[xhat.shape.length - 1];
  const rows = xhat.size / c;
  const dy2 = tf.reshape(dy, [rows, c]);
  const xhat2 = tf.reshape(xhat, [rows, c]);
  const g = tf.mul(dy2, gamma);
  const meanG = tf.mean(g, -1, true);
  const meanGx = tf.mean(tf.mul(g, xhat2), -1, true);
  const dx = tf.mul(tf.sub(tf.sub(g, meanG), tf.mul(xhat2, meanGx)), tf.reshape(rstd, [rows, 1]));
  // Column sums as a [1 × rows]·[rows × c] product: tfjs-wasm's Sum over axis 0 transposes first.
  const ones = tf.ones([1, rows]);
  const dGamma = tf.matMul(ones, tf.mul(dy2, xhat2));
  const dBeta = tf.matMul(ones, dy2);
  return [tf.reshape(dx, dy.shape), tf.reshape(dGamma, paramShape), tf.reshape(dBeta, paramShape)];
}
