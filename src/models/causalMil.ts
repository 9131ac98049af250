/**
 * CausalMIL (Zhang, Zhang, Deng & Zhang, Multi-instance causal representation learning for instance
 * label prediction and out-of-distribution generalization, NeurIPS 2022): an identifiable VAE whose
 * instance latent splits into CAUSAL factors z_c (which alone decide the instance label) and
 * NON-CAUSAL factors z_n (which only explain the features), with a prior conditioned on a bag
 * context u: p(z | u) = N(μ(u), σ²(u)). Encoder h_i = MLP(x_i); u = mean_i h_i; posterior
 * q(z_i | x_i, u) from [h_i, u]; decoder x̂_i = g([z_c, z_n]); instance logits from z_c; bag
 * logits = max over instances.
 * `attention` = softmax over the instances of their scores (the weights of the smooth max, see
 * `maxPoolingAttention`), so heatmaps and MHIM's attention masking work; `instanceLogits` = the scores.
 *
 * Loss: bag cross-entropy + `elboWeight` · (Σ_i ½‖x_i − x̂_i‖² + KL(q(z_i | x_i, u) ‖ p(z | u))) / (N·D)
 * in `auxLoss` (training only). milkit's context u is the bag's mean instance embedding, available
 * at test time too; the paper conditions the prior on bag-level information during training.
 */
import * as tf from '@tensorflow/tfjs';
import { MilBase } from './base';
import { Dense } from './layers/dense';
import { klGaussians, sampleGaussian } from './layers/gaussian';
import { maxPoolingAttention, scoredClasses, toClassLogits } from './layers/instanceScores';
import { Decoder, GaussianHead, reconstructionError } from './layers/latent';
import { INSTANCE_ENCODER_DEFAULTS, type InstanceEncoderConfig, Mlp } from './layers/mlp';
import { tidyObject } from './layers/tidy';
import { checkLatent } from './mivae';
import { registerModel } from './registry';
import type { BaseModelConfig, ForwardOptions, MilOutput } from './types';

export interface CausalMilConfig extends BaseModelConfig, InstanceEncoderConfig {
  /** Width of the causal latent z_c (the instance classifier's input). */
  causalDim: number;
  /** Width of the non-causal latent z_n. */
  nonCausalDim: number;
  /** Weight of the negative ELBO (per instance and feature). */
  elboWeight: number;
}

export const CAUSAL_MIL_DEFAULTS: CausalMilConfig = { ...INSTANCE_ENCODER_DEFAULTS, causalDim: 16, nonCausalDim: 16, elboWeight: 1 };

export class CausalMil extends MilBase<CausalMilConfig> {
  private readonly encoder: Mlp;
  private readonly posterior: GaussianHead;
  private readonly prior: GaussianHead;
  private readonly decoder: Decoder;
  private readonly classifier: Dense;

  constructor(config: CausalMilConfig) {
    super('causalmil', config);
    checkLatent(this.name, config.dropout, config.elboWeight, [config.causalDim, config.nonCausalDim]);
    const p = this.params;
    this.encoder = new Mlp(p.scope('encoder'), config.inputDim, config.hidden);
    const e = this.encoder.outDim;
    const latent = config.causalDim + config.nonCausalDim;
    this.posterior = new GaussianHead(p.scope('posterior'), 2 * e, latent);
    this.prior = new GaussianHead(p.scope('prior'), e, latent);
    this.decoder = new Decoder(p.scope('decoder'), latent, [...config.hidden].reverse(), config.inputDim);
    this.classifier = new Dense(p.scope('classifier'), config.causalDim, scoredClasses(config.numClasses));
  }

  forward(bag: tf.Tensor2D, opts: ForwardOptions): MilOutput {
    this.checkBag(bag);
    return tidyObject(() => {
      const { training } = opts;
      const rng = this.params.dropoutRng;
      const [n, d] = bag.shape;
      const h = this.encoder.apply(bag, training, this.config.dropout, rng);
      const u = tf.mean(h, 0, true) as tf.Tensor2D; // bag context [1, E]
      const q = this.posterior.apply(tf.concat([h, tf.tile(u, [n, 1])], 1) as tf.Tensor2D);
      const z = sampleGaussian(q.mu, q.logVar, training, rng);
      const zCausal = tf.slice(z, [0, 0], [n, this.config.causalDim]) as tf.Tensor2D;
      const scores = this.classifier.apply(zCausal) as tf.Tensor2D;
      const instanceLogits = toClassLogits(scores, this.config.numClasses);
      const out: MilOutput = {
        logits: tf.max(instanceLogits, 0) as tf.Tensor1D,
        embedding: tf.mean(tf.slice(q.mu, [0, 0], [n, this.config.causalDim]), 0) as tf.Tensor1D,
        attention: maxPoolingAttention(scores),
        instanceLogits,
      };
      if (training && this.config.elboWeight > 0) {
        const prior = this.prior.apply(u);
        const kl = klGaussians(q.mu, q.logVar, tf.tile(prior.mu, [n, 1]) as tf.Tensor2D, tf.tile(prior.logVar, [n, 1]) as tf.Tensor2D);
        const elbo = tf.sum(tf.add(reconstructionError(bag, this.decoder.apply(z)), kl));
        out.auxLoss = tf.mul(elbo, this.config.elboWeight / (n * d)) as tf.Scalar;
      }
      return out;
    });
  }
}

declare module './registry' {
  interface ModelConfigMap {
    causalmil: CausalMilConfig;
  }
}

registerModel({
  name: 'causalmil',
  description: 'CausalMIL: iVAE with causal / non-causal instance latents and a bag-context prior; instance classifier on the causal part, max pooling',
  paper: 'Zhang, Zhang, Deng & Zhang, Multi-Instance Causal Representation Learning for Instance Label Prediction and Out-of-Distribution Generalization, NeurIPS 2022',
  level: 'instance',
  defaults: CAUSAL_MIL_DEFAULTS,
  create: (c) => new CausalMil(c),
});
