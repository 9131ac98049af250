/**
 * milkit's own wasm kernels on the native addon (native/src/*.c): element-wise activations and
 * their gradients, dropout, the Adam step, softmax's gradient, LayerNorm, Nyström's landmark means
 * and Moore–Penrose iteration, the depthwise-conv gradients. Registered by `installBlasKernels`
 * when the addon loads; the ops that call them are in nativeOps.ts, layerNorm.ts, nystrom.ts and
 * fastGradients.ts, each with the tfjs-ops path it replaces.
 *
 * Why: through tfjs-wasm each of these is several kernels, each a full pass over [N × C] (GELU is
 * five, its derivative six, a softmax gradient five), most of them scalar loops.
 */
import * as tf from '@tensorflow/tfjs';
import type { BlasAddon, KernelArgs, TensorInfo } from './types';

/** Activations of the native element-wise kernels (codes of native/src/elementwise.c). */
export const NATIVE_ACTIVATIONS = { linear: 0, gelu: 1, tanh: 2, sigmoid: 3, relu: 4 } as const;
export type NativeActivation = keyof typeof NATIVE_ACTIVATIONS;
/**
 * `MilkitActivation` {x} → act(x); `MilkitActivationGrad` {dy, z} → [dy ⊙ act′(z), Σ_rows of it] (the bias gradient).
 */
export const ACTIVATION_KERNEL = 'MilkitActivation';
export const ACTIVATION_GRAD_KERNEL = 'MilkitActivationGrad';
/**
 * `MilkitDepthwise` {x, w}, attrs {mode, padTop, padLeft, outH, outW, kh, kw}: stride-1 depthwise
 * convolution of one NHWC image (mode 0), with the filter flipped (mode 1, the input gradient),
 * or the filter gradient [kh, kw, C, 1] of x and w = dy (mode 2). See native/src/depthwise.c.
 */
export const DEPTHWISE_KERNEL = 'MilkitDepthwise';
/**
 * `MilkitPinv` {x, z0}, attrs {iterations, keep} → z: the Moore–Penrose iteration of Nyström attention
 * on each [m × m] matrix of x ([m, m] or [b, m, m]) from z0; with `keep`, [z, iterates] (the
 * iterates [b·iterations·4, m, m] are what the gradient needs). `MilkitPinvGrad` {x, z0, dz, iterates}
 * → [dx, dz0]. See native/src/pinv.c.
 */
export const PINV_KERNEL = 'MilkitPinv';
export const PINV_GRAD_KERNEL = 'MilkitPinvGrad';
/** `MilkitSoftmaxGrad` {y, dy} → y ⊙ (dy − Σ_row dy·y): the gradient of the last-axis softmax y. */
export const SOFTMAX_GRAD_KERNEL = 'MilkitSoftmaxGrad';
/**
 * `MilkitSegmentMeans` {x}, attrs {segments, grad, length}: means of consecutive row runs [s·l, c] → [s, c]; grad: [s,
 * c] → [s·l, c] (÷ l).
 */
export const SEGMENT_MEANS_KERNEL = 'MilkitSegmentMeans';
/**
 * `MilkitLayerNorm` {x, gamma, beta}, attrs {eps} → [y, x̂, rstd `[rows]`] over the last axis; `MilkitLayerNormGrad`
 * {dy, xhat, rstd, gamma} → [dx, dγ, dβ].
 */
export const LAYER_NORM_KERNEL = 'MilkitLayerNorm';
export const LAYER_NORM_GRAD_KERNEL = 'MilkitLayerNormGrad';
/** `MilkitDropout` {x}, attrs {state, keep} → x ⊙ mask / keep, mask drawn from the Rng stream at `state`. */
export const DROPOUT_KERNEL = 'MilkitDropout';
/** `MilkitAdam` {theta, m, v, g}, attrs `AdamStepAttrs` → [θ, m, v] after one Adam step (src/train/optimizer.ts). */
export const ADAM_KERNEL = 'MilkitAdam';
export interface AdamStepAttrs {
  /** Weight decay added to the gradient (`'l2'`), or 0. */
  l2: number;
  /** Decoupled decay factor 1 − lr·λ (AdamW), or 1. */
  decay: number;
  beta1: number;
  beta2: number;
  /** √(1 − β2ᵗ). */
  rootBc2: number;
  epsilon: number;
  /** lr / (1 − β1ᵗ). */
  stepSize: number;
}

/** What a kernel body gets: its inputs and attrs, float32 outputs, and the wasm heap and offsets for the addon. */
interface Io {
  inputs: Record<string, TensorInfo>;
  attrs: Record<string, unknown>;
  out(shape: number[]): TensorInfo;
  /** The heap buffer, read after the last `out` (an allocation may grow, i.e. replace, it). */
  heap(): ArrayBuffer;
  at(t: TensorInfo): number;
}

function define(kernelName: string, body: (io: Io) => TensorInfo | TensorInfo[]): void {
  const kernelFunc = ({ inputs, attrs, backend }: KernelArgs) =>
    body({
      inputs: inputs as Record<string, TensorInfo>,
      attrs,
      out: (shape) => backend.makeOutput(shape, 'float32'),
      heap: () => backend.wasm.HEAPU8.buffer as ArrayBuffer,
      at: (t) => backend.dataIdMap.get(t.dataId).memoryOffset,
    });
  tf.registerKernel({ kernelName, backendName: 'wasm', kernelFunc: kernelFunc as unknown as tf.KernelFunc });
}

const size = (t: TensorInfo) => t.shape.reduce((p, q) => p * q, 1);
const lastDim = (t: TensorInfo) => t.shape[t.shape.length - 1];

export function registerNativeKernels(addon: BlasAddon): void {
  define(ACTIVATION_KERNEL, ({ inputs: { x }, attrs, out, heap, at }) => {
    const y = out(x.shape);
    if (size(x) > 0)
      addon.activation(heap(), at(x), at(y), size(x), NATIVE_ACTIVATIONS[attrs.activation as NativeActivation]);
    return y;
  });
  define(ACTIVATION_GRAD_KERNEL, ({ inputs: { dy, z }, attrs, out, heap, at }) => {
    const cols = lastDim(z);
    const [g, db] = [out(z.shape), out([cols])];
    if (cols > 0)
      addon.activationGrad(
        heap(),
        at(dy),
        at(z),
        at(g),
        size(z) / cols,
        cols,
        NATIVE_ACTIVATIONS[attrs.activation as NativeActivation],
        at(db),
      );
    return [g, db];
  });
  define(DROPOUT_KERNEL, ({ inputs: { x }, attrs, out, heap, at }) => {
    const keep = attrs.keep as number;
    const y = out(x.shape);
    // u/2³² < keep ⇔ u < ceil(keep·2³²) for integer u: the JS comparison, exactly.
    if (size(x) > 0)
      addon.dropout(
        heap(),
        at(x),
        at(y),
        size(x),
        attrs.state as number,
        Math.ceil(keep * 4294967296),
        Math.fround(1 / keep),
      );
    return y;
  });
  define(ADAM_KERNEL, ({ inputs: { theta, m, v, g }, attrs, out, heap, at }) => {
    const a = attrs as unknown as AdamStepAttrs;
    const outs = [theta, m, v].map((t) => out(t.shape));
    // 1 − β is computed in double and rounded once, as the tfjs ops get it (a JS number → float32 scalar).
    if (size(theta) > 0)
      addon.adam(
        heap(),
        at(theta),
        at(m),
        at(v),
        at(g),
        at(outs[0]),
        at(outs[1]),
        at(outs[2]),
        size(theta),
        a.l2 > 0 ? 1 : 0,
        a.decay !== 1 ? 1 : 0,
        a.l2,
        a.beta1,
        1 - a.beta1,
        a.beta2,
        1 - a.beta2,
        a.decay,
        a.rootBc2,
        a.epsilon,
        a.stepSize,
      );
    return outs;
  });
  define(DEPTHWISE_KERNEL, ({ inputs: { x, w }, attrs, out, heap, at }) => {
    const a = attrs as {
      mode: number;
      padTop: number;
      padLeft: number;
      outH: number;
      outW: number;
      kh: number;
      kw: number;
    };
    const [, h, wd, c] = x.shape;
    const y = out(a.mode === 2 ? [a.kh, a.kw, c, 1] : [1, a.outH, a.outW, c]);
    addon.depthwise(heap(), at(x), at(w), at(y), h, wd, c, a.kh, a.kw, a.padTop, a.padLeft, a.outH, a.outW, a.mode);
    return y;
  });
  define(SOFTMAX_GRAD_KERNEL, ({ inputs: { y, dy }, out, heap, at }) => {
    const dx = out(y.shape);
    if (lastDim(y) > 0) addon.softmaxGrad(heap(), at(y), at(dy), at(dx), size(y) / lastDim(y), lastDim(y));
    return dx;
  });
  define(LAYER_NORM_KERNEL, ({ inputs: { x, gamma, beta }, attrs, out, heap, at }) => {
    const rows = size(x) / lastDim(x);
    const [y, xhat, rstd] = [out(x.shape), out(x.shape), out([rows])];
    addon.layerNorm(
      heap(),
      at(x),
      at(gamma),
      at(beta),
      at(y),
      at(xhat),
      at(rstd),
      rows,
      lastDim(x),
      attrs.eps as number,
    );
    return [y, xhat, rstd];
  });
  define(LAYER_NORM_GRAD_KERNEL, ({ inputs: { dy, xhat, rstd, gamma }, out, heap, at }) => {
    const cols = lastDim(xhat);
    const [dx, dGamma, dBeta] = [out(xhat.shape), out([cols]), out([cols])];
    addon.layerNormGrad(
      heap(),
      at(dy),
      at(xhat),
      at(rstd),
      at(gamma),
      at(dx),
      at(dGamma),
      at(dBeta),
      size(xhat) / cols,
      cols,
    );
    return [dx, dGamma, dBeta];
  });
  define(SEGMENT_MEANS_KERNEL, ({ inputs: { x }, attrs, out, heap, at }) => {
    const segments = attrs.segments as number;
    const [rows, cols] = x.shape;
    const length = attrs.grad ? (attrs.length as number) : rows / segments;
    const y = out(attrs.grad ? [segments * length, cols] : [segments, cols]);
    addon.segmentMeans(heap(), at(x), at(y), segments, length, cols, attrs.grad ? 1 : 0);
    return y;
  });
  define(PINV_KERNEL, ({ inputs: { x, z0 }, attrs, out, heap, at }) => {
    const m = lastDim(x);
    const batch = x.shape.length === 3 ? x.shape[0] : 1;
    const iterations = attrs.iterations as number;
    const z = out(x.shape);
    const iterates = attrs.keep ? out([batch * iterations * 4, m, m]) : undefined;
    addon.pinv(heap(), at(x), at(z0), at(z), batch, m, iterations, -1, -1, -1, iterates ? at(iterates) : -1);
    return iterates ? [z, iterates] : z;
  });
  define(PINV_GRAD_KERNEL, ({ inputs: { x, z0, dz, iterates }, attrs, out, heap, at }) => {
    const [dx, dz0] = [out(x.shape), out(x.shape)];
    addon.pinv(
      heap(),
      at(x),
      at(z0),
      -1,
      x.shape.length === 3 ? x.shape[0] : 1,
      lastDim(x),
      attrs.iterations as number,
      at(dz),
      at(dx),
      at(dz0),
      at(iterates),
    );
    return [dx, dz0];
  });
}
