/**
 * Attention scorers of attention-based MIL (Ilse et al. 2018) and their variants.
 *
 * - `tanh`:  a = w·tanh(V h + b) + c                          (AB-MIL, with biases)
 * - `gated`: a = w·(tanh(V h) ⊙ sigmoid(U h))                 (gated AB-MIL / CLAM, dropout on both branches)
 * - `relu`:  a = w·relu(V h), no biases                       (the AB-MIL inside MHIM-MIL)
 *
 * `scores` returns raw scores `[N, K]` (K attention branches, e.g. one per class in CLAM-MB);
 * `softmaxOverInstances` turns them into weights `[K, N]` that sum to 1 over the bag.
 */
import * as tf from '@tensorflow/tfjs';
import { Dense } from './dense';
import { dropout } from './dropout';
import type { ParamScope } from './params';

export type AttentionKind = 'tanh' | 'gated' | 'relu';

export interface AttentionScorerOptions {
  kind: AttentionKind;
  inDim: number;
  hiddenDim: number;
  /** Number of attention branches K. */
  branches?: number;
  /** Dropout on the hidden activations (both branches when gated). */
  dropout?: number;
}

export class AttentionScorer {
  private readonly v: Dense;
  private readonly u?: Dense;
  private readonly w: Dense;
  private readonly rate: number;

  constructor(
    private readonly scope: ParamScope,
    readonly opts: AttentionScorerOptions,
  ) {
    const { kind, inDim, hiddenDim } = opts;
    const bias = kind !== 'relu';
    this.v = new Dense(scope.scope('V'), inDim, hiddenDim, kind === 'relu' ? 'relu' : 'tanh', bias);
    if (kind === 'gated') this.u = new Dense(scope.scope('U'), inDim, hiddenDim, 'sigmoid', bias);
    this.w = new Dense(scope.scope('w'), hiddenDim, opts.branches ?? 1, 'linear', bias);
    this.rate = opts.dropout ?? 0;
  }

  /** Raw attention scores `[N, K]`. */
  scores(h: tf.Tensor2D, training: boolean): tf.Tensor2D {
    return tf.tidy(() => {
      let a = dropout(this.v.apply(h), this.rate, training, this.scope.dropoutRng);
      if (this.u) a = tf.mul(a, dropout(this.u.apply(h), this.rate, training, this.scope.dropoutRng));
      return this.w.apply(a) as tf.Tensor2D;
    });
  }
}

/** `[N, K]` raw scores → `[K, N]` weights, softmax over the N instances. */
export function softmaxOverInstances(scores: tf.Tensor2D): tf.Tensor2D {
  return tf.tidy(() => {
    const k = scores.shape[1];
    // For K = 1 a reshape is free; a transpose would copy.
    const kn = k === 1 ? tf.reshape(scores, [1, -1]) : tf.transpose(scores);
    return tf.softmax(kn) as tf.Tensor2D;
  });
}
