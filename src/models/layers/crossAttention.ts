/**
 * Multi-head cross-attention (queries attend over a set of key/value tokens), as used by
 * MHIM-MIL's Global Recycle Network: one LayerNorm shared by queries and tokens, to_q and to_kv
 * without bias, softmax(q·kᵀ/√d_head), attention dropout, then to_out (Linear + dropout).
 */
import * as tf from '@tensorflow/tfjs';
import { Dense } from './dense';
import { dropout } from './dropout';
import { matMulFast } from '../../backend/fastGradients';
import { LayerNorm } from './layerNorm';
import type { ParamScope } from './params';

export interface CrossAttentionOptions {
  dim: number;
  heads?: number;
  headDim?: number;
  /** Dropout on the attention weights and on the output (0.1 in MHIM's GRN). */
  dropout?: number;
  /** Apply one shared LayerNorm to queries and tokens first. */
  norm?: boolean;
}

export class MultiHeadCrossAttention {
  readonly heads: number;
  readonly headDim: number;
  private readonly toQ: Dense;
  private readonly toKV: Dense;
  private readonly toOut: Dense;
  private readonly norm?: LayerNorm;
  private readonly rate: number;

  constructor(
    private readonly scope: ParamScope,
    opts: CrossAttentionOptions,
  ) {
    this.heads = opts.heads ?? 8;
    this.headDim = opts.headDim ?? 64;
    const inner = this.heads * this.headDim;
    if (opts.norm ?? true) this.norm = new LayerNorm(scope.scope('norm'), opts.dim);
    this.toQ = new Dense(scope.scope('to_q'), opts.dim, inner, 'linear', false);
    this.toKV = new Dense(scope.scope('to_kv'), opts.dim, 2 * inner, 'linear', false);
    this.toOut = new Dense(scope.scope('to_out'), inner, opts.dim);
    this.rate = opts.dropout ?? 0.1;
  }

  /** queries `[K, dim]`, tokens `[M, dim]` → `[K, dim]`. */
  apply(queries: tf.Tensor2D, tokens: tf.Tensor2D, training: boolean): tf.Tensor2D {
    return tf.tidy(() => {
      const { heads: h, headDim: d } = this;
      const q0 = this.norm ? this.norm.apply(queries) : queries;
      const t0 = this.norm ? this.norm.apply(tokens) : tokens;
      const [k, m] = [queries.shape[0], tokens.shape[0]];
      const q = tf.transpose(tf.reshape(this.toQ.apply(q0), [k, h, d]), [1, 0, 2]); // [h, K, d]
      const kv = tf.transpose(tf.reshape(this.toKV.apply(t0), [m, 2, h, d]), [1, 2, 0, 3]); // [2, h, M, d]
      const [key, value] = tf.unstack(kv) as tf.Tensor3D[];
      const sim = tf.mul(matMulFast(q, key, false, true), 1 / Math.sqrt(d)); // [h, K, M]
      const attn = dropout(tf.softmax(sim), this.rate, training, this.scope.dropoutRng);
      const out = tf.reshape(tf.transpose(matMulFast(attn, value), [1, 0, 2]), [k, h * d]);
      return dropout(this.toOut.apply(out) as tf.Tensor2D, this.rate, training, this.scope.dropoutRng);
    });
  }
}
