/**
 * MILLET's conjunctive pooling (Early, Cheung, Cutajar, Xie, Kandola & Twomey, Inherently
 * interpretable time series classification via multiple instance learning, ICLR 2024): every
 * instance gets an independent attention a_i = sigmoid(w·tanh(V h_i)) (d_attn 8) AND a prediction
 * ŷ_i = W(a_i·h_i); the bag logits are the mean of the ŷ_i. The attention gates, the instance
 * prediction decides the class: the "conjunction" of the two.
 * Defaults: d_attn 8, dropout 0.1 (MILLET's pooling defaults). MILLET's sinusoidal positional
 * encoding is for time steps; milkit's bags are sets, so it is left out (permutation invariant).
 * `attention` = a / Σ a; `instanceLogits` = ŷ (their mean is the bag logits).
 */
import * as tf from '@tensorflow/tfjs';
import { MilBase } from './base';
import { Dense } from './layers/dense';
import { checkRate, INSTANCE_ENCODER_DEFAULTS, type InstanceEncoderConfig, Mlp } from './layers/mlp';
import { tidyObject } from './layers/tidy';
import type { BaseModelConfig, ForwardOptions, MilOutput } from './types';

export interface MilletConfig extends BaseModelConfig, InstanceEncoderConfig {
  /** Hidden width of the attention head. */
  attentionDim: number;
}

export const MILLET_DEFAULTS: MilletConfig = { ...INSTANCE_ENCODER_DEFAULTS, dropout: 0.1, attentionDim: 8 };

export class Millet extends MilBase<MilletConfig> {
  private readonly encoder: Mlp;
  private readonly attentionHidden: Dense;
  private readonly attentionOut: Dense;
  private readonly classifier: Dense;

  constructor(config: MilletConfig) {
    super('millet', config);
    checkRate(this.name, 'dropout', config.dropout);
    if (!Number.isInteger(config.attentionDim) || config.attentionDim < 1)
      throw new Error(`${this.name}: attentionDim must be a positive integer, got ${config.attentionDim}`);
    this.encoder = new Mlp(this.params.scope('encoder'), config.inputDim, config.hidden);
    const e = this.encoder.outDim;
    this.attentionHidden = new Dense(this.params.scope('attention/V'), e, config.attentionDim, 'tanh');
    this.attentionOut = new Dense(this.params.scope('attention/w'), config.attentionDim, 1, 'sigmoid');
    this.classifier = new Dense(this.params.scope('classifier'), e, config.numClasses);
  }

  forward(bag: tf.Tensor2D, opts: ForwardOptions): MilOutput {
    this.checkBag(bag);
    return tidyObject(() => {
      const h = this.encoder.apply(bag, opts.training, this.config.dropout, this.params.dropoutRng);
      const a = this.attentionOut.apply(this.attentionHidden.apply(h)) as tf.Tensor2D; // [N, 1], in (0, 1)
      const gated = tf.mul(h, a);
      const instanceLogits = this.classifier.apply(gated) as tf.Tensor2D; // [N, C]
      return {
        logits: tf.mean(instanceLogits, 0) as tf.Tensor1D,
        embedding: tf.mean(gated, 0) as tf.Tensor1D,
        attention: tf.reshape(tf.div(a, tf.sum(a)), [-1]) as tf.Tensor1D,
        instanceLogits,
      };
    });
  }
}
