/**
 * Diagonal Gaussian latents of the variational MIL models (MIVAE, CausalMIL, FocusMIL):
 * reparameterised sampling with noise drawn in JS from the model's seeded stream (same seed →
 * same samples on every backend) and closed-form KL divergences, summed over the latent axis.
 */
import * as tf from '@tensorflow/tfjs';
import type { Rng } from '../../random';
import { normalTensor } from './params';

/** log σ² is clamped to [-10, 10] so exp never overflows early in training. */
export function clampLogVar(logVar: tf.Tensor): tf.Tensor {
  return tf.clipByValue(logVar, -10, 10);
}

/** z = μ + σ·ε in training (ε ~ N(0, I) from `rng`), z = μ otherwise. */
export function sampleGaussian(mu: tf.Tensor2D, logVar: tf.Tensor2D, training: boolean, rng: Rng): tf.Tensor2D {
  if (!training) return mu;
  return tf.tidy(
    () => tf.add(mu, tf.mul(tf.exp(tf.mul(clampLogVar(logVar), 0.5)), normalTensor(rng, mu.shape, 1))) as tf.Tensor2D,
  );
}

/** KL(N(μ, σ²) ‖ N(0, I)) per row: ½ Σ (σ² + μ² − 1 − log σ²). */
export function klStandardNormal(mu: tf.Tensor2D, logVar: tf.Tensor2D): tf.Tensor1D {
  return tf.tidy(() => {
    const lv = clampLogVar(logVar);
    return tf.mul(tf.sum(tf.sub(tf.add(tf.exp(lv), tf.square(mu)), tf.add(lv, 1)), 1), 0.5) as tf.Tensor1D;
  });
}

/** KL(N(μq, σq²) ‖ N(μp, σp²)) per row: ½ Σ (log σp²/σq² + (σq² + (μq − μp)²)/σp² − 1). */
export function klGaussians(
  muQ: tf.Tensor2D,
  logVarQ: tf.Tensor2D,
  muP: tf.Tensor2D,
  logVarP: tf.Tensor2D,
): tf.Tensor1D {
  return tf.tidy(() => {
    const [lq, lp] = [clampLogVar(logVarQ), clampLogVar(logVarP)];
    const ratio = tf.div(tf.add(tf.exp(lq), tf.square(tf.sub(muQ, muP))), tf.exp(lp));
    return tf.mul(tf.sum(tf.sub(tf.add(tf.sub(lp, lq), ratio), 1), 1), 0.5) as tf.Tensor1D;
  });
}
