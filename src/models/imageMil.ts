/**
 * `image-mil`: a convolutional instance encoder trained end to end in front of any staged MIL
 * model, for bags whose instances are small images stored as row-major H × W × C pixels
 * (MNIST-bags: 28 × 28 × 1, colon patches: 27 × 27 × 3).
 *
 * This is how Ilse et al. (2018) ran their image experiments: a LeNet-5 style feature extractor
 * per instance, then attention pooling. Here the convolution stack is the model's instance encoder
 * (`InstanceEncoder`, a constructor argument of every staged model), and the model's own projection
 * is the paper's fully connected layer (`embedDim`, fc-500 + ReLU): convolutions → flatten →
 * projection → the model's `aggregate` (for AB-MIL: attention 500 → 128 → 1), so any staged model
 * (abmil, gabmil, dsmil, transmil, clam, ...) can sit on top: `createModel('image-mil', { mil: 'gabmil' })`.
 *
 * Encoders (Ilse et al., appendix tables): 'lenet' (MNIST-bags) = conv5-20, ReLU, maxpool 2,
 * conv5-50, ReLU, maxpool 2; 'colon' (histology) = conv4-36, ReLU, maxpool 2, conv3-48, ReLU,
 * maxpool 2. Weights use PyTorch's default init, as the reference code.
 */
import * as tf from '@tensorflow/tfjs';
import type { ProjectionConfig } from './base';
import { convValid, maxPool2 } from './layers/convValid';
import { ParamStore, torchDefaultUniform, xavierNormal } from './layers/params';
import type { BaseModelConfig, InstanceEncoder } from './types';

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
  /** The staged MIL model on the encoded instances, by table name. */
  mil: string;
  /** Its config (`inputDim`, `numClasses`, `seed`, `embedDim`, `activation` and `dropout` are filled in). */
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
        `image-mil: encoder "${encoder}" block ${i + 1} (conv ${k}×${k}, then 2×2 pool) ` +
          `needs an even size ≥ 2 after the conv, got ${ch}×${cw} from ${shape[0]}×${shape[1]}`,
      );
    shape = [ch / 2, cw / 2, filters];
  }
  return shape;
}

/** The convolution stack of an image encoder: pixels `[N, H·W·C]` → flattened maps `[N, h·w·c]`. */
export class ConvEncoder implements InstanceEncoder {
  readonly inputDim: number;
  readonly outputDim: number;
  readonly params: ParamStore;
  private readonly convs: { filter: tf.Variable; bias: tf.Variable }[];

  constructor(
    readonly encoder: ImageEncoderName,
    readonly imageShape: readonly [number, number, number],
    seed = 0,
  ) {
    const [h, w, c] = imageShape;
    const out = encodedShape(encoder, imageShape);
    this.inputDim = h * w * c;
    this.outputDim = out[0] * out[1] * out[2];
    this.params = new ParamStore(seed);
    let channels = c;
    this.convs = IMAGE_ENCODERS[encoder].map(([k, filters], i) => {
      const s = this.params.scope(`conv${i + 1}`);
      const fanIn = k * k * channels;
      const conv = {
        filter: s.add('filter', torchDefaultUniform(s.rng, [k, k, channels, filters], fanIn)),
        bias: s.add('bias', torchDefaultUniform(s.rng, [filters], fanIn)),
      };
      channels = filters;
      return conv;
    });
  }

  encode(bag: tf.Tensor2D): tf.Tensor2D {
    return tf.tidy(() => {
      let x = tf.reshape(bag, [bag.shape[0], ...this.imageShape]) as tf.Tensor4D;
      for (const { filter, bias } of this.convs)
        x = maxPool2(tf.relu(tf.add(convValid(x, filter as tf.Tensor4D), bias)) as tf.Tensor4D);
      return tf.reshape(x, [bag.shape[0], this.outputDim]) as tf.Tensor2D;
    });
  }

  namedVariables(): Map<string, tf.Variable> {
    return this.params.named();
  }

  /**
   * Initial weights of the fully connected layer that follows (`[outputDim, width]`), drawn from
   * where the convolutions left this encoder's random stream, as for a LeNet built as one network:
   * a seed then gives the weights that results/mnist-bags.json was measured with.
   */
  nextLayerInit(width: number): tf.Tensor2D {
    return xavierNormal(this.params.initRng, this.outputDim, width);
  }

  dispose(): void {
    this.params.dispose();
  }
}
