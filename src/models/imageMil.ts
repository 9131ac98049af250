/**
 * `image-mil`: a convolutional instance encoder trained end to end in front of any registered MIL
 * model, for bags whose instances are small images stored as row-major H × W × C pixels
 * (MNIST-bags: 28 × 28 × 1, colon patches: 27 × 27 × 3).
 *
 * This is how Ilse et al. (2018) ran their image experiments: a LeNet-5 style feature extractor
 * per instance, then attention pooling. Here: convolution stack → flatten → fully connected layer
 * (`embedDim`, the paper's fc-500 + ReLU) → the MIL model's `aggregate` (for AB-MIL: attention
 * 500 → 128 → 1), so any model with a projection/aggregate split (abmil, gabmil, dsmil, transmil,
 * clam, ...) can sit on top: `createModel('image-mil', { mil: 'gabmil' })`.
 * Why not the MIL model's own projection: it is written for a bag that needs no gradient
 * (`projectBag` returns none for its input), which would leave the encoder untrained. Its
 * projection weights therefore stay out of the trainable, saved and named variables.
 *
 * Encoders (Ilse et al., appendix tables): 'lenet' (MNIST-bags) = conv5-20, ReLU, maxpool 2,
 * conv5-50, ReLU, maxpool 2; 'colon' (histology) = conv4-36, ReLU, maxpool 2, conv3-48, ReLU,
 * maxpool 2. Weights use PyTorch's default init, as the reference code.
 */
import * as tf from '@tensorflow/tfjs';
import { MilBase, type ProjectionConfig } from './base';
import { convValid, maxPool2 } from './layers/convValid';
import { Dense } from './layers/dense';
import { dropout } from './layers/dropout';
import { torchDefaultUniform } from './layers/params';
import { tidyObject } from './layers/tidy';
import type { BaseModelConfig, ForwardOptions, MilModel, MilOutput, Target } from './types';

/** Convolution stacks by name: [kernel size, filters] per conv + ReLU + 2 × 2 max-pool block. */
export const IMAGE_ENCODERS = {
  lenet: [
    [5, 20],
    [5, 50],
  ],
  colon: [
    [4, 36],
    [3, 48],
  ],
} as const satisfies Record<string, readonly (readonly [number, number])[]>;

export type ImageEncoderName = keyof typeof IMAGE_ENCODERS;

export interface ImageMilConfig extends BaseModelConfig, ProjectionConfig {
  /** [height, width, channels] of each instance; `inputDim` must equal their product. */
  imageShape: [number, number, number];
  encoder: ImageEncoderName;
  /** The MIL model on the encoded instances, by table name (it must have `aggregate`). */
  mil: string;
  /** Its config (`inputDim`, `numClasses`, `seed` and `embedDim` are filled in). */
  milConfig: Record<string, unknown>;
}

export const IMAGE_MIL_DEFAULTS: ImageMilConfig = {
  inputDim: 28 * 28,
  numClasses: 2,
  seed: 0,
  // Ilse et al.'s fc-500 + ReLU, no dropout on MNIST-bags.
  embedDim: 500,
  activation: 'relu',
  dropout: 0,
  imageShape: [28, 28, 1],
  encoder: 'lenet',
  mil: 'abmil',
  milConfig: {},
};

/** Output size [h, w, c] of an encoder on an image, or an error naming the block that does not fit. */
export function encodedShape(encoder: ImageEncoderName, [h, w, c]: readonly number[]): [number, number, number] {
  const blocks = IMAGE_ENCODERS[encoder];
  if (!blocks)
    throw new Error(`image-mil: unknown encoder "${encoder}"; known: ${Object.keys(IMAGE_ENCODERS).join(', ')}`);
  let shape: [number, number, number] = [h, w, c];
  for (const [i, [k, filters]] of blocks.entries()) {
    const [ch, cw] = [shape[0] - k + 1, shape[1] - k + 1];
    if (ch < 2 || cw < 2 || ch % 2 || cw % 2)
      throw new Error(
        `image-mil: encoder "${encoder}" block ${i + 1} (conv ${k}×${k}, then 2×2 pool) needs an even size ≥ 2 after the conv, got ${ch}×${cw} from ${shape[0]}×${shape[1]}`,
      );
    shape = [ch / 2, cw / 2, filters];
  }
  return shape;
}

export class ImageMil extends MilBase<ImageMilConfig> {
  private readonly convs: { filter: tf.Variable; bias: tf.Variable }[];
  private readonly fc: Dense;
  readonly inner: MilModel;
  readonly encodedDim: number;

  /**
   * @param inner the MIL model on the encoded instances: built by the caller (the model table) from
   *   `config.mil` / `config.milConfig` with `inputDim` = `encodedDim` and the same `embedDim`.
   */
  constructor(config: ImageMilConfig, inner: MilModel) {
    super('image-mil', config);
    const [h, w, c] = config.imageShape;
    if (h * w * c !== config.inputDim)
      throw new Error(`image-mil: imageShape ${h}×${w}×${c} = ${h * w * c} pixels, but inputDim is ${config.inputDim}`);
    const out = encodedShape(config.encoder, config.imageShape);
    this.encodedDim = out[0] * out[1] * out[2];
    let channels = c;
    this.convs = IMAGE_ENCODERS[config.encoder].map(([k, filters], i) => {
      const s = this.params.scope(`encoder/conv${i + 1}`);
      const fanIn = k * k * channels;
      const conv = {
        filter: s.add('filter', torchDefaultUniform(s.rng, [k, k, channels, filters], fanIn)),
        bias: s.add('bias', torchDefaultUniform(s.rng, [filters], fanIn)),
      };
      channels = filters;
      return conv;
    });
    this.fc = new Dense(this.params.scope('encoder/fc'), this.encodedDim, config.embedDim, config.activation);
    if (!inner.aggregate)
      throw new Error(`image-mil: model "${config.mil}" has no aggregate() step to put after the encoder`);
    this.inner = inner;
  }

  /** Pixels `[N, H·W·C]` → instance embeddings `[N, embedDim]` (convolutions, then the fully connected layer). */
  embedInstances(bag: tf.Tensor2D, opts: ForwardOptions): tf.Tensor2D {
    this.checkBag(bag);
    return tf.tidy(() => {
      let x = tf.reshape(bag, [bag.shape[0], ...this.config.imageShape]) as tf.Tensor4D;
      for (const { filter, bias } of this.convs)
        x = maxPool2(tf.relu(tf.add(convValid(x, filter as tf.Tensor4D), bias)) as tf.Tensor4D);
      const h = this.fc.apply(tf.reshape(x, [bag.shape[0], this.encodedDim])) as tf.Tensor2D;
      return dropout(h, this.config.dropout, opts.training, this.params.dropoutRng);
    });
  }

  aggregate(h: tf.Tensor2D, opts: ForwardOptions): MilOutput {
    return this.inner.aggregate!(h, opts);
  }

  forward(bag: tf.Tensor2D, opts: ForwardOptions): MilOutput {
    return tidyObject(() => this.aggregate(this.embedInstances(bag, opts), opts));
  }

  /** The MIL model's variables except its unused projection. */
  private innerNamed(): [string, tf.Variable][] {
    const named = this.inner.namedVariables?.();
    if (!named) throw new Error(`image-mil: model "${this.config.mil}" does not name its variables`);
    return [...named].filter(([k]) => !k.startsWith('projection/'));
  }

  override loss(out: MilOutput, target: Target): tf.Scalar {
    return this.inner.loss(out, target);
  }

  override trainableVariables(): tf.Variable[] {
    return [
      ...this.params.trainable(),
      ...this.innerNamed()
        .map(([, v]) => v)
        .filter((v) => v.trainable),
    ];
  }

  override variables(): tf.Variable[] {
    return [...this.params.all(), ...this.innerNamed().map(([, v]) => v)];
  }

  /** Encoder weights under 'encoder/…', the MIL model's under 'mil/…'. */
  override namedVariables(): Map<string, tf.Variable> {
    return new Map([
      ...this.params.named(),
      ...this.innerNamed().map(([k, v]) => [`mil/${k}`, v] as [string, tf.Variable]),
    ]);
  }

  override dispose(): void {
    super.dispose();
    this.inner.dispose();
  }
}
