/**
 * Replacement gradient for tfjs's BatchMatMul.
 *
 * Why: the wasm backend runs its fast XNNPACK kernel only when neither operand is transposed; a
 * transposed matMul falls back to a scalar loop (~1 GFLOP/s, 20x slower), and tfjs's built-in
 * BatchMatMul gradient uses exactly those transposed products. Here every gradient product is an
 * explicit `transpose` followed by a plain `matMul`. Gradients are lazy closures, so nothing is
 * computed for inputs (such as the bag itself) that need no gradient. On the native path
 * (OpenBLAS addon, blasKernels.ts) transposed products are native, and the flags are passed through.
 */
import * as tf from '@tensorflow/tfjs';
import { nativeTransposes } from './blasKernels';
import { DEPTHWISE_KERNEL, SOFTMAX_GRAD_KERNEL } from './nativeKernels';

/** Swaps the last two axes of a rank ≥ 2 tensor. */
export function swapLastAxes(x: tf.Tensor): tf.Tensor {
  const perm = x.shape.map((_, i) => i);
  const r = perm.length;
  [perm[r - 2], perm[r - 1]] = [perm[r - 1], perm[r - 2]];
  return tf.transpose(x, perm);
}

/**
 * `matMul(a, b, transposeA, transposeB)` that never asks the backend for a transposed product.
 * Use this in model code wherever an operand is transposed (e.g. Q·Kᵀ).
 */
export function matMulFast<T extends tf.Tensor>(a: T, b: tf.Tensor, transposeA = false, transposeB = false): T {
  // Through sgemm (native path) a transposed operand costs nothing: no explicit transpose.
  if (nativeTransposes()) return tf.matMul(a, b, transposeA, transposeB) as T;
  return tf.tidy(() => batchMatMul(transposeA ? swapLastAxes(a) : a, transposeB ? swapLastAxes(b) : b)) as T;
}

/**
 * `matMul` of two equally batched rank-3 tensors, or plain `matMul` otherwise.
 *
 * Why: on wasm only batch-1 products reach XNNPACK; a batched BatchMatMul runs a scalar loop
 * (8 × 256³ in 540 ms instead of 8 × 2.2 ms). Looping over the batch with 2-D products (plus one
 * unstack and one stack copy) is 3-7× faster there. Other backends get the native batched kernel.
 */
export function batchMatMul(a: tf.Tensor, b: tf.Tensor): tf.Tensor {
  if (
    a.rank !== 3 ||
    b.rank !== 3 ||
    a.shape[0] !== b.shape[0] ||
    a.shape[0] === 1 ||
    tf.getBackend() !== 'wasm' ||
    nativeTransposes()
  ) {
    return tf.matMul(a, b);
  }
  return tf.tidy(() => {
    const as = tf.unstack(a);
    const bs = tf.unstack(b);
    return tf.stack(as.map((x, i) => tf.matMul(x, bs[i])));
  });
}

let registered = false;
const originals = new Map<string, tf.GradConfig | undefined>();

/** tfjs's own gradient of a kernel that milkit replaced (for tests that compare the two). */
export function originalGradient(kernelName: string): tf.GradConfig | undefined {
  return originals.get(kernelName);
}

/** Registers the fast BatchMatMul and depthwise-conv gradients once per process (idempotent). */
export function registerFastGradients(): void {
  if (registered) return;
  registered = true;
  for (const k of [tf.BatchMatMul, tf.DepthwiseConv2dNative, tf.TopK, tf.Softmax]) originals.set(k, tf.getGradient(k));
  registerDepthwiseGradient();
  registerSoftmaxGradient();
  registerTopKGradient();
  tf.registerGradient({
    kernelName: tf.BatchMatMul,
    inputsToSave: ['a', 'b'],
    gradFunc: (dy: tf.Tensor | tf.Tensor[], saved: tf.Tensor[], attrs: tf.NamedAttrMap) => {
      const g = dy as tf.Tensor;
      const [a, b] = saved;
      const { transposeA, transposeB } = attrs as unknown as { transposeA: boolean; transposeB: boolean };
      // C = op(A)·op(B)  ⇒  dop(A) = dC·op(B)ᵀ, dop(B) = op(A)ᵀ·dC, then undo op on each side.
      if (!transposeA && !transposeB) {
        return { a: () => matMulFast(g, b, false, true), b: () => matMulFast(a, g, true, false) };
      }
      if (!transposeA && transposeB) {
        return { a: () => batchMatMul(g, b), b: () => matMulFast(g, a, true, false) };
      }
      if (transposeA && !transposeB) {
        return { a: () => matMulFast(b, g, false, true), b: () => batchMatMul(a, g) };
      }
      return { a: () => matMulFast(b, g, true, true), b: () => matMulFast(g, a, true, true) };
    },
  });
}

/** Softmax's gradient y ⊙ (dy − Σ dy·y) as one native pass on the native path (five kernels otherwise). */
function registerSoftmaxGradient(): void {
  const original = originals.get(tf.Softmax)!;
  tf.registerGradient({
    ...original,
    gradFunc: (dy: tf.Tensor | tf.Tensor[], saved: tf.Tensor[], attrs: tf.NamedAttrMap) => {
      const y = saved[0];
      const dim = attrs.dim as number;
      if (!nativeTransposes() || y.dtype !== 'float32' || (dim !== -1 && dim !== y.rank - 1))
        return original.gradFunc(dy, saved, attrs);
      return { logits: () => tf.engine().runKernel(SOFTMAX_GRAD_KERNEL, { y, dy: dy as tf.Tensor }, {}) as tf.Tensor };
    },
  });
}

/**
 * Gradient of DepthwiseConv2dNative built from forward depthwise convolutions only.
 *
 * Why: the wasm backend has no DepthwiseConv2dNativeBackpropInput/Filter kernels, so the built-in
 * gradient cannot run there at all (TransMIL's PPEG and the Nyström residual conv need it). For
 * stride 1, dilation 1, one output per channel and batch 1 (all milkit uses):
 *  - dx = valid depthwise conv of dy, zero-padded by (k−1−pad), with the spatially flipped filter;
 *  - dW[a,b,c] = Σ_ij x_pad[i+a, j+b, c]·dy[i,j,c], one multiply-and-reduce per tap.
 * Anything else falls back to tfjs's own gradient.
 */
function registerDepthwiseGradient(): void {
  const original = tf.getGradient(tf.DepthwiseConv2dNative);
  tf.registerGradient({
    kernelName: tf.DepthwiseConv2dNative,
    inputsToSave: ['x', 'filter'],
    gradFunc: (dy: tf.Tensor | tf.Tensor[], saved: tf.Tensor[], attrs: tf.NamedAttrMap) => {
      const [x, filter] = saved as [tf.Tensor4D, tf.Tensor4D];
      const a = attrs as unknown as { strides: number | number[]; pad: unknown; dilations: number | number[] };
      const ones = (v: number | number[]) => (Array.isArray(v) ? v.every((s) => s === 1) : v === 1);
      const [kh, kw, , mult] = filter.shape;
      const supported =
        ones(a.strides) &&
        ones(a.dilations ?? 1) &&
        mult === 1 &&
        x.shape[0] === 1 &&
        (a.pad === 'valid' || (a.pad === 'same' && kh % 2 === 1 && kw % 2 === 1));
      if (!supported) return original!.gradFunc(dy, saved, attrs);
      const g = dy as tf.Tensor4D;
      const [pt, pl] = a.pad === 'same' ? [(kh - 1) / 2, (kw - 1) / 2] : [0, 0];
      if (nativeTransposes()) {
        // Native path: both gradients in one vectorised pass each (blasKernels.ts, native/src/depthwise.c).
        const [, h, w] = x.shape;
        const run = (
          inputs: tf.NamedTensorMap,
          mode: number,
          padTop: number,
          padLeft: number,
          outH: number,
          outW: number,
        ) =>
          tf.engine().runKernel(DEPTHWISE_KERNEL, inputs, { mode, padTop, padLeft, outH, outW, kh, kw }) as tf.Tensor;
        return {
          x: () => run({ x: g, w: filter }, 1, kh - 1 - pt, kw - 1 - pl, h, w),
          filter: () => run({ x, w: g }, 2, pt, pl, g.shape[1], g.shape[2]),
        };
      }
      return {
        x: () =>
          tf.tidy(() => {
            const padded = tf.pad(g, [
              [0, 0],
              [kh - 1 - pt, kh - 1 - pt],
              [kw - 1 - pl, kw - 1 - pl],
              [0, 0],
            ]);
            return tf.depthwiseConv2d(padded, tf.reverse(filter, [0, 1]), 1, 'valid');
          }),
        filter: () =>
          tf.tidy(() => {
            // One multiply-and-reduce per filter tap (49 for 7×7): dW[a,b,c] = Σ x_pad[i+a, j+b, c]·dy[i,j,c].
            // (Using dy itself as a giant depthwise filter is fewer ops but crashes XNNPACK for big bags.)
            const xp =
              pt + pl > 0
                ? tf.pad(x, [
                    [0, 0],
                    [pt, pt],
                    [pl, pl],
                    [0, 0],
                  ])
                : x;
            const [, ho, wo, c] = g.shape;
            const taps: tf.Tensor[] = [];
            for (let i = 0; i < kh; i++) {
              // A tidy per tap: each product is as big as the input; holding all 49 would need GBs.
              for (let j = 0; j < kw; j++)
                taps.push(tf.tidy(() => tf.sum(tf.mul(tf.slice(xp, [0, i, j, 0], [1, ho, wo, c]), g), [0, 1, 2])));
            }
            return tf.reshape(tf.stack(taps), [kh, kw, c, 1]);
          }),
      };
    },
  });
}

/**
 * Gradient of TopK's values (tfjs registers none, so any top-k on a recorded path, such as CLAM's
 * instance selection, stops backpropagation with an error): dx scatters dy back to the selected
 * positions, written as a one-hot product so it needs no scatter kernel.
 */
function registerTopKGradient(): void {
  if (tf.getGradient(tf.TopK)) return;
  tf.registerGradient({
    kernelName: tf.TopK,
    inputsToSave: ['x'],
    outputsToSave: [false, true],
    gradFunc: (dy: tf.Tensor | tf.Tensor[], saved: tf.Tensor[]) => {
      const dValues = Array.isArray(dy) ? dy[0] : dy;
      const [x, indices] = saved;
      return {
        x: () =>
          tf.tidy(() => {
            const n = x.shape[x.rank - 1];
            const hot = tf.cast(tf.oneHot(indices as tf.Tensor, n), 'float32'); // [..., k, n]
            return tf.sum(tf.mul(hot, tf.expandDims(dValues, -1)), -2);
          }),
      };
    },
  });
}
