/**
 * log Γ and digamma ψ for positive tensors (tfjs has neither), built from differentiable ops so the
 * gradient comes from autodiff: shift the argument up by 6 with the recurrences
 * lnΓ(x) = lnΓ(x+6) − ln Π_{k<6}(x+k) and ψ(x) = ψ(x+6) − Σ_{k<6} 1/(x+k), then use the asymptotic
 * (Stirling / de Moivre) series at y = x + 6 ≥ 6, where its truncation error is below 1e-8.
 * Used by MIREL's Dirichlet KL term. Checked against reference values in the tests.
 */
import * as tf from '@tensorflow/tfjs';

const SHIFT = 6;
const HALF_LOG_2PI = 0.5 * Math.log(2 * Math.PI);

export function lgamma(x: tf.Tensor): tf.Tensor {
  return tf.tidy(() => {
    let prod: tf.Tensor = x;
    for (let k = 1; k < SHIFT; k++) prod = tf.mul(prod, tf.add(x, k));
    const y = tf.add(x, SHIFT);
    const inv = tf.reciprocal(y);
    const inv2 = tf.square(inv);
    // 1/(12y) − 1/(360y³) + 1/(1260y⁵)
    const series = tf.mul(inv, tf.add(1 / 12, tf.mul(inv2, tf.add(-1 / 360, tf.mul(inv2, 1 / 1260)))));
    const stirling = tf.add(tf.sub(tf.mul(tf.sub(y, 0.5), tf.log(y)), y), tf.add(series, HALF_LOG_2PI));
    return tf.sub(stirling, tf.log(prod));
  });
}

export function digamma(x: tf.Tensor): tf.Tensor {
  return tf.tidy(() => {
    let shift: tf.Tensor = tf.reciprocal(x);
    for (let k = 1; k < SHIFT; k++) shift = tf.add(shift, tf.reciprocal(tf.add(x, k)));
    const y = tf.add(x, SHIFT);
    const inv2 = tf.reciprocal(tf.square(y));
    // ln y − 1/(2y) − 1/(12y²) + 1/(120y⁴) − 1/(252y⁶)
    const series = tf.mul(inv2, tf.add(-1 / 12, tf.mul(inv2, tf.add(1 / 120, tf.mul(inv2, -1 / 252)))));
    return tf.sub(tf.add(tf.sub(tf.log(y), tf.div(0.5, y)), series), shift);
  });
}

/** KL(Dir(α) ‖ Dir(1)) per row of α `[B, K]` (Sensoy et al. 2018's regulariser). */
export function klDirichletUniform(alpha: tf.Tensor2D): tf.Tensor1D {
  return tf.tidy(() => {
    const k = alpha.shape[1];
    const s = tf.sum(alpha, 1, true);
    const first = tf.sub(tf.sub(lgamma(s), tf.sum(lgamma(alpha), 1, true)), lgammaInt(k));
    const second = tf.sum(tf.mul(tf.sub(alpha, 1), tf.sub(digamma(alpha), digamma(s))), 1, true);
    return tf.reshape(tf.add(first, second), [-1]) as tf.Tensor1D;
  });
}

/** ln Γ(k) = ln (k − 1)! for a positive integer. */
function lgammaInt(k: number): number {
  let v = 0;
  for (let i = 2; i < k; i++) v += Math.log(i);
  return v;
}
