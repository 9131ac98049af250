/**
 * Native-path ops (need the OpenBLAS addon, see blasKernels.ts): dense layers, dropout, the Adam step.
 *
 * `act(x·W + b)` as one op on the native path (OpenBLAS sgemm + vectorised activation kernels),
 * with its own gradient: g = dy ⊙ act′(z) and db = Σ_rows g in one native pass, dW = xᵀ·g and
 * dx = g·Wᵀ as transposed sgemm calls (no explicit transposes). Only the input x and the
 * pre-activation z are kept for the backward (the tape shares them, no copies).
 *
 * Why: through generic ops a GELU projection records matMul, add and ~5 element-wise ops, each a
 * full pass over [N × 512] in wasm, plus as many for the derivative.
 * Used by `Dense` and `projectBag` when `nativeDenseAvailable()`; numerically the same function
 * (test/backend/blas.test.ts compares it with the plain wasm path and with central differences).
 */
import * as tf from '@tensorflow/tfjs';
import type { Rng } from '../random';
import { nativeTransposes } from './blasKernels';
import {
  ACTIVATION_GRAD_KERNEL,
  ACTIVATION_KERNEL,
  ADAM_KERNEL,
  type AdamStepAttrs,
  DROPOUT_KERNEL,
  NATIVE_ACTIVATIONS,
  type NativeActivation,
  PINV_GRAD_KERNEL,
  PINV_KERNEL,
  SEGMENT_MEANS_KERNEL,
} from './nativeKernels';

/** True when the native kernels serve the active backend. */
export function nativeDenseAvailable(): boolean {
  return nativeTransposes();
}

/** act(z) through the native kernel (gelu, tanh, sigmoid, relu; linear returns z). */
export function nativeActivation(z: tf.Tensor, act: NativeActivation): tf.Tensor {
  if (act === 'linear') return z;
  return tf.engine().runKernel(ACTIVATION_KERNEL, { x: z }, { activation: act }) as tf.Tensor;
}

/** [dy ⊙ act′(z), Σ_rows dy ⊙ act′(z)]. */
export function nativeActivationGrad(dy: tf.Tensor, z: tf.Tensor, act: NativeActivation): [tf.Tensor, tf.Tensor1D] {
  return tf.engine().runKernel(ACTIVATION_GRAD_KERNEL, { dy, z }, { activation: act }) as unknown as [
    tf.Tensor,
    tf.Tensor1D,
  ];
}

export function isNativeActivation(act: string): act is NativeActivation {
  return act in NATIVE_ACTIVATIONS;
}

/**
 * y = act(x·W + b) for x [N, in], W [in, out], b [out] or none.
 * `inputGrad` false: x needs no gradient (the bag itself), none is computed for it.
 */
export function denseNative(
  x: tf.Tensor2D,
  kernel: tf.Tensor,
  bias: tf.Tensor | undefined,
  act: NativeActivation,
  inputGrad: boolean,
): tf.Tensor2D {
  const forward = (k: tf.Tensor, b: tf.Tensor | undefined) => {
    const z = tf.fused.matMul({ a: x, b: k as tf.Tensor2D, bias: b });
    return { z, y: act === 'linear' ? z : nativeActivation(z, act) };
  };
  if ((tf.engine().state as unknown as { gradientDepth: number }).gradientDepth === 0) {
    return tf.tidy(() => forward(kernel, bias).y) as tf.Tensor2D;
  }
  const inputs = [...(inputGrad ? [x] : []), kernel, ...(bias ? [bias] : [])];
  const op = tf.customGrad((...args: (tf.Tensor | ((t: tf.Tensor[]) => void))[]) => {
    const save = args[args.length - 1] as (t: tf.Tensor[]) => void;
    const { z, y } = forward(kernel, bias);
    save([x, z]);
    return {
      value: y as tf.Tensor2D,
      gradFunc: (dy: tf.Tensor | tf.Tensor[], saved: tf.Tensor[]) => {
        const [xs, zs] = saved;
        const [g, db] = nativeActivationGrad(dy as tf.Tensor, zs, act);
        const dW = tf.matMul(xs, g, true, false);
        const grads: tf.Tensor[] = inputGrad ? [tf.matMul(g, kernel, false, true), dW] : [dW];
        if (bias) grads.push(tf.reshape(db, bias.shape));
        else db.dispose();
        return grads;
      },
    };
  });
  return (op as (...t: tf.Tensor[]) => tf.Tensor)(...inputs) as tf.Tensor2D;
}

/**
 * Inverted dropout with the mask drawn natively from `rng`'s own stream: the same mask as
 * dropout.ts draws in JS (mulberry32's state is a counter, so the native loop computes draw i
 * directly), and `rng` advances by x.size draws exactly as there. The backward regenerates the
 * mask from the saved state instead of keeping it.
 *
 * Why: the JS mask for [8000 × 512] is 4M generator calls, an upload and a multiply per step.
 */
export function nativeDropout<T extends tf.Tensor>(x: T, rate: number, rng: Rng): T {
  const keep = 1 - rate;
  const r = rng as unknown as { state: number };
  const state = r.state;
  r.state = (state + Math.imul(x.size, 0x6d2b79f5)) >>> 0;
  const apply = (t: tf.Tensor) => tf.engine().runKernel(DROPOUT_KERNEL, { x: t }, { state, keep }) as tf.Tensor;
  if ((tf.engine().state as unknown as { gradientDepth: number }).gradientDepth === 0) return apply(x) as T;
  const op = tf.customGrad((...args: (tf.Tensor | ((t: tf.Tensor[]) => void))[]) => ({
    value: apply(args[0] as tf.Tensor),
    gradFunc: (dy: tf.Tensor | tf.Tensor[]) => [apply(dy as tf.Tensor)],
  }));
  return (op as (t: tf.Tensor) => tf.Tensor)(x) as T;
}

/**
 * One Adam step of one float32 variable in one native pass: [θ, m, v] after the step, equal bit for
 * bit to the tfjs ops of src/train/optimizer.ts (the same float32 operations in the same order).
 */
export function nativeAdamStep(
  theta: tf.Tensor,
  m: tf.Tensor,
  v: tf.Tensor,
  g: tf.Tensor,
  attrs: AdamStepAttrs,
): [tf.Tensor, tf.Tensor, tf.Tensor] {
  return tf.engine().runKernel(ADAM_KERNEL, { theta, m, v, g }, attrs as unknown as tf.NamedAttrMap) as unknown as [
    tf.Tensor,
    tf.Tensor,
    tf.Tensor,
  ];
}

/**
 * Nyström's Moore–Penrose iteration (nystrom.ts `moorePenroseIterate`) from z0, for x [m, m] or
 * [b, m, m], as one native op with its own gradient (dx and dz0 through all iterations, as autodiff
 * of the iteration gives, from the iterates the forward keeps). Why: through tfjs it is ~70 kernel
 * calls per head and step, and twice that for the gradient.
 */
export function nativePinv<T extends tf.Tensor>(x: T, z0: tf.Tensor, iterations: number): T {
  if ((tf.engine().state as unknown as { gradientDepth: number }).gradientDepth === 0) {
    return tf.engine().runKernel(PINV_KERNEL, { x, z0 }, { iterations, keep: false }) as T;
  }
  const op = tf.customGrad(((a: tf.Tensor, b: tf.Tensor, save: tf.GradSaveFunc) => {
    // The iterates (4 · iterations matrices) are kept for the backward pass instead of recomputed.
    const [z, iterates] = tf
      .engine()
      .runKernel(PINV_KERNEL, { x: a, z0: b }, { iterations, keep: true }) as unknown as tf.Tensor[];
    save([a, b, iterates]);
    return {
      value: z,
      gradFunc: (dz: tf.Tensor, saved: tf.Tensor[]) =>
        tf
          .engine()
          .runKernel(
            PINV_GRAD_KERNEL,
            { x: saved[0], z0: saved[1], dz, iterates: saved[2] },
            { iterations },
          ) as unknown as tf.Tensor[],
    };
  }) as unknown as Parameters<typeof tf.customGrad>[0]) as unknown as (a: tf.Tensor, b: tf.Tensor) => T;
  return op(x, z0);
}

/**
 * Means of `segments` consecutive equal runs of rows of t `[segments·l, c]` → `[segments, c]` (Nyström landmarks),
 * natively.
 */
export function nativeSegmentMeans(t: tf.Tensor2D, segments: number): tf.Tensor2D {
  const length = t.shape[0] / segments;
  const op = tf.customGrad(((x: tf.Tensor) => ({
    value: tf.engine().runKernel(SEGMENT_MEANS_KERNEL, { x }, { segments, grad: false }) as tf.Tensor2D,
    gradFunc: (dy: tf.Tensor) =>
      tf.engine().runKernel(SEGMENT_MEANS_KERNEL, { x: dy }, { segments, length, grad: true }) as tf.Tensor,
  })) as unknown as Parameters<typeof tf.customGrad>[0]) as unknown as (x: tf.Tensor) => tf.Tensor2D;
  return op(t);
}
