/**
 * Additive MIL (Javed et al., Additive MIL: intrinsically interpretable multiple instance learning
 * for pathology, NeurIPS 2022): attention weights a = softmax_N(attention(h)) scale each projected
 * instance, an MLP ψ maps each scaled instance to class contributions c_i = ψ(a_i·h_i), and the bag
 * logits are their SUM, so every instance's share of the decision is exact (`instanceLogits` = c,
 * `attention` = a). Projection and attention are AB-MIL's (projection 1024→512 + GELU + dropout
 * 0.25, tanh attention 128; the MHIM hooks `embedInstances`/`aggregate` come with it).
 * ψ has no biases: ψ(0) = 0, so an instance with zero attention contributes exactly nothing and the
 * sum does not grow with the bag size (with biases, N·ψ(0) would).
 */
import * as tf from '@tensorflow/tfjs';
import { PROJECTED_DEFAULTS, ProjectedMil, type ProjectionConfig } from './base';
import { AttentionScorer, softmaxOverInstances } from './layers/attention';
import { Dense } from './layers/dense';
import { tidyObject } from './layers/tidy';
import type { BaseModelConfig, ForwardOptions, InstanceEncoder, MilOutput } from './types';

export interface AdditiveMilConfig extends BaseModelConfig, ProjectionConfig {
  /** Hidden width of the tanh attention scorer. */
  attentionDim: number;
  /** Hidden widths of the contribution MLP ψ (ReLU, no biases). */
  hidden: number[];
}

export const ADDITIVE_MIL_DEFAULTS: AdditiveMilConfig = { ...PROJECTED_DEFAULTS, attentionDim: 128, hidden: [256] };

export class AdditiveMil extends ProjectedMil<AdditiveMilConfig> {
  private readonly scorer: AttentionScorer;
  private readonly psi: Dense[];

  constructor(config: AdditiveMilConfig, encoder?: InstanceEncoder) {
    super('additive-mil', config, encoder);
    if (!(config.dropout >= 0 && config.dropout < 1))
      throw new Error(`additive-mil: dropout must be in [0, 1), got ${config.dropout}`);
    if (!config.hidden.every((w) => Number.isInteger(w) && w > 0))
      throw new Error(`additive-mil: hidden widths must be positive integers, got [${config.hidden.join(', ')}]`);
    this.scorer = new AttentionScorer(this.params.scope('attention'), {
      kind: 'tanh',
      inDim: config.embedDim,
      hiddenDim: config.attentionDim,
    });
    const dims = [config.embedDim, ...config.hidden, config.numClasses];
    this.psi = dims
      .slice(1)
      .map(
        (w, i) =>
          new Dense(this.params.scope(`contribution/${i}`), dims[i], w, i < dims.length - 2 ? 'relu' : 'linear', false),
      );
  }

  aggregate(h: tf.Tensor2D, opts: ForwardOptions): MilOutput {
    return tidyObject(() => {
      const a = softmaxOverInstances(this.scorer.scores(h, opts.training)); // [1, N]
      const scaled = tf.mul(h, tf.reshape(a, [-1, 1])) as tf.Tensor2D;
      const contributions = this.psi.reduce((x, layer) => layer.apply(x) as tf.Tensor2D, scaled); // [N, C]
      const out: MilOutput = {
        logits: tf.sum(contributions, 0) as tf.Tensor1D,
        embedding: tf.sum(scaled, 0) as tf.Tensor1D,
        attention: tf.reshape(a, [-1]) as tf.Tensor1D,
        instanceLogits: contributions,
      };
      return out;
    });
  }
}
