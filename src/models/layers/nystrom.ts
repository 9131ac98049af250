/**
 * Nyström self-attention (Xiong et al. 2021) as used by TransMIL, matching the lucidrains-derived
 * reference (mhim-reference.md §2):
 *  - the sequence is zero-padded on the LEFT to a multiple of the landmark count m;
 *  - q is scaled by d_head^-½; landmarks are the means of m consecutive segments of q and k;
 *  - A1 = softmax(q·k̃ᵀ), A2 = softmax(q̃·k̃ᵀ), A3 = softmax(q̃·kᵀ);
 *  - pinv(A2) by the Moore–Penrose iteration started from A2ᵀ / (max row-sum · max col-sum),
 *    both maxima over the whole tensor (all heads), not per head;
 *  - out = (A1·pinv(A2))·(A3·V) + depthwise conv of V along the sequence (kernel 33, per head);
 *  - to_out = Linear + dropout; the padding rows are cropped off.
 * It also returns the attention of the cls token over the instances, A1[cls]·pinv(A2)·A3, per head.
 */
import * as tf from '@tensorflow/tfjs';
import { tidyObject } from './tidy';
import { Dense, recordingGradients } from './dense';
import { dropout } from './dropout';
import { matMulFast } from './fastGradients';
import { ParamScope, torchDefaultUniform } from './params';

export interface NystromOptions {
  dim: number;
  heads?: number;
  headDim?: number;
  landmarks?: number;
  pinvIterations?: number;
  residualKernel?: number;
  dropout?: number;
}

export interface NystromResult {
  /** `[n, dim]`, same rows as the input. */
  out: tf.Tensor2D;
  /** Attention of row `clsIndex` over the other rows, per head: `[heads, n − 1]`; absent while recording a gradient. */
  clsAttention?: tf.Tensor2D;
  /** Values of the input rows `[heads, n, headDim]` (MHIM's class-aware scores use them). */
  values: tf.Tensor3D;
}

export class NystromAttention {
  readonly heads: number;
  readonly headDim: number;
  readonly landmarks: number;
  readonly iterations: number;
  private readonly toQKV: Dense;
  readonly toOut: Dense;
  private readonly resConv: tf.Variable;
  private readonly rate: number;

  constructor(private readonly scope: ParamScope, opts: NystromOptions) {
    this.heads = opts.heads ?? 8;
    this.headDim = opts.headDim ?? 64;
    this.landmarks = opts.landmarks ?? 256;
    this.iterations = opts.pinvIterations ?? 6;
    const inner = this.heads * this.headDim;
    const k = opts.residualKernel ?? 33;
    this.toQKV = new Dense(scope.scope('to_qkv'), opts.dim, 3 * inner, 'linear', false);
    this.toOut = new Dense(scope.scope('to_out'), inner, opts.dim);
    // Conv2d(h, h, (k, 1), groups=h, bias=False) with PyTorch's default init; tfjs layout [k, 1, h, 1].
    this.resConv = scope.add('res_conv', torchDefaultUniform(scope.rng, [k, 1, this.heads, 1], k));
    this.rate = opts.dropout ?? 0.1;
  }

  /** x `[n, dim]`; `clsIndex` is the row whose attention map is returned (0 for TransMIL). */
  apply(x: tf.Tensor2D, training: boolean, clsIndex = 0): NystromResult {
    return tidyObject(() => {
      const { heads: h, headDim: d, landmarks: m } = this;
      const n = x.shape[0];
      const pad = (m - (n % m)) % m;
      const len = n + pad;
      const l = len / m;
      const xp = pad > 0 ? tf.pad(x, [[pad, 0], [0, 0]]) : x;
      // Per-head 2-D tensors throughout: on wasm only 2-D products reach XNNPACK, and keeping the
      // heads apart avoids stacking/unstacking the [h, L, m] attention matrices (memory and copies).
      const parts = tf.unstack(tf.transpose(tf.reshape(this.toQKV.apply(xp), [len, 3 * h, d]), [1, 0, 2])) as tf.Tensor2D[];
      const landmarksOf = (t: tf.Tensor2D) => tf.div(tf.sum(tf.reshape(t, [m, l, d]), 1), l) as tf.Tensor2D; // segment means
      const perHead = Array.from({ length: h }, (_, i) => {
        const q = tf.mul(parts[i], d ** -0.5) as tf.Tensor2D;
        const [k, v] = [parts[h + i], parts[2 * h + i]];
        const kLT = tf.transpose(landmarksOf(k));
        const qL = landmarksOf(q);
        return {
          v,
          a1: tf.softmax(tf.matMul(q, kLT)) as tf.Tensor2D, // [L, m]
          a2: tf.softmax(tf.matMul(qL, kLT)) as tf.Tensor2D, // [m, m]
          a3: tf.softmax(tf.matMul(qL, tf.transpose(k))) as tf.Tensor2D, // [m, L]
        };
      });
      const scale = pinvScale(perHead.map((p) => p.a2));
      const outs: tf.Tensor2D[] = [];
      const cls: tf.Tensor2D[] = [];
      for (const { v, a1, a2, a3 } of perHead) {
        const a2inv = pinvIterate(a2, tf.div(tf.transpose(a2), scale), this.iterations);
        // A1·(pinv·(A3·V)) instead of the reference's (A1·pinv)·(A3·V): the same product, but the
        // [L, m]×[m, m] term (4.3 GMAC per layer at N = 8000) shrinks to [L, m]×[m, d].
        outs.push(tf.matMul(a1, tf.matMul(a2inv, tf.matMul(a3, v))));
        // The cls map is for masking and heatmaps, not for the loss: skipped while recording a
        // gradient, where it would add two more saved copies of A1 and A3 per head to the tape.
        if (!recordingGradients()) cls.push(tf.matMul(tf.matMul(tf.slice(a1, [pad + clsIndex, 0], [1, m]), a2inv), a3)); // [1, L]
      }
      const values = tf.stack(perHead.map((p) => p.v)) as tf.Tensor3D; // [h, L, d]
      const merged = tf.add(tf.concat(outs, 1), this.residual(values)); // [L, h·d]
      const projected = dropout(this.toOut.apply(merged) as tf.Tensor2D, this.rate, training, this.scope.dropoutRng);
      const cropped = pad > 0 ? tf.slice(projected, [pad, 0], [n, -1]) : projected;
      if (cls.length === 0) return { out: cropped as tf.Tensor2D, values: unpad(values, pad, n) };
      const others = tf.slice(tf.concat(cls, 0), [0, pad], [h, n]);
      const clsAttention = (n > 1
        ? tf.concat([tf.slice(others, [0, 0], [h, clsIndex]), tf.slice(others, [0, clsIndex + 1], [h, n - clsIndex - 1])], 1)
        : tf.zeros([h, 0])) as tf.Tensor2D;
      return { out: cropped as tf.Tensor2D, clsAttention, values: unpad(values, pad, n) };
    });
  }

  /** Depthwise conv of V along the sequence, one kernel per head, as `[L, h·d]` (heads outer). */
  private residual(v: tf.Tensor3D): tf.Tensor2D {
    const [h, len, d] = v.shape;
    const nhwc = tf.reshape(tf.transpose(v, [1, 2, 0]), [1, len, d, h]) as tf.Tensor4D;
    const conv = tf.depthwiseConv2d(nhwc, this.resConv as tf.Tensor4D, 1, 'same'); // [1, L, d, h]
    return tf.reshape(tf.transpose(tf.reshape(conv, [len, d, h]), [0, 2, 1]), [len, h * d]);
  }
}

function unpad(values: tf.Tensor3D, pad: number, n: number): tf.Tensor3D {
  const [h, , d] = values.shape;
  return pad > 0 ? tf.slice(values, [0, pad, 0], [h, n, d]) : values;
}

/** The start scale of the iteration: max row-sum · max column-sum of |x| over ALL heads together. */
function pinvScale(xs: tf.Tensor[]): tf.Tensor {
  const abs = xs.map((x) => tf.abs(x));
  const maxOf = (axis: number) => tf.max(tf.stack(abs.map((a) => tf.max(tf.sum(a, axis)))));
  return tf.mul(maxOf(-1), maxOf(-2));
}

/**
 * z ← ¼·z·(13I − xz(15I − xz(7I − xz))), expanded so no identity matrix is broadcast (broadcasting
 * element-wise ops are slow on wasm): p1 = 7xz − xz², p2 = 15xz − xz·p1, z ← ¼(13z − z·p2).
 */
function pinvIterate<T extends tf.Tensor>(x: T, z0: tf.Tensor, iterations: number): T {
  let z = z0;
  for (let it = 0; it < iterations; it++) {
    const xz = matMulFast(x, z);
    const p1 = tf.sub(tf.mul(xz, 7), matMulFast(xz, xz));
    const p2 = tf.sub(tf.mul(xz, 15), matMulFast(xz, p1));
    z = tf.mul(tf.sub(tf.mul(z, 13), matMulFast(z, p2)), 0.25);
  }
  return z as T;
}

/** Iterative Moore–Penrose pseudo-inverse of a batch of square matrices `[b, m, m]` (whole-tensor start scale). */
export function moorePenrosePinv(x: tf.Tensor3D, iterations = 6): tf.Tensor3D {
  return tf.tidy(() => pinvIterate(x, tf.div(tf.transpose(x, [0, 2, 1]), pinvScale([x])), iterations));
}
