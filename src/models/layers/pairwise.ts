/**
 * Pairwise (instance × instance) helpers for the models that relate instances to each other
 * (GNN-MIL, SA-AbMILP, DAS-MIL). An `[N, N]` matrix of a 20,000-instance bag is 1.6 GB, so without
 * a gradient tape these run over blocks of rows; while a gradient is recorded (training bags are
 * small) they run in one piece, because the tape would keep every block anyway.
 */
import * as tf from '@tensorflow/tfjs';
import { recordingGradients } from './dense';
import { matMulFast } from '../../backend/fastGradients';

/** Rows per block: a `[ROW_BLOCK, 20000]` float block is 80 MB. */
export const ROW_BLOCK = 1024;

/** Squared Euclidean distances `[M, N]` between the rows of a `[M, D]` and b `[N, D]` (clamped at 0). */
export function squaredDistances(a: tf.Tensor2D, b: tf.Tensor2D): tf.Tensor2D {
  return tf.tidy(() => {
    const aa = tf.sum(tf.square(a), 1, true); // [M, 1]
    const bb = tf.reshape(tf.sum(tf.square(b), 1), [1, -1]); // [1, N]
    return tf.relu(tf.sub(tf.add(aa, bb), tf.mul(matMulFast(a, b, false, true), 2))) as tf.Tensor2D;
  });
}

/**
 * `fn(start, size)` for row blocks of `[0, n)`, results concatenated along axis 0; one block
 * (start 0, size n) while a gradient is recorded or when n ≤ `block` rows.
 */
export function inRowBlocks(n: number, fn: (start: number, size: number) => tf.Tensor, block = ROW_BLOCK): tf.Tensor {
  if (n <= block || recordingGradients()) return fn(0, n);
  const parts: tf.Tensor[] = [];
  for (let s = 0; s < n; s += block) parts.push(tf.tidy(() => fn(s, Math.min(block, n - s))));
  const out = tf.concat(parts);
  tf.dispose(parts);
  return out;
}

/** Like `inRowBlocks`, but SUMS the blocks' results (for products such as Sᵀ·A·S). */
export function sumOverRowBlocks(n: number, fn: (start: number, size: number) => tf.Tensor): tf.Tensor {
  if (n <= ROW_BLOCK || recordingGradients()) return fn(0, n);
  let total: tf.Tensor | undefined;
  for (let s = 0; s < n; s += ROW_BLOCK) {
    const part = tf.tidy(() => fn(s, Math.min(ROW_BLOCK, n - s)));
    const next = total ? tf.add(total, part) : part;
    if (total) {
      total.dispose();
      part.dispose();
    }
    total = next;
  }
  return total!;
}

/** Rows `[start, start + size)` of a 2-D tensor (the whole tensor when it is all of it). */
export function rows(x: tf.Tensor2D, start: number, size: number): tf.Tensor2D {
  return start === 0 && size === x.shape[0] ? x : tf.slice(x, [start, 0], [size, -1]);
}
