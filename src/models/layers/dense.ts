/**
 * Fully connected layer `y = act(x·W + b)`, W `[in, out]` xavier-normal, b zero (the reference init),
 * or PyTorch's default init when the model's store says so (`LinearInit`).
 *
 * Inference (no gradient tape) runs the backend's fused matMul+bias+activation kernel. While a
 * gradient is being recorded it runs plain matMul/add/activation instead: tfjs's fused op carries
 * its own eager custom gradient that computes the input gradient too (also for the bag, which needs
 * none) with transposed matMuls, the ~1 GFLOP/s path on wasm. The plain ops use the lazy, fast
 * BatchMatMul gradient registered by `useBackend()`.
 */
import * as tf from '@tensorflow/tfjs';
import { activate, type ActivationName, FUSABLE } from './activations';
import { denseNative, isNativeActivation, nativeDenseAvailable } from '../../backend/nativeOps';
import { ParamScope, torchDefaultUniform, xavierNormal } from './params';

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
    const torch = scope.store.linearInit === 'torch';
    this.kernel = scope.add(
      'kernel',
      torch ? torchDefaultUniform(scope.rng, [inDim, outDim], inDim) : xavierNormal(scope.rng, inDim, outDim),
    );
    if (useBias)
      this.bias = scope.add('bias', torch ? torchDefaultUniform(scope.rng, [outDim], inDim) : tf.zeros([outDim]));
  }

  /** x `[..., in]` → `[..., out]`. */
  apply(x: tf.Tensor): tf.Tensor {
    // Native path (OpenBLAS addon active): one op with its own gradient, see nativeDense.ts.
    if (x.rank === 2 && isNativeActivation(this.activation) && nativeDenseAvailable()) {
      return denseNative(x as tf.Tensor2D, this.kernel, this.bias, this.activation, true);
    }
    return tf.tidy(() => {
      const x2 = x.rank === 2 ? (x as tf.Tensor2D) : (tf.reshape(x, [-1, this.inDim]) as tf.Tensor2D);
      let y: tf.Tensor;
      if (!recordingGradients() && FUSABLE.has(this.activation)) {
        y = tf.fused.matMul({
          a: x2,
          b: this.kernel as tf.Tensor2D,
          bias: this.bias,
          activation: this.activation as 'linear',
        });
      } else {
        y = tf.matMul(x2, this.kernel);
        if (this.bias) y = tf.add(y, this.bias);
        y = activate(y, this.activation);
      }
      return x.rank === 2 ? y : tf.reshape(y, [...x.shape.slice(0, -1), this.outDim]);
    });
  }
}

/**
 * `act(x·W + b)` for an input that needs no gradient (the bag itself), as one custom op whose
 * gradient covers W and b only.
 *
 * Why: through the generic path a training step records matMul, add and each op of the activation
 * on the tape, and the tape clones every tensor it saves (a full copy of [N, 512] per op on wasm);
 * GELU alone is five element-wise ops. Here the forward is the fused matMul+bias kernel plus the
 * activation, one tensor (the pre-activation) is saved, and the backward is
 * g = dy ⊙ act′(z), dW = (gᵀ·x)ᵀ (transposing g [N, out] is cheaper than x [N, in] when out < in),
 * db = Σ g. No gradient is computed for x.
 */
export function projectBag(x: tf.Tensor2D, layer: Dense): tf.Tensor2D {
  if (isNativeActivation(layer.activation) && nativeDenseAvailable())
    return denseNative(x, layer.kernel, layer.bias, layer.activation, false);
  if (!recordingGradients()) return layer.apply(x) as tf.Tensor2D;
  const act = layer.activation;
  const [n, inDim] = x.shape;
  const outDim = layer.outDim;
  const op = tf.customGrad((...args: (tf.Tensor | ((t: tf.Tensor[]) => void))[]) => {
    const [kernel, bias] = args as tf.Tensor[];
    const save = args[args.length - 1] as (t: tf.Tensor[]) => void;
    const z = tf.fused.matMul({ a: x, b: kernel as tf.Tensor2D, bias: layer.bias ? bias : undefined });
    save([z]);
    return {
      value: activate(z, act) as tf.Tensor2D,
      gradFunc: (dy: tf.Tensor | tf.Tensor[], saved: tf.Tensor[]) => {
        const [zs] = saved;
        const g = tf.mul(dy as tf.Tensor, activationDerivative(zs, act));
        const dW = outDim <= inDim ? tf.transpose(tf.matMul(tf.transpose(g), x)) : tf.matMul(tf.transpose(x), g);
        return layer.bias ? [dW, tf.sum(g, 0)] : [dW];
      },
    };
  });
  void n;
  const inputs = layer.bias ? [layer.kernel, layer.bias] : [layer.kernel];
  return (op as (...t: tf.Tensor[]) => tf.Tensor)(...inputs) as tf.Tensor2D;
}

/** act′(z) for the activations a projection can use. */
function activationDerivative(z: tf.Tensor, act: ActivationName): tf.Tensor {
  switch (act) {
    case 'linear':
      return tf.onesLike(z);
    case 'relu':
      return tf.step(z);
    case 'gelu': {
      // d/dz [z·Φ(z)] = Φ(z) + z·φ(z)
      const cdf = tf.mul(tf.add(tf.erf(tf.mul(z, Math.SQRT1_2)), 1), 0.5);
      const pdf = tf.mul(tf.exp(tf.mul(tf.square(z), -0.5)), 1 / Math.sqrt(2 * Math.PI));
      return tf.add(cdf, tf.mul(z, pdf));
    }
    case 'tanh':
      return tf.sub(1, tf.square(tf.tanh(z)));
    case 'sigmoid': {
      const s = tf.sigmoid(z);
      return tf.mul(s, tf.sub(1, s));
    }
  }
}
