/**
 * SA-AbMILP: self-attention before attention-based MIL pooling (Rymarczyk, Borowa, Tabor &
 * Zieliński, WACV 2021, "Kernel Self-Attention for Weakly-supervised Image Classification using
 * Deep Multiple Instance Learning").
 * Idea: let instances exchange information (self-attention with a residual weight γ that starts
 * at 0) before AB-MIL pools them, so dependencies inside the bag can count.
 *
 * h = dropout(act(W x)); f = W_f h, g = W_g h (width E/8), v = W_v h;
 * β_ij = softmax_j k(f_i, g_j); o = γ·β·v + h; then AB-MIL (tanh attention 128) on o.
 * Kernels (config `kernel`): 'dot' f·g (the original SA), 'rbf' exp(−α|f−g|²),
 * 'inverse-quadratic' 1/(α|f−g|² + 1), 'laplace' exp(−α|f−g|), 'module' |f−g|^α − |f|^α − |g|^α.
 * Big bags run the [N, N] kernel in row blocks (see layers/pairwise.ts).
 */
import * as tf from '@tensorflow/tfjs';
import { PROJECTED_DEFAULTS, ProjectedMil, type ProjectionConfig } from './base';
import { AttentionScorer, softmaxOverInstances } from './layers/attention';
import { Dense } from './layers/dense';
import { inRowBlocks, rows, squaredDistances } from './layers/pairwise';
import { matMulFast } from '../backend/fastGradients';
import { tidyObject } from './layers/tidy';
import type { BaseModelConfig, ForwardOptions, InstanceEncoder, MilOutput } from './types';

export const SELF_ATTENTION_KERNELS = ['dot', 'rbf', 'inverse-quadratic', 'laplace', 'module'] as const;
export type SelfAttentionKernel = (typeof SELF_ATTENTION_KERNELS)[number];

export interface SaAbmilpConfig extends BaseModelConfig, ProjectionConfig {
  kernel: SelfAttentionKernel;
  /** Kernel parameter α (width of rbf/laplace/inverse-quadratic, exponent of module ∈ (0, 2]). */
  kernelAlpha: number;
  /** Width of the AB-MIL attention scorer after self-attention (128). */
  attentionDim: number;
}

export const SA_ABMILP_DEFAULTS: SaAbmilpConfig = {
  ...PROJECTED_DEFAULTS,
  kernel: 'dot',
  kernelAlpha: 1,
  attentionDim: 128,
};

/** Kernel matrix `[M, N]` between query rows f `[M, d]` and key rows g `[N, d]`. */
export function kernelMatrix(f: tf.Tensor2D, g: tf.Tensor2D, kernel: SelfAttentionKernel, alpha: number): tf.Tensor2D {
  return tf.tidy(() => {
    if (kernel === 'dot') return matMulFast(f, g, false, true);
    const d2 = squaredDistances(f, g);
    switch (kernel) {
      case 'rbf':
        return tf.exp(tf.mul(d2, -alpha)) as tf.Tensor2D;
      case 'inverse-quadratic':
        return tf.reciprocal(tf.add(tf.mul(d2, alpha), 1)) as tf.Tensor2D;
      case 'laplace':
        return tf.exp(tf.mul(tf.sqrt(tf.add(d2, 1e-12)), -alpha)) as tf.Tensor2D;
      case 'module': {
        // |x|^α = (|x|² + ε)^(α/2): ε keeps the gradient finite at 0.
        const pow = (sq: tf.Tensor) => tf.pow(tf.add(sq, 1e-12), alpha / 2);
        const ff = pow(tf.sum(tf.square(f), 1, true));
        const gg = pow(tf.reshape(tf.sum(tf.square(g), 1), [1, -1]));
        return tf.sub(tf.sub(pow(d2), ff), gg) as tf.Tensor2D;
      }
    }
  });
}

export class SaAbmilp extends ProjectedMil<SaAbmilpConfig> {
  private readonly f: Dense;
  private readonly g: Dense;
  private readonly v: Dense;
  private readonly gamma: tf.Variable;
  private readonly scorer: AttentionScorer;
  private readonly classifier: Dense;

  constructor(config: SaAbmilpConfig, encoder?: InstanceEncoder) {
    super('sa-abmilp', config, encoder);
    if (!SELF_ATTENTION_KERNELS.includes(config.kernel))
      throw new Error(`sa-abmilp: kernel must be one of ${SELF_ATTENTION_KERNELS.join(', ')}, got "${config.kernel}"`);
    if (!(config.kernelAlpha > 0)) throw new Error(`sa-abmilp: kernelAlpha must be > 0, got ${config.kernelAlpha}`);
    const e = config.embedDim;
    const small = Math.max(1, Math.floor(e / 8));
    const p = this.params;
    this.f = new Dense(p.scope('self_attention/f'), e, small);
    this.g = new Dense(p.scope('self_attention/g'), e, small);
    this.v = new Dense(p.scope('self_attention/v'), e, e);
    this.gamma = p.add('self_attention/gamma', tf.zeros([1]));
    this.scorer = new AttentionScorer(p.scope('attention'), { kind: 'tanh', inDim: e, hiddenDim: config.attentionDim });
    this.classifier = new Dense(p.scope('classifier'), e, config.numClasses);
  }

  aggregate(h: tf.Tensor2D, opts: ForwardOptions): MilOutput {
    return tidyObject(() => {
      const n = h.shape[0];
      const [f, g, v] = [this.f, this.g, this.v].map((l) => l.apply(h) as tf.Tensor2D);
      const { kernel, kernelAlpha } = this.config;
      const mixed = inRowBlocks(n, (s, m) =>
        tf.matMul(tf.softmax(kernelMatrix(rows(f, s, m), g, kernel, kernelAlpha)), v),
      ) as tf.Tensor2D;
      const o = tf.add(tf.mul(mixed, this.gamma), h) as tf.Tensor2D;
      const a = softmaxOverInstances(this.scorer.scores(o, opts.training)); // [1, N]
      const z = tf.matMul(a, o);
      const out: MilOutput = {
        logits: tf.reshape(this.classifier.apply(z), [-1]) as tf.Tensor1D,
        embedding: tf.reshape(z, [-1]) as tf.Tensor1D,
        attention: tf.reshape(a, [-1]) as tf.Tensor1D,
      };
      if (opts.returnInstanceFeatures) out.instanceFeatures = tf.mul(o, tf.reshape(a, [-1, 1])) as tf.Tensor2D;
      return out;
    });
  }

  classify(z: tf.Tensor2D): tf.Tensor2D {
    return this.classifier.apply(z) as tf.Tensor2D;
  }
}
