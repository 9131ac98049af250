/**
 * Loss-based attention (Shi, Xing, Xie, Zhang, Cui & Yang, AAAI 2020; code github.com/xsshi2015/Loss-Attention).
 * Idea: the attention weights come from the classifier itself: each instance's weight is the
 * softmax over the bag of the log-sum-exp of its class logits (the normaliser of the
 * softmax + cross-entropy loss), with the SAME fully connected layer predicting instances and the bag.
 *
 * h = MLP(x); z_i = W h_i + b (instance logits); α = softmax_N(logsumexp_c z_i);
 * bag logits = W(Σ α_i h_i) + b. Training adds the paper's fused instance loss
 * λ·Σ_i α_i·CE(z_i, y) (every instance takes the bag label, weighted by its attention), which
 * pushes the positive bags' recall. The paper's third term, a consistency cost between the
 * predictions of successive epochs (temporal ensembling), is not included.
 */
import * as tf from '@tensorflow/tfjs';
import { MilBase } from './base';
import { InstanceMlp } from './layers/instanceMlp';
import { tidyObject } from './layers/tidy';
import type { BaseModelConfig, ForwardOptions, MilOutput } from './types';

export interface LossAttentionConfig extends BaseModelConfig {
  /** Widths of the instance MLP (the MUSK networks of mi-/MI-Net: 256-128-64). */
  hidden: number[];
  dropout: number;
  /** Weight λ of the fused instance loss (added only with a class target). */
  instanceLossWeight: number;
  /**
   * How the weighted instance losses α_i·CE_i are combined: 'sum' (the paper's formula) or 'mean'
   * over the N instances, as the authors' code does (`weight_loss.CrossEntropyLoss(aggregate='mean')`,
   * with λ = 2), which makes the term λ/N · Σ α_i·CE_i.
   */
  instanceLossReduction: 'sum' | 'mean';
}

export const LOSS_ATTENTION_DEFAULTS: LossAttentionConfig = {
  inputDim: 1024,
  numClasses: 2,
  seed: 0,
  hidden: [256, 128, 64],
  dropout: 0.5,
  instanceLossWeight: 1,
  instanceLossReduction: 'sum',
};

export class LossAttention extends MilBase<LossAttentionConfig> {
  private readonly net: InstanceMlp;

  constructor(config: LossAttentionConfig) {
    super('loss-attention', config);
    if (!(config.instanceLossWeight >= 0))
      throw new Error(`loss-attention: instanceLossWeight must be ≥ 0, got ${config.instanceLossWeight}`);
    if (config.instanceLossReduction !== 'sum' && config.instanceLossReduction !== 'mean')
      throw new Error(`loss-attention: instanceLossReduction must be sum or mean, got ${config.instanceLossReduction}`);
    this.net = InstanceMlp.classLogits(this.params, this.name, config);
  }

  forward(bag: tf.Tensor2D, opts: ForwardOptions): MilOutput {
    this.checkBag(bag);
    return tidyObject(() => {
      const h = this.net.embed(bag, opts.training);
      const z = this.net.score(h); // [N, C]
      const alpha = tf.softmax(tf.reshape(tf.logSumExp(z, 1), [1, -1])) as tf.Tensor2D; // [1, N]
      const pooled = tf.matMul(alpha, h) as tf.Tensor2D;
      const out: MilOutput = {
        logits: tf.reshape(this.net.score(pooled), [-1]) as tf.Tensor1D,
        embedding: tf.reshape(pooled, [-1]) as tf.Tensor1D,
        attention: tf.reshape(alpha, [-1]) as tf.Tensor1D,
        instanceLogits: z,
      };
      const t = opts.target;
      if (opts.training && t?.kind === 'class' && this.config.instanceLossWeight > 0) {
        const ce = tf.neg(tf.slice(tf.logSoftmax(z), [0, t.label], [-1, 1])); // [N, 1]
        const n = this.config.instanceLossReduction === 'mean' ? z.shape[0] : 1;
        const weight = this.config.instanceLossWeight / n;
        out.auxLosses = { instance: tf.mul(tf.sum(tf.matMul(alpha, ce)), weight) as tf.Scalar };
      }
      return out;
    });
  }

  classify(z: tf.Tensor2D): tf.Tensor2D {
    return this.net.score(z);
  }
}
