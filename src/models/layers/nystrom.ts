/**
 * Nyström self-attention (Xiong et al. 2021) as used by TransMIL, matching the lucidrains-derived
 * reference (`nystrom_attention` as TransMIL's and MHIM-MIL's code use it):
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
import { memoised, withNestedTape } from './checkpoint';
import { matMulFast } from '../../backend/fastGradients';
import { nativeDenseAvailable, nativePinv, nativeSegmentMeans } from '../../backend/nativeOps';
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

  constructor(
    private readonly scope: ParamScope,
    opts: NystromOptions,
  ) {
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

  /** Every weight of the layer (for gradient checkpointing of a block that contains it). */
  variables(): tf.Variable[] {
    return [
      this.toQKV.kernel,
      ...(this.toQKV.bias ? [this.toQKV.bias] : []),
      this.toOut.kernel,
      ...(this.toOut.bias ? [this.toOut.bias] : []),
      this.resConv,
    ];
  }

  /** x `[n, dim]`; `clsIndex` is the row whose attention map is returned (0 for TransMIL). */
  apply(x: tf.Tensor2D, training: boolean, clsIndex = 0): NystromResult {
    return tidyObject(() => {
      const { heads: h, headDim: d, landmarks: m } = this;
      const n = x.shape[0];
      const pad = (m - (n % m)) % m;
      const len = n + pad;
      const xp =
        pad > 0
          ? tf.pad(x, [
              [pad, 0],
              [0, 0],
            ])
          : x;
      const qkv = this.toQKV.apply(xp) as tf.Tensor2D; // [L, 3·h·d]: q heads, then k heads, then v heads
      const shape = { heads: h, headDim: d, landmarks: m, iterations: this.iterations };
      const values = tf.transpose(
        tf.reshape(tf.slice(qkv, [0, 2 * h * d], [len, h * d]), [len, h, d]),
        [1, 0, 2],
      ) as tf.Tensor3D; // [h, L, d]
      let attended: tf.Tensor2D; // [L, h·d]
      const cls: tf.Tensor2D[] = [];
      if (recordingGradients()) {
        // The fused op keeps only qkv on the tape and recomputes each head in the backward pass.
        attended = nystromHeads(qkv, shape);
      } else {
        // The cls map is for masking and heatmaps, not for the loss (hence only outside a tape).
        const parts = splitHeads(qkv, h, d);
        const { outs, cls: rows } = headsForward(parts, shape, pad + clsIndex);
        attended = tf.concat(outs, 1) as tf.Tensor2D;
        cls.push(...rows);
        tf.dispose([...parts, ...outs, qkv]); // no tape here: free them before the residual and to_out
      }
      const merged = tf.add(attended, this.residual(values)); // [L, h·d]
      const projected = dropout(this.toOut.apply(merged) as tf.Tensor2D, this.rate, training, this.scope.dropoutRng);
      const cropped = pad > 0 ? tf.slice(projected, [pad, 0], [n, -1]) : projected;
      if (cls.length === 0) return { out: cropped as tf.Tensor2D, values: unpad(values, pad, n) };
      const others = tf.slice(tf.concat(cls, 0), [0, pad], [h, n]);
      const clsAttention = (
        n > 1
          ? tf.concat(
              [tf.slice(others, [0, 0], [h, clsIndex]), tf.slice(others, [0, clsIndex + 1], [h, n - clsIndex - 1])],
              1,
            )
          : tf.zeros([h, 0])
      ) as tf.Tensor2D;
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

/** Sizes of the multi-head Nyström core. */
export interface NystromShape {
  heads: number;
  headDim: number;
  landmarks: number;
  iterations: number;
}

/** qkv `[L, 3·h·d]` → 3h tensors `[L, d]`: q of each head, then k of each head, then v of each head. */
function splitHeads(qkv: tf.Tensor2D, h: number, d: number): tf.Tensor2D[] {
  const len = qkv.shape[0];
  return tf.tidy(() => tf.unstack(tf.transpose(tf.reshape(qkv, [len, 3 * h, d]), [1, 0, 2])) as tf.Tensor2D[]);
}

/** Landmarks: the means of m consecutive segments of the rows of t `[L, d]`. */
function landmarksOf(t: tf.Tensor2D, m: number): tf.Tensor2D {
  if (nativeDenseAvailable()) return nativeSegmentMeans(t, m);
  const [len, d] = t.shape;
  const l = len / m;
  return tf.div(tf.sum(tf.reshape(t, [m, l, d]), 1), l) as tf.Tensor2D;
}

/** A2 = softmax(q̃·k̃ᵀ) `[m, m]` of one head (q unscaled, as it comes out of to_qkv). */
function landmarkKernel(q: tf.Tensor2D, k: tf.Tensor2D, m: number): tf.Tensor2D {
  const d = q.shape[1];
  return tf.softmax(
    tf.matMul(landmarksOf(tf.mul(q, d ** -0.5) as tf.Tensor2D, m), tf.transpose(landmarksOf(k, m))),
  ) as tf.Tensor2D;
}

/**
 * One head: A1·(pinv(A2)·(A3·V)) for a given pinv start scale, and, for `clsRow` ≥ 0, that row's
 * attention map A1[clsRow]·pinv(A2)·A3 `[1, L]`. (The reference multiplies (A1·pinv)·(A3·V): the
 * same product, but the [L, m]×[m, m] term, 4.3 GMAC per layer at N = 8000, shrinks to [L, m]×[m, d].)
 */
function headForward(
  q0: tf.Tensor2D,
  k: tf.Tensor2D,
  v: tf.Tensor2D,
  scale: tf.Tensor,
  s: NystromShape,
  clsRow = -1,
): { out: tf.Tensor2D; cls?: tf.Tensor2D } {
  const m = s.landmarks;
  const q = tf.mul(q0, s.headDim ** -0.5) as tf.Tensor2D;
  const kL = landmarksOf(k, m);
  const qL = landmarksOf(q, m);
  // ·kᵀ as transposed products: free through sgemm, explicit transposes on plain wasm (matMulFast).
  const a1 = tf.softmax(matMulFast(q, kL, false, true)) as tf.Tensor2D; // [L, m]
  const a2 = tf.softmax(matMulFast(qL, kL, false, true)) as tf.Tensor2D; // [m, m]
  const a3 = tf.softmax(matMulFast(qL, k, false, true)) as tf.Tensor2D; // [m, L]
  const a2inv = moorePenroseIterate(a2, tf.div(tf.transpose(a2), scale), s.iterations);
  const out = tf.matMul(a1, tf.matMul(a2inv, tf.matMul(a3, v))) as tf.Tensor2D;
  if (clsRow < 0) return { out };
  return { out, cls: tf.matMul(tf.matMul(tf.slice(a1, [clsRow, 0], [1, m]), a2inv), a3) as tf.Tensor2D };
}

/** The pinv start scale of all heads together (it couples the heads): max row-sum · max col-sum over every A2. */
function headsScale(parts: tf.Tensor2D[], s: NystromShape): tf.Tensor {
  const h = s.heads;
  return pinvScale(Array.from({ length: h }, (_, i) => landmarkKernel(parts[i], parts[h + i], s.landmarks)));
}

/**
 * Forward of all heads: per-head outputs `[L, d]` (and cls rows `[1, L]` for `clsRow` ≥ 0). Each
 * head runs in its own tidy, so only its outputs outlive it. Why: the [L, m] maps and softmax
 * temporaries of all 8 heads together are ~0.6 GB at N = 8000, and the wasm heap never shrinks
 * back from its high-water mark (the MHIM teacher's no-gradient forward set the process peak).
 */
function headsForward(parts: tf.Tensor2D[], s: NystromShape, clsRow = -1): { outs: tf.Tensor2D[]; cls: tf.Tensor2D[] } {
  const h = s.heads;
  const scale = tf.tidy(() => headsScale(parts, s));
  const res = Array.from({ length: h }, (_, i) =>
    tidyObject(() => headForward(parts[i], parts[h + i], parts[2 * h + i], scale, s, clsRow)),
  );
  return { outs: res.map((r) => r.out), cls: res.flatMap((r) => (r.cls ? [r.cls] : [])) };
}

/** The multi-head Nyström core `qkv [L, 3·h·d] → [L, h·d]` with tfjs's own gradient (reference for the fused op). */
export function nystromHeadsReference(qkv: tf.Tensor2D, s: NystromShape): tf.Tensor2D {
  return tf.tidy(() => tf.concat(headsForward(splitHeads(qkv, s.heads, s.headDim), s).outs, 1) as tf.Tensor2D);
}

/**
 * The same core as one op whose backward pass recomputes instead of storing.
 *
 * Why: on the tape, every head's [L, m] maps (A1, A3, their softmax inputs, the products) are kept
 * as copies, and tfjs keeps every intermediate gradient alive until the backward pass ends; at
 * N = 8000 that is several GB per layer, past the ~4 GB wasm heap. Here the tape holds qkv only.
 * The backward pass re-runs one head at a time under its own small tape (so at most one head's
 * maps exist), then pushes the start scale's gradient (summed over the heads) through the [m, m]
 * landmark kernels of all heads. The forward pass runs the same ops in the same order as
 * `nystromHeadsReference`, so the values are identical.
 */
export function nystromHeads(qkv: tf.Tensor2D, s: NystromShape): tf.Tensor2D {
  const op = tf.customGrad(((x: tf.Tensor2D, save: tf.GradSaveFunc) => {
    save([x]);
    return {
      // Inside a checkpointed layer, its recomputation reuses the first forward's value.
      value: memoised(() => nystromHeadsReference(x, s)),
      gradFunc: (dy: tf.Tensor2D, saved: tf.Tensor[]) => [
        withNestedTape(() => nystromBackward(saved[0] as tf.Tensor2D, dy, s)),
      ],
    };
  }) as unknown as Parameters<typeof tf.customGrad<tf.Tensor2D>>[0]) as (x: tf.Tensor2D) => tf.Tensor2D;
  return op(qkv);
}

function nystromBackward(qkv: tf.Tensor2D, dy: tf.Tensor2D, s: NystromShape): tf.Tensor2D {
  const { heads: h, headDim: d } = s;
  const len = qkv.shape[0];
  const parts = splitHeads(qkv, h, d);
  const scale = tf.tidy(() => headsScale(parts, s));
  const grads: tf.Tensor[] = new Array(3 * h);
  let dScale: tf.Tensor = tf.zeros([]);
  for (let i = 0; i < h; i++) {
    // One head under its own tape: its maps and their gradients are freed before the next head.
    const [dq, dk, dv, ds] = tf.tidy(() => {
      const dyi = tf.slice(dy, [0, i * d], [len, d]);
      return tf.grads(
        (q: tf.Tensor, k: tf.Tensor, v: tf.Tensor, sc: tf.Tensor) =>
          headForward(q as tf.Tensor2D, k as tf.Tensor2D, v as tf.Tensor2D, sc, s).out,
      )([parts[i], parts[h + i], parts[2 * h + i], scale], dyi);
    });
    [grads[i], grads[h + i], grads[2 * h + i]] = [dq, dk, dv];
    const next = tf.add(dScale, ds);
    tf.dispose([dScale, ds]);
    dScale = next;
  }
  // The scale's share: through the landmark kernels A2 of every head (small: [m, m] each).
  const qk = parts.slice(0, 2 * h);
  const viaScale = tf.tidy(() => tf.grads((...t: tf.Tensor[]) => headsScale(t as tf.Tensor2D[], s))(qk, dScale));
  const dx = tf.tidy(() => {
    const all = grads.map((g, j) => (j < 2 * h ? tf.add(g, viaScale[j]) : g));
    return tf.reshape(tf.stack(all, 1), [len, 3 * h * d]) as tf.Tensor2D; // [L, 3h, d] → qkv layout
  });
  tf.dispose([...parts, scale, dScale, ...grads, ...viaScale]);
  return dx;
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
export function moorePenroseIterate<T extends tf.Tensor>(x: T, z0: tf.Tensor, iterations: number): T {
  if (nativeDenseAvailable()) return nativePinv(x, z0, iterations);
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
  return tf.tidy(() => moorePenroseIterate(x, tf.div(tf.transpose(x, [0, 2, 1]), pinvScale([x])), iterations));
}
