/**
 * Bag losses shared by every model's `loss`:
 *  - class targets: cross-entropy of the softmax over the C bag logits (also for C = 2);
 *  - survival targets: the discrete-time hazard NLL of MHIM-MIL's survival code (Zadeh & Schmid's NLL-surv, α = 0):
 *    h = sigmoid(logits), S = cumprod(1 − h), S_pad = [1, S],
 *    L = −(1 − c)·[log S_pad[y] + log h[y]] − c·log S_pad[y + 1], every log clamped at 1e-7.
 * log S is computed as −cumsum(softplus(logits)) (log(1 − sigmoid(z)) = −softplus(z)), which is
 * the same quantity without the underflow of a product of small factors; clamping the log at
 * log(1e-7) equals clamping S at 1e-7 because log is monotone.
 */
import * as tf from '@tensorflow/tfjs';
import type { LossTerms, Target } from './types';

const LOG_EPS = Math.log(1e-7);

export function bagLoss(logits: tf.Tensor1D, target: Target): tf.Scalar {
  const c = logits.shape[0];
  if (target.kind === 'class') {
    checkIndex(target.label, c, 'class label', target.numClasses);
    return tf.tidy(() => tf.neg(tf.squeeze(tf.slice(tf.logSoftmax(logits), [target.label], [1]))) as tf.Scalar);
  }
  checkIndex(target.bin, c, 'survival bin', target.numBins);
  return survivalNll(logits, target.bin, target.censored);
}

/** Discrete-time survival NLL of one bag (see the file comment). */
export function survivalNll(logits: tf.Tensor1D, bin: number, censored: boolean): tf.Scalar {
  return tf.tidy(() => {
    const logS = tf.maximum(tf.neg(tf.cumsum(tf.softplus(logits))), LOG_EPS); // log S_k, k = 0..C-1
    const logSPad = (k: number): tf.Tensor => (k === 0 ? tf.scalar(0) : tf.squeeze(tf.slice(logS, [k - 1], [1])));
    if (censored) return tf.neg(logSPad(bin + 1)) as tf.Scalar;
    const logH = tf.maximum(tf.neg(tf.softplus(tf.neg(tf.slice(logits, [bin], [1])))), LOG_EPS); // log sigmoid
    return tf.neg(tf.add(logSPad(bin), tf.squeeze(logH))) as tf.Scalar;
  });
}

function checkIndex(i: number, c: number, what: string, declared: number): void {
  if (declared !== c) throw new Error(`target declares ${declared} outputs but the model has ${c} logits`);
  if (!Number.isInteger(i) || i < 0 || i >= c) throw new Error(`${what} ${i} is outside 0..${c - 1}`);
}

/** The training loss: the sum of the named terms, added in their order (call inside a tidy scope). */
export function totalLoss(terms: LossTerms): tf.Scalar {
  const values = Object.values(terms);
  if (values.length === 0) throw new Error('a model returned no loss terms');
  return values.reduce((sum, t) => tf.add(sum, t)) as tf.Scalar;
}
