/**
 * Easy-instance assessment: the per-instance score that MHIM masks by (higher = more salient).
 * - v1 'attention': the model's normalised attention weights.
 * - v2 'class-aware': s_i = max_c softmax_c(W·f_i), f_i the instance's term of the pooled bag
 *   feature (AB-MIL: a_i·h_i). The code adds b_pred[0] to every class, which cancels in the
 *   softmax, so the bias is removed: W·f = classify(f) − classify(0).
 */
import * as tf from '@tensorflow/tfjs';
import { type MilModel, type MilOutput, hasClassifier } from '../models/types';

export type ScoreKind = 'attention' | 'class-aware';

/** Instance scores `[N]` from a forward output run with `returnInstanceFeatures` (call inside tf.tidy). */
export function instanceScores(out: MilOutput, kind: ScoreKind, model: MilModel): tf.Tensor1D {
  if (kind === 'class-aware') {
    if (!out.instanceFeatures || !hasClassifier(model))
      throw new Error(`class-aware scores: model "${model.name}" gave no instance features or has no classifier`);
    return classAwareScores(out.instanceFeatures, (z) => model.classify(z));
  }
  if (!out.attention) {
    throw new Error(
      `MHIM needs instance scores, but model "${model.name}" returns no attention (use an attention-based model)`,
    );
  }
  return out.attention;
}

/** max_c softmax_c(W·f_i) for F `[N, E]`, given the affine classifier `classify` → `[N]`. */
export function classAwareScores(features: tf.Tensor2D, classify: (z: tf.Tensor2D) => tf.Tensor2D): tf.Tensor1D {
  return tf.tidy(() => {
    const bias = classify(tf.zeros([1, features.shape[1]]));
    return tf.max(tf.softmax(tf.sub(classify(features), bias)), 1) as tf.Tensor1D;
  });
}
