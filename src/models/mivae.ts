/**
 * MIVAE (Zhang, Non-I.I.D. multi-instance learning for predicting instance and bag labels with
 * variational auto-encoder, IJCAI 2021): each instance is generated from a BAG-level latent z_B,
 * shared by the bag's instances (what makes them non-i.i.d.), and its own INSTANCE-level latent z_i;
 * the instance label depends on z_i only. Encoder: h_i = MLP(x_i); q(z_i | x_i) from h_i and
 * q(z_B | X) from the mean of h over the bag; decoder x̂_i = g([z_B, z_i]); the instance classifier
 * reads z_i and the bag logits are the max over the instances (the standard MIL assumption).
 * `attention` = softmax over the instances of their scores (the weights of the smooth max, see
 * `maxPoolingAttention`), so heatmaps and MHIM's attention masking work; `instanceLogits` = the scores.
 *
 * Loss: bag cross-entropy + `elboWeight` · negative ELBO in `auxLosses.elbo` (training only):
 * (Σ_i [½‖x_i − x̂_i‖² + KL(q(z_i) ‖ N(0, I))] + KL(q(z_B) ‖ N(0, I))) / (N·D), i.e. per instance
 * and input feature, so its scale does not depend on bag size or feature width. Samples use the
 * reparameterisation with noise from the model's seeded stream; evaluation uses the means.
 */
import * as tf from '@tensorflow/tfjs';
import { MilBase } from './base';
import { klStandardNormal, sampleGaussian } from './layers/gaussian';
import { maxPooledOutput } from './layers/instanceMlp';
import { checkLatent, InstanceVae, scaledElbo } from './layers/instanceVae';
import { GaussianHead, reconstructionError } from './layers/latent';
import { INSTANCE_ENCODER_DEFAULTS, type InstanceEncoderConfig } from './layers/mlp';
import { tidyObject } from './layers/tidy';
import type { BaseModelConfig, ForwardOptions, MilOutput } from './types';

export interface MivaeConfig extends BaseModelConfig, InstanceEncoderConfig {
  /** Width of the instance-level latent z_i. */
  instanceLatentDim: number;
  /** Width of the bag-level latent z_B. */
  bagLatentDim: number;
  /** Weight of the negative ELBO (per instance and feature) next to the bag cross-entropy. */
  elboWeight: number;
}

export const MIVAE_DEFAULTS: MivaeConfig = {
  ...INSTANCE_ENCODER_DEFAULTS,
  instanceLatentDim: 32,
  bagLatentDim: 32,
  elboWeight: 1,
};

export class Mivae extends MilBase<MivaeConfig> {
  private readonly vae: InstanceVae<{ instance: GaussianHead; bag: GaussianHead }>;

  constructor(config: MivaeConfig) {
    super('mivae', config);
    const { instanceLatentDim: zi, bagLatentDim: zb } = config;
    checkLatent(this.name, config.dropout, config.elboWeight, [zi, zb]);
    const p = this.params;
    this.vae = new InstanceVae(p, config, { latentDim: zi + zb, scoredDim: zi }, (e) => ({
      instance: new GaussianHead(p.scope('instance_latent'), e, zi),
      bag: new GaussianHead(p.scope('bag_latent'), e, zb),
    }));
  }

  forward(bag: tf.Tensor2D, opts: ForwardOptions): MilOutput {
    this.checkBag(bag);
    return tidyObject(() => {
      const { training } = opts;
      const rng = this.params.dropoutRng;
      const { heads, decoder, scorer } = this.vae;
      const h = this.vae.encode(bag, training, this.config.dropout);
      const zi = heads.instance.apply(h);
      const zb = heads.bag.apply(tf.mean(h, 0, true) as tf.Tensor2D);
      const z = sampleGaussian(zi.mu, zi.logVar, training, rng);
      const scores = scorer.apply(z) as tf.Tensor2D;
      const out = maxPooledOutput(
        scores,
        this.config.numClasses,
        tf.concat([tf.reshape(zb.mu, [-1]), tf.mean(zi.mu, 0)]) as tf.Tensor1D,
      );
      if (training && this.config.elboWeight > 0) {
        const zBag = sampleGaussian(zb.mu, zb.logVar, true, rng);
        const xHat = decoder.apply(tf.concat([tf.tile(zBag, [bag.shape[0], 1]), z], 1) as tf.Tensor2D);
        const perInstance = tf.sum(tf.add(reconstructionError(bag, xHat), klStandardNormal(zi.mu, zi.logVar)));
        const elbo = tf.add(perInstance, tf.sum(klStandardNormal(zb.mu, zb.logVar)));
        out.auxLosses = { elbo: scaledElbo(elbo, this.config.elboWeight, bag) };
      }
      return out;
    });
  }
}
