/**
 * The SSL patch network: a compact ResNet-style encoder (three stages of a 3 × 3 conv + one
 * residual block, 2 × average-pool downsampling, global average pooling, linear embedding of
 * configurable width), a projection head for the contrastive loss and a small upsampling decoder
 * for reconstruction. Written with raw tfjs ops and plain variables so every parameter is named,
 * seeded and checkpointable. No batch norm: per-batch statistics would couple the two contrastive
 * views and need running averages; small residual scales keep the unnormalised net stable instead.
 */
import * as tf from '@tensorflow/tfjs';
import { Rng } from '../random';
import { conv3x3 } from './conv';

export interface SslNetConfig {
  /** Side of the network's input patches (a multiple of 4; patches are resized to it). */
  inputSize: number;
  /** Channels of the first stage; stages have width, 2·width, 4·width. */
  width: number;
  /** Width of the patch embedding the encoder outputs (the MIL feature width D). */
  embedDim: number;
  /** Output width of the projection head (contrastive space). */
  projDim: number;
}

export const DEFAULT_NET: SslNetConfig = { inputSize: 32, width: 16, embedDim: 128, projDim: 64 };

type Shape = number[];

/** Parameter layout: name → shape and fan-in (for He initialisation); 0 fan-in = zeros (biases). */
function paramSpecs(c: SslNetConfig): [string, Shape, number][] {
  const [w1, w2, w3] = [c.width, 2 * c.width, 4 * c.width];
  const q = c.inputSize / 4;
  const conv = (name: string, cin: number, cout: number): [string, Shape, number][] => [
    [`${name}/w`, [3, 3, cin, cout], 9 * cin],
    [`${name}/b`, [cout], 0],
  ];
  const block = (name: string, ch: number) => [...conv(`${name}/a`, ch, ch), ...conv(`${name}/b`, ch, ch)];
  const dense = (name: string, din: number, dout: number): [string, Shape, number][] => [
    [`${name}/w`, [din, dout], din],
    [`${name}/b`, [dout], 0],
  ];
  return [
    ...conv('enc/stem', 3, w1),
    ...block('enc/block1', w1),
    ...conv('enc/down2', w1, w2),
    ...block('enc/block2', w2),
    ...conv('enc/down3', w2, w3),
    ...block('enc/block3', w3),
    ...dense('enc/embed', w3, c.embedDim),
    ...dense('proj/hidden', c.embedDim, c.embedDim),
    ...dense('proj/out', c.embedDim, c.projDim),
    ...dense('dec/fc', c.embedDim, q * q * w2),
    ...conv('dec/up1', w2, w1),
    ...conv('dec/up2', w1, w1),
    ...conv('dec/out', w1, 3),
  ];
}

/**
 * Nearest-neighbour 2× upsampling as a broadcast multiply: its gradient is a plain sum, ~10× faster
 * on wasm than ResizeNearestNeighborGrad.
 */
function upsample2(x: tf.Tensor4D): tf.Tensor4D {
  const [b, h, w, c] = x.shape;
  return tf.reshape(tf.mul(tf.reshape(x, [b, h, 1, w, 1, c]), tf.ones([1, 1, 2, 1, 2, 1])), [b, 2 * h, 2 * w, c]);
}

/** Residual branches start at this fraction of He scale so the sum stays near the identity. */
const RESIDUAL_INIT_SCALE = 0.1;

export class SslNetwork {
  readonly config: Readonly<SslNetConfig>;
  /** Parameters in a fixed order (checkpoints and the optimiser rely on it). */
  readonly params: ReadonlyMap<string, tf.Variable>;

  constructor(config: Partial<SslNetConfig> = {}, seed = 0) {
    const c = { ...DEFAULT_NET, ...config };
    if (!Number.isInteger(c.inputSize) || c.inputSize < 8 || c.inputSize % 4 !== 0) {
      throw new Error(`SSL network inputSize must be a multiple of 4 and ≥ 8, got ${c.inputSize}`);
    }
    for (const k of ['width', 'embedDim', 'projDim'] as const) {
      if (!Number.isInteger(c[k]) || c[k] < 1)
        throw new Error(`SSL network ${k} must be a positive integer, got ${c[k]}`);
    }
    this.config = c;
    const rng = new Rng(seed);
    const params = new Map<string, tf.Variable>();
    for (const [name, shape, fanIn] of paramSpecs(c)) {
      const size = shape.reduce((a, b) => a * b, 1);
      const init = new Float32Array(size);
      if (fanIn > 0) {
        const scale =
          Math.sqrt(2 / fanIn) * (name.includes('/block') && name.includes('/b/') ? RESIDUAL_INIT_SCALE : 1);
        for (let i = 0; i < size; i++) init[i] = rng.normal(0, scale);
      }
      const initial = tf.tensor(init, shape);
      params.set(name, tf.variable(initial, true));
      initial.dispose(); // tf.variable copies its initial value
    }
    this.params = params;
  }

  private p<R extends tf.Rank>(name: string): tf.Tensor<R> {
    const v = this.params.get(name);
    if (!v) throw new Error(`SSL network has no parameter ${name}`);
    return v as unknown as tf.Tensor<R>;
  }

  private conv(x: tf.Tensor4D, name: string, relu = true): tf.Tensor4D {
    const y = tf.add(conv3x3(x, this.p<tf.Rank.R4>(`${name}/w`)), this.p(`${name}/b`)) as tf.Tensor4D;
    return relu ? tf.relu(y) : y;
  }

  private block(x: tf.Tensor4D, name: string): tf.Tensor4D {
    return tf.relu(tf.add(x, this.conv(this.conv(x, `${name}/a`), `${name}/b`, false))) as tf.Tensor4D;
  }

  private dense(x: tf.Tensor2D, name: string): tf.Tensor2D {
    return tf.add(tf.matMul(x, this.p<tf.Rank.R2>(`${name}/w`)), this.p(`${name}/b`));
  }

  /** Patch embeddings `[B, embedDim]` of patches `[B, S, S, 3]` in [0, 1]. */
  encode(x: tf.Tensor4D): tf.Tensor2D {
    let a = this.conv(tf.sub(x, 0.5), 'enc/stem');
    a = this.block(a, 'enc/block1');
    a = this.block(this.conv(tf.avgPool(a, 2, 2, 'valid'), 'enc/down2'), 'enc/block2');
    a = this.block(this.conv(tf.avgPool(a, 2, 2, 'valid'), 'enc/down3'), 'enc/block3');
    return this.dense(tf.mean(a, [1, 2]), 'enc/embed');
  }

  /** Projection head (contrastive space) `[B, projDim]`. */
  project(h: tf.Tensor2D): tf.Tensor2D {
    return this.dense(tf.relu(this.dense(h, 'proj/hidden')), 'proj/out');
  }

  /** Reconstructed patches `[B, S, S, 3]` in (0, 1). */
  decode(h: tf.Tensor2D): tf.Tensor4D {
    const { inputSize: s, width } = this.config;
    const q = s / 4;
    let a = tf.reshape(tf.relu(this.dense(h, 'dec/fc')), [h.shape[0], q, q, 2 * width]) as tf.Tensor4D;
    a = this.conv(upsample2(a), 'dec/up1');
    a = this.conv(upsample2(a), 'dec/up2');
    return tf.sigmoid(this.conv(a, 'dec/out', false)) as tf.Tensor4D;
  }

  /** Parameters of the given parts (`enc`, `proj`, `dec`), in layout order. */
  variables(parts: ('enc' | 'proj' | 'dec')[] = ['enc', 'proj', 'dec']): tf.Variable[] {
    return [...this.params].filter(([n]) => parts.some((p) => n.startsWith(`${p}/`))).map(([, v]) => v);
  }

  /** Number of scalar parameters (all parts). */
  get numParams(): number {
    let n = 0;
    for (const v of this.params.values()) n += v.size;
    return n;
  }

  dispose(): void {
    for (const v of this.params.values()) v.dispose();
  }
}
