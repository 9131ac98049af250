/**
 * The "no SSL" baseline of the seed paper: attention MIL trained end to end through a randomly
 * initialised patch encoder. The cohort's instance features are the raw patch pixels
 * (`patchSize² · channels` values in [0, 1], `[y][x][c]` order, as the raw-pixel featurizer and
 * MNIST-bags write them); the model reshapes them to images, runs the SSL network's encoder
 * (`SslNetwork.encode`, the same architecture the SSL rows use) and an AB-MIL head on the
 * embeddings, and trains both with the ordinary `Trainer` (pass `convMilBuilder(...)` as `model`).
 *
 * The head's own instance projection is not used: it is written for bags that need no gradient
 * (`projectBag` skips the input gradient), so here an identical Dense + GELU + dropout projection
 * runs on the generic, differentiable path and feeds the head's `aggregate` (attention + classifier).
 */
import * as tf from '@tensorflow/tfjs';
import { Dense } from '../models/layers/dense';
import { dropout } from '../models/layers/dropout';
import { ParamStore } from '../models/layers/params';
import { createModel } from '../registry';
import type { BaseModelConfig, ForwardOptions, MilModel, MilOutput, Target } from '../models/types';
import { type SslNetConfig, DEFAULT_NET, SslNetwork } from './network';

export interface ConvMilConfig extends BaseModelConfig {
  /** Side of the stored patches (the features hold patchSize² · channels pixels). */
  patchSize: number;
  /** 1 (grey, repeated to RGB) or 3. */
  channels: 1 | 3;
  /** The encoder; patches are resized (bilinear) to `net.inputSize`. */
  net: SslNetConfig;
  /** Config of the AB-MIL head (its inputDim is the encoder's embedDim). */
  head: Record<string, unknown>;
}

export class ConvMil implements MilModel<ConvMilConfig> {
  readonly name = 'conv-abmil';
  readonly encoder: SslNetwork;
  readonly head: MilModel;
  private readonly store: ParamStore;
  private readonly projection: Dense;

  constructor(readonly config: ConvMilConfig) {
    const want = config.patchSize * config.patchSize * config.channels;
    if (config.inputDim !== want)
      throw new Error(`conv-abmil: inputDim ${config.inputDim} ≠ patchSize² · channels = ${want}`);
    this.encoder = new SslNetwork(config.net, config.seed ?? 0);
    this.head = createModel('abmil', {
      ...config.head,
      inputDim: this.encoder.config.embedDim,
      numClasses: config.numClasses,
      seed: config.seed ?? 0,
    });
    const head = this.head.config as unknown as { embedDim: number; activation: 'gelu' | 'relu' };
    this.store = new ParamStore(config.seed ?? 0);
    this.projection = new Dense(
      this.store.scope('projection'),
      this.encoder.config.embedDim,
      head.embedDim,
      head.activation,
    );
  }

  /** Instance embeddings `[N, embedDim]` of a raw-pixel bag `[N, patchSize² · channels]`. */
  embed(bag: tf.Tensor2D): tf.Tensor2D {
    return tf.tidy(() => {
      const { patchSize: p, channels } = this.config;
      const s = this.encoder.config.inputSize;
      let x = tf.reshape(bag, [bag.shape[0], p, p, channels]) as tf.Tensor4D;
      if (channels === 1) x = tf.tile(x, [1, 1, 1, 3]);
      // The input needs no gradient, so the resize's (slow) backward never runs.
      if (p !== s) x = tf.image.resizeBilinear(x, [s, s]);
      return this.encoder.encode(x);
    });
  }

  forward(bag: tf.Tensor2D, opts: ForwardOptions): MilOutput {
    const rate = (this.head.config as unknown as { dropout: number }).dropout;
    const h = tf.tidy(() =>
      dropout(this.projection.apply(this.embed(bag)) as tf.Tensor2D, rate, opts.training, this.store.dropoutRng),
    );
    const out = this.head.aggregate!(h, opts);
    h.dispose();
    return out;
  }

  loss(out: MilOutput, target: Target): tf.Scalar {
    return this.head.loss(out, target);
  }

  /** The head's variables minus its unused projection. */
  private headVariables(trainableOnly: boolean): tf.Variable[] {
    const unused = new Set(
      [...(this.head.namedVariables?.() ?? new Map())].filter(([n]) => n.startsWith('projection/')).map(([, v]) => v),
    );
    return (trainableOnly ? this.head.trainableVariables() : this.head.variables()).filter((v) => !unused.has(v));
  }

  trainableVariables(): tf.Variable[] {
    return [...this.encoder.variables(['enc']), ...this.store.trainable(), ...this.headVariables(true)];
  }

  variables(): tf.Variable[] {
    return [...this.encoder.variables(['enc']), ...this.store.all(), ...this.headVariables(false)];
  }

  dispose(): void {
    this.encoder.dispose();
    this.store.dispose();
    this.head.dispose();
  }
}

/** A `Trainer` model builder (the trainer supplies inputDim, numClasses and the fold seed). */
export function convMilBuilder(opts: {
  patchSize: number;
  channels: 1 | 3;
  net?: Partial<SslNetConfig>;
  head?: Record<string, unknown>;
}) {
  return (init: BaseModelConfig): ConvMil =>
    new ConvMil({
      ...init,
      patchSize: opts.patchSize,
      channels: opts.channels,
      net: { ...DEFAULT_NET, ...opts.net },
      head: opts.head ?? {},
    });
}
