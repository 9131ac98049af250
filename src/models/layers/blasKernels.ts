/**
 * OpenBLAS sgemm as the wasm backend's BatchMatMul and _FusedMatMul kernels (optional native path).
 *
 * Why: tfjs-wasm's matMul reaches ~25-40 GFLOP/s here, OpenBLAS sgemm with AVX-512 ~220, and the
 * [N × 1024]·[1024 × 512] projection dominates every attention MIL model. The addon
 * (native/, built at install when libopenblas-dev is present) reads and writes the tensors in
 * place in the wasm heap: no copies. Transposed operands are native to sgemm, so the transposed
 * products that are a scalar loop on wasm cost nothing extra here (see `nativeTransposes`).
 *
 * Falls back to tfjs's own kernels for what it does not cover (int32, general batch broadcasting,
 * prelu, a bias that broadcasts in other ways). `MILKIT_BLAS=0` disables it;
 * `MILKIT_BLAS_THREADS` (or OpenBLAS's own `OPENBLAS_NUM_THREADS`) sets its threads (default: all
 * cores) for large products; products below 2^24 multiply-adds run on one thread (waking OpenBLAS's
 * workers for them cost ~35 % of the CPU in system time on small bags, see native/src/blas.c).
 * `OPENBLAS_CORETYPE` is set to SkylakeX on AVX-512 CPUs unless already set.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';

interface BlasAddon {
  matmul(heap: ArrayBuffer, batch: number, m: number, n: number, k: number, transA: number, transB: number,
    offA: number, strideA: number, offB: number, strideB: number, offC: number, offBias: number, biasLen: number, act: number, leak: number): void;
  activation(heap: ArrayBuffer, offX: number, offY: number, count: number, act: number): void;
  activationGrad(heap: ArrayBuffer, offDy: number, offZ: number, offG: number, rows: number, cols: number, act: number, offDb: number): void;
  dropout(heap: ArrayBuffer, offX: number, offY: number, count: number, state: number, threshold: number, scale: number): void;
  depthwise(heap: ArrayBuffer, offX: number, offW: number, offY: number, h: number, w: number, c: number, kh: number, kw: number,
    padTop: number, padLeft: number, outH: number, outW: number, mode: number): void;
  /** offDz < 0: forward (Z at offZ, iterates at offKeep ≥ 0); else backward (dX at offDx, dZ0 at offDz0). See native/src/pinv.c. */
  pinv(heap: ArrayBuffer, offX: number, offZ0: number, offZ: number, batch: number, m: number, iterations: number, offDz: number, offDx: number, offDz0: number,
    offKeep: number): void;
  softmax(heap: ArrayBuffer, offX: number, offY: number, rows: number, cols: number): void;
  softmaxGrad(heap: ArrayBuffer, offY: number, offDy: number, offDx: number, rows: number, cols: number): void;
  /** mode 0: means of `segments` runs of `length` rows; mode 1: their gradient (each mean's dy / length on its rows). */
  segmentMeans(heap: ArrayBuffer, offX: number, offY: number, segments: number, length: number, cols: number, mode: number): void;
  layerNorm(heap: ArrayBuffer, offX: number, offGamma: number, offBeta: number, offY: number, offXhat: number, offRstd: number, rows: number, cols: number, eps: number): void;
  layerNormGrad(heap: ArrayBuffer, offDy: number, offXhat: number, offRstd: number, offGamma: number, offDx: number, offDgamma: number, offDbeta: number,
    rows: number, cols: number): void;
  /** threads: OpenBLAS's current count; smallProducts: products run on one thread so far. */
  adam(heap: ArrayBuffer, offTheta: number, offM: number, offV: number, offG: number, offTheta2: number, offM2: number, offV2: number, count: number,
    l2: number, decoupled: number, wd: number, beta1: number, oneMinusBeta1: number, beta2: number, oneMinusBeta2: number, decay: number,
    rootBc2: number, eps: number, stepSize: number): void;
  info(): { threads: number; core: string; config: string; smallProductWork: number; smallProducts: number };
  /** Threads for large products; `smallWork`: multiply-adds below which a product runs on one thread. */
  setThreads(n: number, smallWork?: number): void;
}

export interface BlasStatus {
  active: boolean;
  /** OpenBLAS threads, kernel family (e.g. SkylakeX) and build config when active. */
  threads?: number;
  core?: string;
  config?: string;
  /** Why the native path is off, when it is. */
  reason?: string;
}

type TensorInfo = { dataId: object; shape: number[]; dtype: tf.DataType };
interface WasmBackend {
  wasm: { HEAPU8: Uint8Array };
  dataIdMap: { get(id: object): { memoryOffset: number } };
  makeOutput(shape: number[], dtype: tf.DataType): TensorInfo;
}
interface KernelArgs {
  inputs: Record<string, TensorInfo | undefined>;
  attrs: Record<string, unknown>;
  backend: WasmBackend;
}

/** The addon, built by native/build.cjs (same path from src/ and dist/). */
export const ADDON_PATH = path.join(__dirname, '..', '..', '..', 'native', 'build', 'Release', 'milkit_blas.node');

let addon: BlasAddon | undefined;
let status: BlasStatus | undefined;
let installed = false;
let bypass = false;

/**
 * Runs `f` on the plain path (tfjs's own wasm kernels and ops), e.g. to compare numerics. The
 * switch is process-wide until `f` returns, or until its promise settles when it returns one.
 */
export function withoutBlas<T>(f: () => T): T {
  const before = bypass;
  bypass = true;
  let result: T;
  try {
    result = f();
  } catch (err) {
    bypass = before;
    throw err;
  }
  if (result instanceof Promise) return result.finally(() => (bypass = before)) as T;
  bypass = before;
  return result;
}

/** Loads the addon once; OpenBLAS reads its settings when it loads, so they are set first. */
export function loadBlas(): BlasStatus {
  if (status) return status;
  const off = process.env.MILKIT_BLAS;
  if (off === '0' || off === 'false' || off === 'off') return (status = { active: false, reason: 'disabled by MILKIT_BLAS=0' });
  if (!fs.existsSync(ADDON_PATH)) return (status = { active: false, reason: 'native addon not built (needs libopenblas-dev at install; see native/build.cjs)' });
  // Debian's OpenBLAS 0.3.21 picks a slow SSE3 kernel on AVX-512 CPUs it does not know (3.5× slower).
  if (!process.env.OPENBLAS_CORETYPE && hasAvx512()) process.env.OPENBLAS_CORETYPE = 'SkylakeX';
  const threads = Number(process.env.MILKIT_BLAS_THREADS) || Number(process.env.OPENBLAS_NUM_THREADS) || os.cpus().length;
  process.env.OPENBLAS_NUM_THREADS = String(threads);
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    addon = require(ADDON_PATH) as BlasAddon;
    addon.setThreads(threads);
    const info = addon.info();
    return (status = { active: true, threads: info.threads, core: info.core, config: info.config });
  } catch (err) {
    return (status = { active: false, reason: `native addon failed to load: ${err instanceof Error ? err.message.split('\n')[0] : String(err)}` });
  }
}

function hasAvx512(): boolean {
  try {
    return /\bavx512f\b/.test(fs.readFileSync('/proc/cpuinfo', 'utf8'));
  } catch {
    return false;
  }
}

/** Status of the native path (after `installBlasKernels`). */
export function blasStatus(): BlasStatus {
  return status ?? { active: false, reason: 'not loaded' };
}

/**
 * True when matMul runs through sgemm on the current backend: transposed operands then cost
 * nothing, and gradients should pass transpose flags instead of materialising transposes.
 */
export function nativeTransposes(): boolean {
  return installed && !bypass && tf.getBackend() === 'wasm';
}

/** Activations of the native element-wise kernels (codes of native/src/elementwise.c). */
export const NATIVE_ACTIVATIONS = { linear: 0, gelu: 1, tanh: 2, sigmoid: 3, relu: 4 } as const;
export type NativeActivation = keyof typeof NATIVE_ACTIVATIONS;
/** Kernel names: `MilkitActivation` {x} → act(x); `MilkitActivationGrad` {dy, z} → [dy ⊙ act′(z), Σ_rows of it]. */
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
 * iterates [b·iterations·4, m, m] let the gradient skip recomputing them).
 * `MilkitPinvGrad` {x, z0, dz, iterates?} → [dx, dz0].
 */
export const PINV_KERNEL = 'MilkitPinv';
export const PINV_GRAD_KERNEL = 'MilkitPinvGrad';
/** `MilkitSoftmaxGrad` {y, dy} → y ⊙ (dy − Σ_row dy·y): the gradient of the last-axis softmax y. */
export const SOFTMAX_GRAD_KERNEL = 'MilkitSoftmaxGrad';
/** `MilkitSegmentMeans` {x}, attrs {segments, grad}: means of consecutive row runs [s·l, c] → [s, c]; grad: [s, c] → [s·l, c] (÷ l). */
export const SEGMENT_MEANS_KERNEL = 'MilkitSegmentMeans';
/**
 * `MilkitLayerNorm` {x, gamma, beta}, attrs {eps} → [y, x̂, rstd `[rows]`] over the last axis;
 * `MilkitLayerNormGrad` {dy, xhat, rstd, gamma} → [dx, dγ, dβ] (layerNorm.ts).
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

/**
 * Element-wise activations in one vectorised native pass. Why: on wasm, exact GELU is five
 * kernels (an Erf alone ~27 ms on [8000 × 512]) and its derivative six more; tanh and sigmoid
 * are scalar loops. The gradient kernel also sums the rows (the bias gradient), which tfjs-wasm's
 * Sum over axis 0 does through a transpose.
 */
function registerActivationKernels(): void {
  const heapOf = (backend: WasmBackend) => backend.wasm.HEAPU8.buffer as ArrayBuffer;
  const offset = (backend: WasmBackend, t: TensorInfo) => backend.dataIdMap.get(t.dataId).memoryOffset;
  tf.registerKernel({
    kernelName: ACTIVATION_KERNEL,
    backendName: 'wasm',
    kernelFunc: (({ inputs, attrs, backend }: KernelArgs) => {
      const x = inputs.x!;
      const out = backend.makeOutput(x.shape, 'float32');
      const count = x.shape.reduce((p, q) => p * q, 1);
      if (count > 0) addon!.activation(heapOf(backend), offset(backend, x), offset(backend, out), count, NATIVE_ACTIVATIONS[attrs.activation as NativeActivation]);
      return out;
    }) as unknown as tf.KernelFunc,
  });
  tf.registerKernel({
    kernelName: DEPTHWISE_KERNEL,
    backendName: 'wasm',
    kernelFunc: (({ inputs, attrs, backend }: KernelArgs) => {
      const { x, w } = inputs as { x: TensorInfo; w: TensorInfo };
      const a = attrs as { mode: number; padTop: number; padLeft: number; outH: number; outW: number; kh: number; kw: number };
      const [, h, wd, c] = x.shape;
      const out = backend.makeOutput(a.mode === 2 ? [a.kh, a.kw, c, 1] : [1, a.outH, a.outW, c], 'float32');
      addon!.depthwise(heapOf(backend), offset(backend, x), offset(backend, w), offset(backend, out), h, wd, c, a.kh, a.kw, a.padTop, a.padLeft, a.outH, a.outW, a.mode);
      return out;
    }) as unknown as tf.KernelFunc,
  });
  const pinvKernel = (grad: boolean) => (({ inputs, attrs, backend }: KernelArgs) => {
    const { x, z0, dz, iterates } = inputs as { x: TensorInfo; z0: TensorInfo; dz?: TensorInfo; iterates?: TensorInfo };
    const m = x.shape[x.shape.length - 1];
    const batch = x.shape.length === 3 ? x.shape[0] : 1;
    const iterations = attrs.iterations as number;
    // makeOutput may grow the wasm heap (a new ArrayBuffer): take the heap after the last one.
    const at = (t: TensorInfo) => offset(backend, t);
    if (!grad) {
      const z = backend.makeOutput(x.shape, 'float32');
      const kept = attrs.keep ? backend.makeOutput([batch * iterations * 4, m, m], 'float32') : undefined;
      addon!.pinv(heapOf(backend), at(x), at(z0), at(z), batch, m, iterations, -1, -1, -1, kept ? at(kept) : -1);
      return kept ? [z, kept] : z;
    }
    const [dx, dz0] = [backend.makeOutput(x.shape, 'float32'), backend.makeOutput(x.shape, 'float32')];
    addon!.pinv(heapOf(backend), at(x), at(z0), -1, batch, m, iterations, at(dz!), at(dx), at(dz0), iterates ? at(iterates) : -1);
    return [dx, dz0];
  }) as unknown as tf.KernelFunc;
  tf.registerKernel({ kernelName: PINV_KERNEL, backendName: 'wasm', kernelFunc: pinvKernel(false) });
  tf.registerKernel({
    kernelName: SOFTMAX_GRAD_KERNEL,
    backendName: 'wasm',
    kernelFunc: (({ inputs, backend }: KernelArgs) => {
      const { y, dy } = inputs as { y: TensorInfo; dy: TensorInfo };
      const cols = y.shape[y.shape.length - 1];
      const dx = backend.makeOutput(y.shape, 'float32');
      if (cols > 0) addon!.softmaxGrad(heapOf(backend), offset(backend, y), offset(backend, dy), offset(backend, dx), y.shape.reduce((p, q) => p * q, 1) / cols, cols);
      return dx;
    }) as unknown as tf.KernelFunc,
  });
  tf.registerKernel({
    kernelName: LAYER_NORM_KERNEL,
    backendName: 'wasm',
    kernelFunc: (({ inputs, attrs, backend }: KernelArgs) => {
      const { x, gamma, beta } = inputs as { x: TensorInfo; gamma: TensorInfo; beta: TensorInfo };
      const cols = x.shape[x.shape.length - 1];
      const rows = x.shape.reduce((p, q) => p * q, 1) / cols;
      const outs = [backend.makeOutput(x.shape, 'float32'), backend.makeOutput(x.shape, 'float32'), backend.makeOutput([rows], 'float32')];
      const at = (t: TensorInfo) => offset(backend, t);
      addon!.layerNorm(heapOf(backend), at(x), at(gamma), at(beta), at(outs[0]), at(outs[1]), at(outs[2]), rows, cols, attrs.eps as number);
      return outs;
    }) as unknown as tf.KernelFunc,
  });
  tf.registerKernel({
    kernelName: LAYER_NORM_GRAD_KERNEL,
    backendName: 'wasm',
    kernelFunc: (({ inputs, backend }: KernelArgs) => {
      const { dy, xhat, rstd, gamma } = inputs as { dy: TensorInfo; xhat: TensorInfo; rstd: TensorInfo; gamma: TensorInfo };
      const cols = xhat.shape[xhat.shape.length - 1];
      const rows = xhat.shape.reduce((p, q) => p * q, 1) / cols;
      const outs = [backend.makeOutput(xhat.shape, 'float32'), backend.makeOutput([cols], 'float32'), backend.makeOutput([cols], 'float32')];
      const at = (t: TensorInfo) => offset(backend, t);
      addon!.layerNormGrad(heapOf(backend), at(dy), at(xhat), at(rstd), at(gamma), at(outs[0]), at(outs[1]), at(outs[2]), rows, cols);
      return outs;
    }) as unknown as tf.KernelFunc,
  });
  tf.registerKernel({
    kernelName: SEGMENT_MEANS_KERNEL,
    backendName: 'wasm',
    kernelFunc: (({ inputs, attrs, backend }: KernelArgs) => {
      const x = inputs.x!;
      const segments = attrs.segments as number;
      const grad = attrs.grad as boolean;
      const [rows, cols] = x.shape;
      const length = grad ? (attrs.length as number) : rows / segments;
      const y = backend.makeOutput(grad ? [segments * length, cols] : [segments, cols], 'float32');
      addon!.segmentMeans(heapOf(backend), offset(backend, x), offset(backend, y), segments, length, cols, grad ? 1 : 0);
      return y;
    }) as unknown as tf.KernelFunc,
  });
  tf.registerKernel({ kernelName: PINV_GRAD_KERNEL, backendName: 'wasm', kernelFunc: pinvKernel(true) });
  tf.registerKernel({
    kernelName: DROPOUT_KERNEL,
    backendName: 'wasm',
    kernelFunc: (({ inputs, attrs, backend }: KernelArgs) => {
      const x = inputs.x!;
      const keep = attrs.keep as number;
      const out = backend.makeOutput(x.shape, 'float32');
      const count = x.shape.reduce((p, q) => p * q, 1);
      // u/2³² < keep ⇔ u < ceil(keep·2³²) for integer u: the JS comparison, exactly.
      if (count > 0) addon!.dropout(heapOf(backend), offset(backend, x), offset(backend, out), count, attrs.state as number, Math.ceil(keep * 4294967296), Math.fround(1 / keep));
      return out;
    }) as unknown as tf.KernelFunc,
  });
  tf.registerKernel({
    kernelName: ADAM_KERNEL,
    backendName: 'wasm',
    kernelFunc: (({ inputs, attrs, backend }: KernelArgs) => {
      const { theta, m, v, g } = inputs as { theta: TensorInfo; m: TensorInfo; v: TensorInfo; g: TensorInfo };
      const a = attrs as unknown as AdamStepAttrs;
      const outs = [theta, m, v].map((t) => backend.makeOutput(t.shape, 'float32'));
      const count = theta.shape.reduce((p, q) => p * q, 1);
      const [t2, m2, v2] = outs.map((t) => offset(backend, t));
      // 1 − β is computed in double and rounded once, as the tfjs ops get it (a JS number → float32 scalar).
      if (count > 0) addon!.adam(heapOf(backend), offset(backend, theta), offset(backend, m), offset(backend, v), offset(backend, g), t2, m2, v2, count,
        a.l2 > 0 ? 1 : 0, a.decay !== 1 ? 1 : 0, a.l2, a.beta1, 1 - a.beta1, a.beta2, 1 - a.beta2, a.decay, a.rootBc2, a.epsilon, a.stepSize);
      return outs;
    }) as unknown as tf.KernelFunc,
  });
  tf.registerKernel({
    kernelName: ACTIVATION_GRAD_KERNEL,
    backendName: 'wasm',
    kernelFunc: (({ inputs, attrs, backend }: KernelArgs) => {
      const { dy, z } = inputs as { dy: TensorInfo; z: TensorInfo };
      const cols = z.shape[z.shape.length - 1];
      const rows = cols > 0 ? z.shape.reduce((p, q) => p * q, 1) / cols : 0;
      const g = backend.makeOutput(z.shape, 'float32');
      const db = backend.makeOutput([cols], 'float32');
      if (cols > 0) addon!.activationGrad(heapOf(backend), offset(backend, dy), offset(backend, z), offset(backend, g), rows, cols, NATIVE_ACTIVATIONS[attrs.activation as NativeActivation], offset(backend, db));
      return [g, db];
    }) as unknown as tf.KernelFunc,
  });
}

const ACTIVATIONS: Record<string, number> = { linear: 0, relu: 1, sigmoid: 2, relu6: 3, elu: 4, leakyrelu: 5 };

/**
 * Replaces the wasm BatchMatMul and _FusedMatMul kernels (idempotent). Returns the status; the
 * kernels stay tfjs's own when the addon is unavailable.
 */
export function installBlasKernels(): BlasStatus {
  const s = loadBlas();
  if (!s.active || installed) return s;
  const batchMatMul = tf.getKernel(tf.BatchMatMul, 'wasm');
  const fusedMatMul = tf.getKernel(tf._FusedMatMul, 'wasm');
  if (!batchMatMul || !fusedMatMul) return (status = { active: false, reason: 'wasm backend not registered' });
  const replace = (original: tf.KernelConfig, run: (args: KernelArgs) => TensorInfo | undefined) => {
    tf.unregisterKernel(original.kernelName, 'wasm');
    tf.registerKernel({
      ...original,
      kernelFunc: ((args: KernelArgs) => (bypass ? undefined : run(args)) ?? original.kernelFunc(args as never)) as unknown as tf.KernelFunc,
    });
  };
  replace(batchMatMul, (args) => blasMatMul(args, undefined, 0, 0));
  const depthwiseConv = tf.getKernel(tf.DepthwiseConv2dNative, 'wasm');
  if (depthwiseConv) replace(depthwiseConv, (args) => nativeDepthwise(args));
  const softmax = tf.getKernel(tf.Softmax, 'wasm');
  if (softmax) replace(softmax, (args) => nativeSoftmax(args));
  registerActivationKernels();
  replace(fusedMatMul, (args) => {
    const act = ACTIVATIONS[(args.attrs.activation as string) ?? 'linear'];
    if (act === undefined || args.inputs.preluActivationWeights) return undefined;
    return blasMatMul(args, args.inputs.bias, act, (args.attrs.leakyreluAlpha as number) ?? 0.2);
  });
  installed = true;
  return status!;
}

/**
 * Softmax over the last axis natively (vectorised exp). Why: tfjs-wasm's softmax is a scalar exp
 * loop, ~2.5 ms per TransMIL [8192 × 256] map, 64 of them per training step. Its gradient is
 * `SOFTMAX_GRAD_KERNEL` (fastGradients.ts).
 */
function nativeSoftmax({ inputs, attrs, backend }: KernelArgs): TensorInfo | undefined {
  const x = inputs.logits!;
  const cols = x.shape[x.shape.length - 1];
  const dim = attrs.dim as number;
  if (x.dtype !== 'float32' || !(cols > 0) || (dim !== -1 && dim !== x.shape.length - 1)) return undefined;
  const y = backend.makeOutput(x.shape, 'float32');
  addon!.softmax(backend.wasm.HEAPU8.buffer as ArrayBuffer, backend.dataIdMap.get(x.dataId).memoryOffset, backend.dataIdMap.get(y.dataId).memoryOffset,
    x.shape.reduce((p, q) => p * q, 1) / cols, cols);
  return y;
}

/**
 * Stride-1 depthwise convolution of one image natively. Why: tfjs-wasm's kernel takes ~10× longer
 * for TransMIL's 7×7 (PPEG) and 33×1 (Nyström residual) filters. Other settings: undefined (original).
 */
function nativeDepthwise({ inputs, attrs, backend }: KernelArgs): TensorInfo | undefined {
  const x = inputs.x!;
  const f = inputs.filter!;
  const a = attrs as { strides: number | number[]; pad: unknown; dilations?: number | number[]; dataFormat?: string; dimRoundingMode?: string };
  const ones = (v: number | number[] | undefined) => v === undefined || (Array.isArray(v) ? v.every((s) => s === 1) : v === 1);
  if (x.dtype !== 'float32' || f.dtype !== 'float32' || x.shape.length !== 4 || x.shape[0] !== 1 || f.shape[3] !== 1) return undefined;
  if (!ones(a.strides) || !ones(a.dilations) || (a.dataFormat ?? 'NHWC') !== 'NHWC' || a.dimRoundingMode) return undefined;
  const [kh, kw] = f.shape;
  const [, h, w, c] = x.shape;
  const pads = depthwisePads(a.pad, kh, kw);
  if (!pads) return undefined;
  const outH = h + pads.top + pads.bottom - kh + 1;
  const outW = w + pads.left + pads.right - kw + 1;
  if (outH < 1 || outW < 1 || c < 1) return undefined;
  const out = backend.makeOutput([1, outH, outW, c], 'float32');
  const heap = backend.wasm.HEAPU8.buffer as ArrayBuffer;
  const offset = (t: TensorInfo) => backend.dataIdMap.get(t.dataId).memoryOffset;
  addon!.depthwise(heap, offset(x), offset(f), offset(out), h, w, c, kh, kw, pads.top, pads.left, outH, outW, 0);
  return out;
}

/** Padding of a stride-1 convolution: 'same' as tfjs computes it, 'valid', or explicit [[0,0],[t,b],[l,r],[0,0]]. */
export function depthwisePads(pad: unknown, kh: number, kw: number): { top: number; bottom: number; left: number; right: number } | undefined {
  if (pad === 'valid') return { top: 0, bottom: 0, left: 0, right: 0 };
  if (pad === 'same') return { top: Math.floor((kh - 1) / 2), bottom: kh - 1 - Math.floor((kh - 1) / 2), left: Math.floor((kw - 1) / 2), right: kw - 1 - Math.floor((kw - 1) / 2) };
  if (typeof pad === 'number') return { top: pad, bottom: pad, left: pad, right: pad };
  if (Array.isArray(pad) && pad.length === 4) {
    const [, [t, b], [l, r]] = pad as number[][];
    return { top: t, bottom: b, left: l, right: r };
  }
  return undefined;
}

/** C = act(op(A)·op(B) + bias) through sgemm, or undefined for what the original kernel must do. */
function blasMatMul({ inputs, attrs, backend }: KernelArgs, bias: TensorInfo | undefined, act: number, leak: number): TensorInfo | undefined {
  const a = inputs.a!;
  const b = inputs.b!;
  if (a.dtype !== 'float32' || b.dtype !== 'float32' || (bias && bias.dtype !== 'float32')) return undefined;
  const ta = Boolean(attrs.transposeA);
  const tb = Boolean(attrs.transposeB);
  const ra = a.shape.length;
  const rb = b.shape.length;
  if (ra < 2 || rb < 2) return undefined;
  const m = ta ? a.shape[ra - 1] : a.shape[ra - 2];
  const k = ta ? a.shape[ra - 2] : a.shape[ra - 1];
  const n = tb ? b.shape[rb - 2] : b.shape[rb - 1];
  if ((tb ? b.shape[rb - 1] : b.shape[rb - 2]) !== k) return undefined; // the original kernel throws the readable error
  const outerA = a.shape.slice(0, -2);
  const outerB = b.shape.slice(0, -2);
  const batchA = outerA.reduce((p, q) => p * q, 1);
  const batchB = outerB.reduce((p, q) => p * q, 1);
  // Equal batches, or one side a single matrix broadcast over the other's batch.
  let outer: number[];
  if (batchA === batchB && (outerA.length === outerB.length ? outerA.every((d, i) => d === outerB[i]) : batchA === 1)) outer = outerA.length >= outerB.length ? outerA : outerB;
  else if (batchA === 1) outer = outerB;
  else if (batchB === 1) outer = outerA;
  else return undefined;
  const batch = Math.max(batchA, batchB);
  const biasLen = bias ? bias.shape.reduce((p, q) => p * q, 1) : 0;
  // A scalar, per-column or full [M × N] bias (the same for every batch entry).
  const bs = bias?.shape ?? [];
  const perColumn = biasLen === n && bs[bs.length - 1] === n;
  const full = biasLen === m * n && bs[bs.length - 1] === n && bs[bs.length - 2] === m;
  if (bias && biasLen !== 1 && !perColumn && !full) return undefined;
  if (m * n * k === 0) return undefined;
  const out = backend.makeOutput([...outer, m, n], 'float32');
  // The heap is read after makeOutput: an allocation may have grown (replaced) its buffer.
  const heap = backend.wasm.HEAPU8.buffer as ArrayBuffer;
  const offset = (t: TensorInfo) => backend.dataIdMap.get(t.dataId).memoryOffset;
  addon!.matmul(heap, batch, m, n, k, ta ? 1 : 0, tb ? 1 : 0,
    offset(a), batchA === 1 ? 0 : m * k * 4, offset(b), batchB === 1 ? 0 : k * n * 4, offset(out),
    bias ? offset(bias) : -1, biasLen, act, leak);
  return out;
}
