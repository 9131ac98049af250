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
 * Loss: bag cross-entropy + `elboWeight` · negative ELBO in `auxLoss` (training only):
 * (Σ_i [½‖x_i − x̂_i‖² + KL(q(z_i) ‖ N(0, I))] + KL(q(z_B) ‖ N(0, I))) / (N·D), i.e. per instance
 * and input feature, so its scale does not depend on bag size or feature width. Samples use the
 * reparameterisation with noise from the model's seeded stream; evaluation uses the means.
 */
import * as tf from '@tensorflow/tfjs';
import { MilBase } from './base';
import { Dense } from './layers/dense';
import { klStandardNormal, sampleGaussian } from './layers/gaussian';
import { maxPoolingAttention, scoredClasses, toClassLogits } from './layers/instanceScores';
import { Decoder, GaussianHead, reconstructionError } from './layers/latent';
import { checkRate, INSTANCE_ENCODER_DEFAULTS, type InstanceEncoderConfig, Mlp } from './layers/mlp';
import { tidyObject } from './layers/tidy';
import { registerModel } from './registry';
import type { BaseModelConfig, ForwardOptions, MilOutput } from './types';

export interface MivaeConfig extends BaseModelConfig, InstanceEncoderConfig {
  /** Width of the instance-level latent z_i. */
  instanceLatentDim: number;
  /** Width of the bag-level latent z_B. */
  bagLatentDim: number;
  /** Weight of the negative ELBO (per instance and feature) next to the bag cross-entropy. */
  elboWeight: number;
}

export const MIVAE_DEFAULTS: MivaeConfig = { ...INSTANCE_ENCODER_DEFAULTS, instanceLatentDim: 32, bagLatentDim: 32, elboWeight: 1 };

export class Mivae extends MilBase<MivaeConfig> {
  private readonly encoder: Mlp;
  private readonly instanceLatent: GaussianHead;
  private readonly bagLatent: GaussianHead;
  private readonly decoder: Decoder;
  private readonly classifier: Dense;

  constructor(config: MivaeConfig) {
    super('mivae', config);
    checkLatent(this.name, config.dropout, config.elboWeight, [config.instanceLatentDim, config.bagLatentDim]);
    const p = this.params;
    this.encoder = new Mlp(p.scope('encoder'), config.inputDim, config.hidden);
    this.instanceLatent = new GaussianHead(p.scope('instance_latent'), this.encoder.outDim, config.instanceLatentDim);
    this.bagLatent = new GaussianHead(p.scope('bag_latent'), this.encoder.outDim, config.bagLatentDim);
    this.decoder = new Decoder(p.scope('decoder'), config.instanceLatentDim + config.bagLatentDim, [...config.hidden].reverse(), config.inputDim);
    this.classifier = new Dense(p.scope('classifier'), config.instanceLatentDim, scoredClasses(config.numClasses));
  }

  forward(bag: tf.Tensor2D, opts: ForwardOptions): MilOutput {
    this.checkBag(bag);
    return tidyObject(() => {
      const { training } = opts;
      const rng = this.params.dropoutRng;
      const h = this.encoder.apply(bag, training, this.config.dropout, rng);
      const zi = this.instanceLatent.apply(h);
      const zb = this.bagLatent.apply(tf.mean(h, 0, true) as tf.Tensor2D);
      const z = sampleGaussian(zi.mu, zi.logVar, training, rng);
      const scores = this.classifier.apply(z) as tf.Tensor2D;
      const instanceLogits = toClassLogits(scores, this.config.numClasses);
      const out: MilOutput = {
        logits: tf.max(instanceLogits, 0) as tf.Tensor1D,
        embedding: tf.concat([tf.reshape(zb.mu, [-1]), tf.mean(zi.mu, 0)]) as tf.Tensor1D,
        attention: maxPoolingAttention(scores),
        instanceLogits,
      };
      if (training && this.config.elboWeight > 0) {
        const [n, d] = bag.shape;
        const zBag = sampleGaussian(zb.mu, zb.logVar, true, rng);
        const xHat = this.decoder.apply(tf.concat([tf.tile(zBag, [n, 1]), z], 1) as tf.Tensor2D);
        const perInstance = tf.sum(tf.add(reconstructionError(bag, xHat), klStandardNormal(zi.mu, zi.logVar)));
        const elbo = tf.add(perInstance, tf.sum(klStandardNormal(zb.mu, zb.logVar)));
        out.auxLoss = tf.mul(elbo, this.config.elboWeight / (n * d)) as tf.Scalar;
      }
      return out;
    });
  }
}

/** Config checks shared by the variational models. */
export function checkLatent(model: string, dropout: number, weight: number, dims: number[]): void {
  checkRate(model, 'dropout', dropout);
  if (!(weight >= 0)) throw new Error(`${model}: the ELBO/KL weight must be ≥ 0, got ${weight}`);
  for (const d of dims) if (!Number.isInteger(d) || d < 1) throw new Error(`${model}: latent widths must be positive integers, got ${d}`);
}

declare module './registry' {
  interface ModelConfigMap {
    mivae: MivaeConfig;
  }
}

registerModel({
  name: 'mivae',
  description: 'MIVAE: VAE with a bag-level and an instance-level latent; instance classifier on the instance latent, max pooling',
  paper: 'Zhang, Non-I.I.D. Multi-Instance Learning for Predicting Instance and Bag Labels with Variational Auto-Encoder, IJCAI 2021',
  level: 'instance',
  defaults: MIVAE_DEFAULTS,
  create: (c) => new Mivae(c),
});
