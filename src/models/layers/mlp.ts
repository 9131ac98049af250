/**
 * A stack of fully connected layers with an activation and dropout after each: the instance
 * encoder of the instance-level MIL models (mi-Net style). The first layer reads the bag itself,
 * which needs no gradient, so it goes through `projectBag` (one saved tensor, no input gradient).
 */
import type * as tf from '@tensorflow/tfjs';
import type { Rng } from '../../random';
import { Dense, projectBag } from './dense';
import { dropout } from './dropout';
import type { ParamScope } from './params';

export class Mlp {
  readonly layers: Dense[];

  constructor(
    scope: ParamScope,
    readonly inDim: number,
    widths: number[],
    activation: 'relu' | 'gelu' | 'tanh' = 'relu',
  ) {
    if (widths.length === 0 || !widths.every((w) => Number.isInteger(w) && w > 0)) {
      throw new Error(`hidden must list at least one positive integer width, got [${widths.join(', ')}]`);
    }
    const dims = [inDim, ...widths];
    this.layers = widths.map((w, i) => new Dense(scope.scope(String(i)), dims[i], w, activation));
  }

  get outDim(): number {
    return this.layers[this.layers.length - 1].outDim;
  }

  /** `[N, in]` → `[N, out]`; `fromBag`: the input is the bag (no gradient needed for it). */
  apply(x: tf.Tensor2D, training: boolean, rate: number, rng: Rng, fromBag = true): tf.Tensor2D {
    let h = x;
    this.layers.forEach((layer, i) => {
      const y = i === 0 && fromBag ? projectBag(h, layer) : (layer.apply(h) as tf.Tensor2D);
      h = dropout(y, rate, training, rng);
    });
    return h;
  }
}

/** Throws unless 0 ≤ rate < 1 (a readable config error instead of a NaN model). */
export function checkRate(model: string, field: string, rate: number): void {
  if (!(rate >= 0 && rate < 1)) throw new Error(`${model}: ${field} must be in [0, 1), got ${rate}`);
}

/** Config of an instance MLP encoder (the instance-level models' feature extractor). */
export interface InstanceEncoderConfig {
  /** Hidden layer widths of the instance MLP. */
  hidden: number[];
  /** Dropout after each hidden layer. */
  dropout: number;
}

/**
 * The instance encoder the instance-level models default to: the papers put their pooling on a
 * CNN over images (MNIST, histology) or on precomputed features; on milkit's feature bags
 * (1024-d by default) a two-layer MLP 256-128 with ReLU and dropout 0.25 plays that role.
 */
export const INSTANCE_ENCODER_DEFAULTS = {
  inputDim: 1024,
  numClasses: 2,
  seed: 0,
  hidden: [256, 128],
  dropout: 0.25,
};
