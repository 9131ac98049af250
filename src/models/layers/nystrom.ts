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
import { Dense } from './dense';
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
  /** Attention of row `clsIndex` over the other rows, per head: `[heads, n − 1]`. */
  clsAttention: tf.Tensor2D;
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
      const qkv = tf.transpose(tf.reshape(this.toQKV.apply(xp), [len, 3, h, d]), [1, 2, 0, 3]); // [3, h, L, d]
      const [q0, k, v] = tf.unstack(qkv) as tf.Tensor3D[];
      const q = tf.mul(q0, d ** -0.5) as tf.Tensor3D;
      const qL = tf.div(tf.sum(tf.reshape(q, [h, m, l, d]), 2), l) as tf.Tensor3D; // [h, m, d]
      const kL = tf.div(tf.sum(tf.reshape(k, [h, m, l, d]), 2), l) as tf.Tensor3D;
      const a1 = tf.softmax(matMulFast(q, kL, false, true)) as tf.Tensor3D; // [h, L, m]
      const a2 = tf.softmax(matMulFast(qL, kL, false, true)) as tf.Tensor3D; // [h, m, m]
      const a3 = tf.softmax(matMulFast(qL, k, false, true)) as tf.Tensor3D; // [h, m, L]
      const a2inv = moorePenrosePinv(a2, this.iterations);
      // A1·(pinv·(A3·V)) instead of the reference's (A1·pinv)·(A3·V): the same product, but the
      // [L, m]×[m, m] term (4.3 GMAC per layer at N = 8000) shrinks to [L, m]×[m, d].
      const a3v = matMulFast(a3, v); // [h, m, d]
      let out = matMulFast(a1, matMulFast(a2inv, a3v)) as tf.Tensor3D; // [h, L, d]
      out = tf.add(out, this.residual(v)) as tf.Tensor3D;
      const merged = tf.reshape(tf.transpose(out, [1, 0, 2]), [len, h * d]);
      const projected = dropout(this.toOut.apply(merged) as tf.Tensor2D, this.rate, training, this.scope.dropoutRng);
      const cropped = pad > 0 ? tf.slice(projected, [pad, 0], [n, -1]) : projected;

      const clsRow = tf.slice(a1, [0, pad + clsIndex, 0], [h, 1, m]); // [h, 1, m]
      const clsMap = matMulFast(matMulFast(clsRow, a2inv), a3); // [h, 1, L]
      const others = tf.reshape(tf.slice(clsMap, [0, 0, pad], [h, 1, n]), [h, n]);
      const clsAttention = (n > 1
        ? tf.concat([tf.slice(others, [0, 0], [h, clsIndex]), tf.slice(others, [0, clsIndex + 1], [h, n - clsIndex - 1])], 1)
        : tf.zeros([h, 0])) as tf.Tensor2D;
      const values = (pad > 0 ? tf.slice(v, [0, pad, 0], [h, n, d]) : v) as tf.Tensor3D;
      return { out: cropped as tf.Tensor2D, clsAttention, values };
    });
  }

  /** Depthwise conv of V along the sequence, one kernel per head (zero padding keeps the length). */
  private residual(v: tf.Tensor3D): tf.Tensor3D {
    const [h, len, d] = v.shape;
    const nhwc = tf.reshape(tf.transpose(v, [1, 2, 0]), [1, len, d, h]) as tf.Tensor4D;
    const conv = tf.depthwiseConv2d(nhwc, this.resConv as tf.Tensor4D, 1, 'same');
    return tf.transpose(tf.reshape(conv, [len, d, h]), [2, 0, 1]);
  }
}

/** Iterative Moore–Penrose pseudo-inverse of a batch of square matrices `[b, m, m]`. */
export function moorePenrosePinv(x: tf.Tensor3D, iterations = 6): tf.Tensor3D {
  return tf.tidy(() => {
    const abs = tf.abs(x);
    const scale = tf.mul(tf.max(tf.sum(abs, -1)), tf.max(tf.sum(abs, -2)));
    let z = tf.div(tf.transpose(x, [0, 2, 1]), scale) as tf.Tensor3D;
    // z ← ¼·z·(13I − xz(15I − xz(7I − xz))), expanded so no identity matrix is broadcast
    // (broadcasting element-wise ops are slow on wasm): p1 = 7xz − xz², p2 = 15xz − xz·p1,
    // z ← ¼(13z − z·p2).
    for (let it = 0; it < iterations; it++) {
      const xz = matMulFast(x, z);
      const p1 = tf.sub(tf.mul(xz, 7), matMulFast(xz, xz));
      const p2 = tf.sub(tf.mul(xz, 15), matMulFast(xz, p1));
      z = tf.mul(tf.sub(tf.mul(z, 13), matMulFast(z, p2)), 0.25) as tf.Tensor3D;
    }
    return z;
  });
}
