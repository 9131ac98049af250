/**
 * Power pooling (Liu et al., Power pooling: an adaptive pooling function for weakly labelled sound
 * event detection, IJCNN 2021): the bag probability is the instance probabilities' average weighted
 * by their own power, P_c = Σ_i p_ic^{n_c+1} / Σ_i p_ic^{n_c}, with a learnable n_c ≥ 0 per class
 * (n = 0 mean, 1 linear softmax, → ∞ max). Computed stably as P = Σ_i w_i p_i with
 * w = softmax_i(n·log p_i); n = softplus(ν) keeps it non-negative. `attention` = w.
 */
import * as tf from '@tensorflow/tfjs';
import { MilBase } from './base';
import { InstanceMlp } from './layers/instanceMlp';
import { attentionFrom, classMajor, logSigmoid, logitsFromLogProb, toClassLogits } from './layers/instanceScores';
import { INSTANCE_ENCODER_DEFAULTS, type InstanceEncoderConfig } from './layers/mlp';
import { tidyObject } from './layers/tidy';
import type { BaseModelConfig, ForwardOptions, MilOutput } from './types';

export interface PowerPoolingConfig extends BaseModelConfig, InstanceEncoderConfig {
  /**
   * Initial power n (> 0), the same for every class (1: linear-softmax pooling). Default 3 (milkit's
   * choice; we found no initial value in the paper): from n = 1 MNIST-bags (100 bags) reached test
   * AUC 0.72, from 3 0.88 in the same short run.
   */
  initialPower: number;
}

export const POWER_POOLING_DEFAULTS: PowerPoolingConfig = { ...INSTANCE_ENCODER_DEFAULTS, initialPower: 3 };

export class PowerPooling extends MilBase<PowerPoolingConfig> {
  private readonly net: InstanceMlp;
  /** ν, with n = softplus(ν). */
  private readonly power: tf.Variable;

  constructor(config: PowerPoolingConfig) {
    super('power-pooling', config);
    if (!(config.initialPower > 0))
      throw new Error(`${this.name}: initialPower must be > 0, got ${config.initialPower}`);
    this.net = InstanceMlp.instanceScores(this.params, this.name, config);
    const k = this.net.head.outDim;
    // softplus⁻¹(n) = log(exp(n) − 1)
    this.power = this.params.add('pooling/power', tf.fill([k], Math.log(Math.expm1(config.initialPower))));
  }

  forward(bag: tf.Tensor2D, opts: ForwardOptions): MilOutput {
    this.checkBag(bag);
    return tidyObject(() => {
      const h = this.net.embed(bag, opts.training);
      const s = this.net.score(h);
      const logP = classMajor(logSigmoid(s) as tf.Tensor2D); // [K, N]
      const n = tf.reshape(tf.softplus(this.power), [-1, 1]);
      const w = tf.softmax(tf.mul(logP, n)) as tf.Tensor2D; // [K, N]
      const pooled = tf.log(tf.add(tf.sum(tf.mul(w, tf.exp(logP)), 1), 1e-12)) as tf.Tensor1D;
      const c = this.config.numClasses;
      return {
        logits: logitsFromLogProb(pooled, c),
        embedding: tf.mean(h, 0) as tf.Tensor1D,
        attention: attentionFrom(w),
        instanceLogits: toClassLogits(s, c),
      };
    });
  }

  /** The learned powers n_c. */
  powers(): number[] {
    return Array.from(tf.tidy(() => tf.softplus(this.power)).dataSync());
  }
}
