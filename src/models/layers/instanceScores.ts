/**
 * Instance scores → class logits for the instance-level pooling models (adaptive, power and
 * certainty pooling), which pool PROBABILITIES and so need the class logits back afterwards.
 *
 * Binary MIL scores one positive class per instance (p = sigmoid(s)); the bag is positive with the
 * pooled probability P, and its two logits are [0, logit P] (softmax of them is exactly P, so the
 * trainer's cross-entropy is the papers' binary cross-entropy). With C > 2 classes every class is
 * scored and pooled one-vs-rest, and the logits are logit P_c.
 */
import * as tf from '@tensorflow/tfjs';

/** Scored outputs per instance: 1 for binary MIL, C otherwise. */
export function scoredClasses(numClasses: number): number {
  return numClasses === 2 ? 1 : numClasses;
}

/** Instance scores `[N, K]` → instance logits `[N, C]` (binary: a zero logit for class 0 first). */
export function toClassLogits(scores: tf.Tensor2D, numClasses: number): tf.Tensor2D {
  if (numClasses !== 2) return scores;
  return tf.tidy(() => tf.concat([tf.zeros([scores.shape[0], 1]), scores], 1) as tf.Tensor2D);
}

/** log p = log sigmoid(s) = −softplus(−s), without underflow. */
export function logSigmoid(s: tf.Tensor): tf.Tensor {
  return tf.tidy(() => tf.neg(tf.softplus(tf.neg(s))));
}

/**
 * Pooled log-probabilities log P `[K]` → bag logits `[C]`: logit P = log P − log(1 − P), with
 * log(1 − P) = log(−expm1(log P)). log P is kept within [−30, −1e-6] so both logs stay finite.
 */
export function logitsFromLogProb(logP: tf.Tensor1D, numClasses: number): tf.Tensor1D {
  return tf.tidy(() => {
    const lp = tf.clipByValue(logP, -30, -1e-6);
    const logit = tf.sub(lp, tf.log(tf.neg(tf.expm1(lp)))) as tf.Tensor1D;
    return numClasses === 2 ? (tf.concat([tf.zeros([1]), logit]) as tf.Tensor1D) : logit;
  });
}

/** `[N, K]` → `[K, N]` (a free reshape for K = 1). */
export function classMajor(x: tf.Tensor2D): tf.Tensor2D {
  return tf.tidy(() => (x.shape[1] === 1 ? tf.reshape(x, [1, -1]) : tf.transpose(x)) as tf.Tensor2D);
}

/** Per-class weights `[K, N]` (each row sums to 1) → one attention vector `[N]`: their mean over classes. */
export function attentionFrom(weights: tf.Tensor2D): tf.Tensor1D {
  return tf.tidy(() => (weights.shape[0] === 1 ? tf.reshape(weights, [-1]) : tf.mean(weights, 0)) as tf.Tensor1D);
}

/**
 * Attention for max-pooling models: softmax over the instances of each scored class's scores
 * `[N, K]`, averaged over classes. These are the weights of the smooth maximum (∂ logsumexp/∂s_i),
 * whose limit is max pooling: heatmaps and MHIM's attention-based masking get the instances that
 * drive the bag decision.
 */
export function maxPoolingAttention(scores: tf.Tensor2D): tf.Tensor1D {
  return tf.tidy(() => attentionFrom(tf.softmax(classMajor(scores)) as tf.Tensor2D));
}
