/**
 * Fully connected layer `y = act(x·W + b)`, W `[in, out]` xavier-normal, b zero (the reference init).
 *
 * Inference (no gradient tape) runs the backend's fused matMul+bias+activation kernel. While a
 * gradient is being recorded it runs plain matMul/add/activation instead: tfjs's fused op carries
 * its own eager custom gradient that computes the input gradient too (also for the bag, which needs
 * none) with transposed matMuls, the ~1 GFLOP/s path on wasm. The plain ops use the lazy, fast
 * BatchMatMul gradient registered by `useBackend()`.
 */
import * as tf from '@tensorflow/tfjs';
import { activate, type ActivationName, FUSABLE } from './activations';
import { ParamScope, xavierNormal } from './params';

/** True while tfjs records a gradient tape (inside tf.grad / variableGrads / minimize). */
export function recordingGradients(): boolean {
  return (tf.engine().state as unknown as { gradientDepth: number }).gradientDepth > 0;
}

export class Dense {
  readonly kernel: tf.Variable;
  readonly bias?: tf.Variable;

  constructor(
    scope: ParamScope,
    readonly inDim: number,
    readonly outDim: number,
    readonly activation: ActivationName = 'linear',
    useBias = true,
  ) {
    this.kernel = scope.add('kernel', xavierNormal(scope.rng, inDim, outDim));
    if (useBias) this.bias = scope.add('bias', tf.zeros([outDim]));
  }

  /** x `[..., in]` → `[..., out]`. */
  apply(x: tf.Tensor): tf.Tensor {
    return tf.tidy(() => {
      const x2 = x.rank === 2 ? (x as tf.Tensor2D) : tf.reshape(x, [-1, this.inDim]) as tf.Tensor2D;
      let y: tf.Tensor;
      if (!recordingGradients() && FUSABLE.has(this.activation)) {
        y = tf.fused.matMul({ a: x2, b: this.kernel as tf.Tensor2D, bias: this.bias, activation: this.activation as 'linear' });
      } else {
        y = tf.matMul(x2, this.kernel);
        if (this.bias) y = tf.add(y, this.bias);
        y = activate(y, this.activation);
      }
      return x.rank === 2 ? y : tf.reshape(y, [...x.shape.slice(0, -1), this.outDim]);
    });
  }
}
