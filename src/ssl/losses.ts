/**
 * SSL objectives: NT-Xent (SimCLR's normalised temperature-scaled cross entropy) and pixel
 * reconstruction (autoencoder, optionally masked-patch).
 */
import * as tf from '@tensorflow/tfjs';

/**
 * NT-Xent over two views `z1`, `z2` `[B, P]` of the same B patches: each of the 2B embeddings must
 * pick its partner among the other 2B − 1 by cosine similarity / temperature.
 *   loss = mean over i of −log( exp(s(i, pos(i))/τ) / Σ_{k≠i} exp(s(i, k)/τ) )
 */
export function ntXent(z1: tf.Tensor2D, z2: tf.Tensor2D, temperature = 0.5): tf.Scalar {
  if (!(temperature > 0)) throw new Error(`NT-Xent temperature must be > 0, got ${temperature}`);
  return tf.tidy(() => {
    const b = z1.shape[0];
    const z = tf.concat([z1, z2], 0);
    const unit = tf.div(z, tf.maximum(tf.norm(z, 2, 1, true), 1e-12));
    // Explicit transpose + plain matMul: wasm's fast path (see fastGradients.ts).
    const sim = tf.div(tf.matMul(unit, tf.transpose(unit)), temperature);
    // Remove self-similarity from the softmax with a large negative on the diagonal.
    const logits = tf.sub(sim, tf.mul(tf.eye(2 * b), 1e9));
    const partner = Array.from({ length: 2 * b }, (_, i) => (i < b ? i + b : i - b));
    const target = tf.oneHot(tf.tensor1d(partner, 'int32'), 2 * b);
    return tf.losses.softmaxCrossEntropy(target, logits) as tf.Scalar;
  });
}

/**
 * Mean squared error between a reconstruction and its target `[B, S, S, 3]`. With `mask`
 * `[B, S, S, 1]` (1 = hidden from the encoder) only hidden pixels count: masked-patch reconstruction.
 */
export function reconstructionLoss(recon: tf.Tensor4D, target: tf.Tensor4D, mask?: tf.Tensor4D): tf.Scalar {
  return tf.tidy(() => {
    const sq = tf.squaredDifference(recon, target);
    if (!mask) return tf.mean(sq);
    const weighted = tf.mul(sq, mask);
    return tf.div(tf.sum(weighted), tf.maximum(tf.mul(tf.sum(mask), 3), 1));
  });
}
