/**
 * FocusMIL (Liu, Zhang, Tang, Le, Li, Liu & Zhang, From correlation to causation: max-pooling-based
 * multi-instance learning leads to more robust whole slide image classification, arXiv 2408.09449,
 * 2024): max pooling with an instance-level variational information bottleneck; instances are encoded to a Gaussian
 * latent z_i ~ q(z | x_i) = N(μ_i, σ_i²)
 * whose KL to N(0, I) is penalised (an information bottleneck that discourages shortcut features),
 * an instance classifier scores z_i, and the bag takes the MAX instance score.
 * `attention` = softmax over the instances of their scores (the weights of the smooth max, see
 * `maxPoolingAttention`), so heatmaps and MHIM's attention masking work; `instanceLogits` = the scores.
 *
 * Loss: bag cross-entropy + `klWeight` · mean_i KL(q(z_i) ‖ N(0, I)) in `auxLosses.kl` (training only).
 * Multi-bag mini-batches: FocusMIL averages the loss over B bags per optimiser step. milkit's
 * trainer feeds one bag per forward; `accumulate: B` (CLI `--accumulate B`) averages the gradients
 * of B consecutive bags before the step, which is the same update, because the model has no
 * batch-coupled layers (no batch norm): ∇ mean_b L_b = mean_b ∇L_b.
 */
import * as tf from '@tensorflow/tfjs';
import { MilBase } from './base';
import { Dense } from './layers/dense';
import { klStandardNormal, sampleGaussian } from './layers/gaussian';
import { instanceScorer, maxPooledOutput } from './layers/instanceMlp';
import { GaussianHead } from './layers/latent';
import { INSTANCE_ENCODER_DEFAULTS, type InstanceEncoderConfig, Mlp } from './layers/mlp';
import { checkLatent } from './layers/instanceVae';
import { tidyObject } from './layers/tidy';
import type { BaseModelConfig, ForwardOptions, MilOutput } from './types';

export interface FocusMilConfig extends BaseModelConfig, InstanceEncoderConfig {
  /** Width of the instance latent. */
  latentDim: number;
  /** Weight β of the KL term. */
  klWeight: number;
}

export const FOCUS_MIL_DEFAULTS: FocusMilConfig = { ...INSTANCE_ENCODER_DEFAULTS, latentDim: 64, klWeight: 1e-3 };

export class FocusMil extends MilBase<FocusMilConfig> {
  private readonly encoder: Mlp;
  private readonly latent: GaussianHead;
  private readonly classifier: Dense;

  constructor(config: FocusMilConfig) {
    super('focusmil', config);
    checkLatent(this.name, config.dropout, config.klWeight, [config.latentDim]);
    this.encoder = new Mlp(this.params.scope('encoder'), config.inputDim, config.hidden);
    this.latent = new GaussianHead(this.params.scope('latent'), this.encoder.outDim, config.latentDim);
    this.classifier = instanceScorer(this.params, config.latentDim, config.numClasses);
  }

  forward(bag: tf.Tensor2D, opts: ForwardOptions): MilOutput {
    this.checkBag(bag);
    return tidyObject(() => {
      const rng = this.params.dropoutRng;
      const h = this.encoder.apply(bag, opts.training, this.config.dropout, rng);
      const { mu, logVar } = this.latent.apply(h);
      const z = sampleGaussian(mu, logVar, opts.training, rng);
      const out = maxPooledOutput(
        this.classifier.apply(z) as tf.Tensor2D,
        this.config.numClasses,
        tf.mean(mu, 0) as tf.Tensor1D,
      );
      if (opts.training && this.config.klWeight > 0)
        out.auxLosses = { kl: tf.mul(tf.mean(klStandardNormal(mu, logVar)), this.config.klWeight) as tf.Scalar };
      return out;
    });
  }
}
