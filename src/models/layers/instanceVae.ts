/**
 * The skeleton the VAE instance models share (MIVAE, CausalMIL): an instance encoder MLP, model-
 * specific Gaussian heads on its output, a decoder mirroring the encoder back to the input features,
 * and the linear instance scorer on (part of) the latent. Parts are created in that order, the
 * order the models' seeded weights were drawn in, under the names 'encoder', 'decoder', 'classifier'.
 */
import * as tf from '@tensorflow/tfjs';
import type { Dense } from './dense';
import { instanceScorer } from './instanceMlp';
import { Decoder } from './latent';
import { checkRate, Mlp } from './mlp';
import type { ParamStore } from './params';

export interface InstanceVaeConfig {
  inputDim: number;
  numClasses: number;
  hidden: number[];
}

export class InstanceVae<Heads> {
  readonly encoder: Mlp;
  readonly heads: Heads;
  readonly decoder: Decoder;
  readonly scorer: Dense;

  /**
   * `heads(encoderWidth)` builds the model's Gaussian heads; `latentDim` is the decoder's input,
   * `scoredDim` the scorer's (the instance / causal part of the latent).
   */
  constructor(
    private readonly params: ParamStore,
    config: InstanceVaeConfig,
    dims: { latentDim: number; scoredDim: number },
    heads: (encoderWidth: number) => Heads,
  ) {
    this.encoder = new Mlp(params.scope('encoder'), config.inputDim, config.hidden);
    this.heads = heads(this.encoder.outDim);
    this.decoder = new Decoder(params.scope('decoder'), dims.latentDim, [...config.hidden].reverse(), config.inputDim);
    this.scorer = instanceScorer(params, dims.scoredDim, config.numClasses);
  }

  /** Instance embeddings h `[N, E]` (dropout while training, from the model's dropout stream). */
  encode(bag: tf.Tensor2D, training: boolean, dropout: number): tf.Tensor2D {
    return this.encoder.apply(bag, training, dropout, this.params.dropoutRng);
  }
}

/** `weight` · negative ELBO per instance and input feature, so its scale does not depend on bag size or width. */
export function scaledElbo(elbo: tf.Tensor, weight: number, bag: tf.Tensor2D): tf.Scalar {
  const [n, d] = bag.shape;
  return tf.mul(elbo, weight / (n * d)) as tf.Scalar;
}

/** Config checks shared by the variational models (MIVAE, CausalMIL, FocusMIL). */
export function checkLatent(model: string, dropout: number, weight: number, dims: number[]): void {
  checkRate(model, 'dropout', dropout);
  if (!(weight >= 0)) throw new Error(`${model}: the ELBO/KL weight must be ≥ 0, got ${weight}`);
  for (const d of dims)
    if (!Number.isInteger(d) || d < 1) throw new Error(`${model}: latent widths must be positive integers, got ${d}`);
}
