/**
 * Global Recycle Network (MHIM-v2, `merge.py`): K global queries summarise, by multi-head
 * cross-attention, the kept instances that were randomly dropped from the student, and the K
 * resulting tokens are appended to the student's input. The queries are not trained by gradients:
 * after each step they move towards the tokens by EMA, Q ← m·Q + (1 − m)·G, so they accumulate
 * hard-instance information across bags. The attention weights (shared LayerNorm, to_q, to_kv,
 * to_out) are trained normally.
 */
import * as tf from '@tensorflow/tfjs';
import { MultiHeadCrossAttention } from '../models/layers/crossAttention';
import { ParamStore, uniformTensor } from '../models/layers/params';
import { emaUpdate } from './ema';

export interface GrnConfig {
  /** K global queries (`--merge_k`; README grid 1 / 5 / 10). */
  numQueries: number;
  /**
   * Fraction of the kept instances the student encodes directly; the rest are recycled (`--merge_ratio`, grid 0.8 /
   * 0.9).
   */
  keepFraction: number;
  /** EMA momentum of the queries (`--merge_mm`, 0.9999 in the README). */
  queryMomentum: number;
  /** Attention heads × head width (8 × 64 in the code). */
  heads: number;
  headDim: number;
  /** Attention and output dropout (0.1). */
  dropout: number;
  /**
   * Feed the student kept instances in bag order instead of the code's shuffled order (matters for TransMIL's PPEG).
   */
  keepOrder: boolean;
}

export const DEFAULT_GRN: Readonly<GrnConfig> = {
  numQueries: 5,
  keepFraction: 0.8,
  queryMomentum: 0.9999,
  heads: 8,
  headDim: 64,
  dropout: 0.1,
  keepOrder: false,
};

/** VPT-style query init bound √(6 / (3·16² + 512)) ≈ 0.0685, as the code (fixed, whatever the width). */
export const QUERY_INIT_BOUND = Math.sqrt(6 / (3 * 256 + 512));

export class GlobalRecycleNetwork {
  readonly store: ParamStore;
  /** `[K, dim]`, non-trainable, updated only by `updateQueries`. */
  readonly queries: tf.Variable;
  private readonly attention: MultiHeadCrossAttention;

  constructor(
    readonly dim: number,
    readonly config: GrnConfig,
    seed = 0,
  ) {
    this.store = new ParamStore(seed);
    const s = this.store.scope('grn');
    this.queries = s.add(
      'queries',
      uniformTensor(s.rng, [config.numQueries, dim], -QUERY_INIT_BOUND, QUERY_INIT_BOUND),
      false,
    );
    this.attention = new MultiHeadCrossAttention(s.scope('attention'), {
      dim,
      heads: config.heads,
      headDim: config.headDim,
      dropout: config.dropout,
      norm: true,
    });
  }

  /**
   * Recycled instances `[M, dim]` (M ≥ 1) → global tokens `[K, dim]` (differentiable w.r.t. the
   * attention and the instances). In training the queries then move towards the tokens by EMA, in
   * this forward, as the code's `Merge.merge` does: the next bag's forward sees the moved queries,
   * also while gradients accumulate. (The code writes the queries in place before its backward, so
   * its LayerNorm gradient reads the moved queries; here the gradient uses the queries the forward
   * used, the clean value, which differs from the code's by ~1e-5 relative on the norm's γ.)
   */
  tokens(recycled: tf.Tensor2D, training: boolean): tf.Tensor2D {
    const g = this.attention.apply(this.queries as unknown as tf.Tensor2D, recycled, training);
    if (training) this.updateQueries(g);
    return g;
  }

  /** Q ← m·Q + (1 − m)·G with G treated as a constant. */
  updateQueries(tokens: tf.Tensor2D): void {
    emaUpdate([this.queries], [tokens], this.config.queryMomentum);
  }

  trainableVariables(): tf.Variable[] {
    return this.store.trainable();
  }

  variables(): tf.Variable[] {
    return this.store.all();
  }

  dispose(): void {
    this.store.dispose();
  }
}
