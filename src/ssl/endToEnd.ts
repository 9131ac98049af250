/**
 * The "no SSL" baseline of the seed paper: attention MIL trained end to end through a randomly
 * initialised patch encoder. The cohort's instance features are the raw patch pixels
 * (`patchSize² · channels` values in [0, 1], `[y][x][c]` order, as the raw-pixel featurizer and
 * MNIST-bags write them); the SSL network's encoder (`SslNetwork.encode`, the same architecture the
 * SSL rows use) is the instance encoder of an AB-MIL (`createModel`'s third argument), whose own
 * projection embeds the patch embeddings; both train with the ordinary `Trainer`
 * (pass `convMilBuilder(...)` as `model`).
 */
import * as tf from '@tensorflow/tfjs';
import { NamedMil } from '../models/named';
import { createModel } from '../registry';
import type { BaseModelConfig, InstanceEncoder } from '../models/types';
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

/** The SSL network's encoder as an instance encoder: raw patch pixels → patch embeddings. */
export class SslPatchEncoder implements InstanceEncoder {
  readonly network: SslNetwork;
  readonly inputDim: number;
  readonly outputDim: number;

  constructor(
    readonly patchSize: number,
    readonly channels: 1 | 3,
    net: SslNetConfig,
    seed = 0,
  ) {
    this.network = new SslNetwork(net, seed);
    this.inputDim = patchSize * patchSize * channels;
    this.outputDim = this.network.config.embedDim;
  }

  /** Instance embeddings `[N, embedDim]` of a raw-pixel bag `[N, patchSize² · channels]`. */
  encode(bag: tf.Tensor2D): tf.Tensor2D {
    return tf.tidy(() => {
      const p = this.patchSize;
      const s = this.network.config.inputSize;
      let x = tf.reshape(bag, [bag.shape[0], p, p, this.channels]) as tf.Tensor4D;
      if (this.channels === 1) x = tf.tile(x, [1, 1, 1, 3]);
      // The input needs no gradient, so the resize's (slow) backward never runs.
      if (p !== s) x = tf.image.resizeBilinear(x, [s, s]);
      return this.network.encode(x);
    });
  }

  /** The encoder part of the network (`enc/…`), in layout order. */
  namedVariables(): Map<string, tf.Variable> {
    return new Map([...this.network.params].filter(([n]) => n.startsWith('enc/')));
  }

  dispose(): void {
    this.network.dispose();
  }
}

/** AB-MIL behind the SSL patch encoder, named 'conv-abmil' with its own config. */
export function createConvMil(config: ConvMilConfig): NamedMil<ConvMilConfig> {
  const want = config.patchSize * config.patchSize * config.channels;
  if (config.inputDim !== want)
    throw new Error(`conv-abmil: inputDim ${config.inputDim} ≠ patchSize² · channels = ${want}`);
  const encoder = new SslPatchEncoder(config.patchSize, config.channels, config.net, config.seed ?? 0);
  const head = createModel(
    'abmil',
    { ...config.head, inputDim: encoder.outputDim, numClasses: config.numClasses, seed: config.seed ?? 0 },
    encoder,
  );
  return new NamedMil('conv-abmil', config, head);
}

/** A `Trainer` model builder (the trainer supplies inputDim, numClasses and the fold seed). */
export function convMilBuilder(opts: {
  patchSize: number;
  channels: 1 | 3;
  net?: Partial<SslNetConfig>;
  head?: Record<string, unknown>;
}) {
  return (init: BaseModelConfig): NamedMil<ConvMilConfig> =>
    createConvMil({
      ...init,
      patchSize: opts.patchSize,
      channels: opts.channels,
      net: { ...DEFAULT_NET, ...opts.net },
      head: opts.head ?? {},
    });
}
