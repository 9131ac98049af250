/**
 * Replacement gradient for tfjs's BatchMatMul.
 *
 * Why: the wasm backend runs its fast XNNPACK kernel only when neither operand is transposed; a
 * transposed matMul falls back to a scalar loop (~1 GFLOP/s, 20x slower), and tfjs's built-in
 * BatchMatMul gradient uses exactly those transposed products. Here every gradient product is an
 * explicit `transpose` followed by a plain `matMul`. Gradients are lazy closures, so nothing is
 * computed for inputs (such as the bag itself) that need no gradient.
 */
import * as tf from '@tensorflow/tfjs';

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
  return tf.tidy(() => tf.matMul(transposeA ? swapLastAxes(a) : a, transposeB ? swapLastAxes(b) : b)) as T;
}

let registered = false;

/** Registers the fast BatchMatMul gradient once per process (idempotent). */
export function registerFastGradients(): void {
  if (registered) return;
  registered = true;
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
        return { a: () => tf.matMul(g, b), b: () => matMulFast(g, a, true, false) };
      }
      if (transposeA && !transposeB) {
        return { a: () => matMulFast(b, g, false, true), b: () => tf.matMul(a, g) };
      }
      return { a: () => matMulFast(b, g, true, true), b: () => matMulFast(g, a, true, true) };
    },
  });
}
