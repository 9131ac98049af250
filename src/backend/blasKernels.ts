/**
 * OpenBLAS sgemm as the wasm backend's BatchMatMul and _FusedMatMul kernels (optional native path),
 * plus native Softmax and DepthwiseConv2dNative kernels and milkit's own kernels (nativeKernels.ts).
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
 *
 * The general products run on milkit's packed AVX-512 sgemm (native/src/gemm.c) where the CPU has
 * AVX-512 (faster than OpenBLAS 0.3.21 and Debian's BLIS there, measured in `npm run bench`), else on
 * OpenBLAS; `MILKIT_GEMM=openblas` forces OpenBLAS. Whichever runs is checked once against a
 * double-precision product when the addon loads, and the native path stays off when it is wrong
 * (OpenBLAS builds pick kernels by CPU model or `OPENBLAS_CORETYPE`, and some pairings are wrong).
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { registerNativeKernels } from './nativeKernels';
import type { BlasAddon, BlasStatus, KernelArgs, TensorInfo } from './types';

export type { BlasAddon, BlasStatus } from './types';

/** The addon, built by native/build.cjs (same path from src/ and dist/). */
export const ADDON_PATH = path.join(__dirname, '..', '..', 'native', 'build', 'Release', 'milkit_blas.node');

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

/** Precision of inference products by model weights: float32 (the default) or bfloat16 (opt-in). */
export type InferencePrecision = 'float32' | 'bf16';
let precision: InferencePrecision = 'float32';
let bf16Checked: boolean | undefined;
/**
 * bf16 copies of weight tensors, packed once per tensor and use (`k×n` and transposition: a reshape
 * shares the dataId); an update of a variable gives it a new dataId, so a copy is never stale.
 */
const packedWeights = new WeakMap<object, Map<string, ArrayBuffer>>();

/**
 * Whether `withPrecision('bf16', …)` runs bfloat16 products here: the native path is active, the CPU
 * has AVX-512 BF16, and the bf16 kernel passed its self-test against a double-precision product.
 */
export function bf16Available(): boolean {
  if (!installed || !addon || !addon.info().bf16) return false;
  // Float32 sums of bf16 products: a correct kernel is within ~1e-6 of max |C| of the exact sum.
  if (bf16Checked === undefined) {
    const error = addon.bf16SelfTest(); // -1: no AVX-512 BF16
    bf16Checked = error >= 0 && error < 1e-4;
  }
  return bf16Checked;
}

/**
 * Runs `f` with inference products by model weights (dense layers, projections: x·W with W a
 * variable) in bf16; everything else, and anything recorded for or back-propagated through a
 * gradient, stays float32. Each operand is split into two bfloat16 parts and three bfloat16 products
 * are summed in float32 (native/src/bf16.c): results within ~1e-5 of float32's, on AMX tiles about
 * twice as fast as the float32 projection. Where `bf16Available()` is false the products stay float32
 * (callers that promise bf16 say so). Process-wide while `f` (or its promise) runs, like `withoutBlas`.
 */
export function withPrecision<T>(p: InferencePrecision, f: () => T): T {
  const before = precision;
  precision = p;
  let result: T;
  try {
    result = f();
  } catch (err) {
    precision = before;
    throw err;
  }
  if (result instanceof Promise) return result.finally(() => (precision = before)) as T;
  precision = before;
  return result;
}

/** Loads the addon once; OpenBLAS reads its settings when it loads, so they are set first. */
export function loadBlas(): BlasStatus {
  if (status) return status;
  const off = process.env.MILKIT_BLAS;
  if (off === '0' || off === 'false' || off === 'off')
    return (status = { active: false, reason: 'disabled by MILKIT_BLAS=0' });
  if (!fs.existsSync(ADDON_PATH))
    return (status = {
      active: false,
      reason: 'native addon not built (needs libopenblas-dev at install; see native/build.cjs)',
    });
  // Debian's OpenBLAS 0.3.21 picks a slow SSE3 kernel on AVX-512 CPUs it does not know (3.5× slower).
  if (!process.env.OPENBLAS_CORETYPE && hasAvx512()) process.env.OPENBLAS_CORETYPE = 'SkylakeX';
  const threads =
    Number(process.env.MILKIT_BLAS_THREADS) || Number(process.env.OPENBLAS_NUM_THREADS) || os.cpus().length;
  process.env.OPENBLAS_NUM_THREADS = String(threads);
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- an optional native addon, loaded by path
    addon = require(ADDON_PATH) as BlasAddon;
    addon.setThreads(threads);
    const wanted = process.env.MILKIT_GEMM || 'milkit';
    if (wanted !== 'milkit' && wanted !== 'openblas')
      return (status = { active: false, reason: `MILKIT_GEMM must be "milkit" or "openblas", not "${wanted}"` });
    addon.setGemm(wanted);
    const info = addon.info();
    const error = addon.selfTest();
    // float32 over K ≤ 4500 with inputs in ±0.5: a correct kernel stays near 1e-6 of max |C|.
    if (!(error < 1e-4)) {
      addon = undefined;
      return (status = {
        active: false,
        reason:
          `${info.gemm} sgemm (${info.core}) computes wrong products on this CPU (error ${error.toExponential(1)} ` +
          `of max |C|); set OPENBLAS_CORETYPE to another kernel family or MILKIT_GEMM`,
      });
    }
    return (status = {
      active: true,
      threads: info.threads,
      core: info.core,
      config: info.config,
      gemm: info.gemm,
      selfTestError: error,
    });
  } catch (err) {
    return (status = {
      active: false,
      reason: `native addon failed to load: ${err instanceof Error ? err.message.split('\n')[0] : String(err)}`,
    });
  }
}

function hasAvx512(): boolean {
  try {
    return /\bavx512f\b/.test(fs.readFileSync('/proc/cpuinfo', 'utf8'));
  } catch {
    return false;
  }
}

/** The loaded addon (for benchmarks: `setGemm`, `fmaPeak`), or undefined when the native path is off. */
export function nativeBlas(): BlasAddon | undefined {
  return status?.active ? addon : undefined;
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
      kernelFunc: ((args: KernelArgs) =>
        (bypass ? undefined : run(args)) ?? original.kernelFunc(args as never)) as unknown as tf.KernelFunc,
    });
  };
  replace(batchMatMul, (args) => blasMatMul(args, undefined, 0, 0));
  const depthwiseConv = tf.getKernel(tf.DepthwiseConv2dNative, 'wasm');
  if (depthwiseConv) replace(depthwiseConv, (args) => nativeDepthwise(args));
  const softmax = tf.getKernel(tf.Softmax, 'wasm');
  if (softmax) replace(softmax, (args) => nativeSoftmax(args));
  registerNativeKernels(addon!);
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
  addon!.softmax(
    backend.wasm.HEAPU8.buffer as ArrayBuffer,
    backend.dataIdMap.get(x.dataId).memoryOffset,
    backend.dataIdMap.get(y.dataId).memoryOffset,
    x.shape.reduce((p, q) => p * q, 1) / cols,
    cols,
  );
  return y;
}

/**
 * Stride-1 depthwise convolution of one image natively. Why: tfjs-wasm's kernel takes ~10× longer
 * for TransMIL's 7×7 (PPEG) and 33×1 (Nyström residual) filters. Other settings: undefined (original).
 */
function nativeDepthwise({ inputs, attrs, backend }: KernelArgs): TensorInfo | undefined {
  const x = inputs.x!;
  const f = inputs.filter!;
  const a = attrs as {
    strides: number | number[];
    pad: unknown;
    dilations?: number | number[];
    dataFormat?: string;
    dimRoundingMode?: string;
  };
  const ones = (v: number | number[] | undefined) =>
    v === undefined || (Array.isArray(v) ? v.every((s) => s === 1) : v === 1);
  if (x.dtype !== 'float32' || f.dtype !== 'float32' || x.shape.length !== 4 || x.shape[0] !== 1 || f.shape[3] !== 1)
    return undefined;
  if (!ones(a.strides) || !ones(a.dilations) || (a.dataFormat ?? 'NHWC') !== 'NHWC' || a.dimRoundingMode)
    return undefined;
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
export function depthwisePads(
  pad: unknown,
  kh: number,
  kw: number,
): { top: number; bottom: number; left: number; right: number } | undefined {
  if (pad === 'valid') return { top: 0, bottom: 0, left: 0, right: 0 };
  if (pad === 'same')
    return {
      top: Math.floor((kh - 1) / 2),
      bottom: kh - 1 - Math.floor((kh - 1) / 2),
      left: Math.floor((kw - 1) / 2),
      right: kw - 1 - Math.floor((kw - 1) / 2),
    };
  if (typeof pad === 'number') return { top: pad, bottom: pad, left: pad, right: pad };
  if (Array.isArray(pad) && pad.length === 4) {
    const [, [t, b], [l, r]] = pad as number[][];
    return { top: t, bottom: b, left: l, right: r };
  }
  return undefined;
}

/**
 * The bf16 copy of `b` when this product runs in bf16: `withPrecision('bf16')` is on, no gradient
 * is being recorded or back-propagated, and `b` is a model weight (a variable's tensor), packed on
 * first use.
 */
function bf16Weight(b: TensorInfo, k: number, n: number, tb: boolean, heap: ArrayBuffer, offB: number) {
  if (precision !== 'bf16' || !bf16Available()) return undefined;
  // Recording a tape (gradientDepth) or back-propagating through one (tfjs runs the backward pass in
  // a scope named 'backward'). Not `activeTape`: tfjs leaves it set after a forward or backward pass
  // that threw, which would turn bf16 off for the rest of the process.
  const state = tf.engine().state as unknown as { gradientDepth: number; scopeStack: { name: string }[] };
  if (state.gradientDepth > 0 || state.scopeStack.some((s) => s.name === 'backward')) return undefined;
  const use = `${k}x${n}${tb ? 't' : ''}`;
  const cached = packedWeights.get(b.dataId)?.get(use);
  if (cached) return cached;
  const variables = Object.values(tf.engine().state.registeredVariables);
  if (!variables.some((v) => (v as unknown as { dataId: object }).dataId === b.dataId)) return undefined;
  const packed = addon!.bf16Pack(heap, offB, k, n, tb ? 1 : 0);
  const uses = packedWeights.get(b.dataId) ?? new Map<string, ArrayBuffer>();
  packedWeights.set(b.dataId, uses.set(use, packed));
  return packed;
}

/** C = act(op(A)·op(B) + bias) through sgemm, or undefined for what the original kernel must do. */
function blasMatMul(
  { inputs, attrs, backend }: KernelArgs,
  bias: TensorInfo | undefined,
  act: number,
  leak: number,
): TensorInfo | undefined {
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
  if (batchA === batchB && (outerA.length === outerB.length ? outerA.every((d, i) => d === outerB[i]) : batchA === 1))
    outer = outerA.length >= outerB.length ? outerA : outerB;
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
  const packed = batch === 1 && !ta && m >= 2 ? bf16Weight(b, k, n, tb, heap, offset(b)) : undefined;
  if (packed) {
    addon!.matmulBf16(heap, m, n, k, offset(a), packed, offset(out), bias ? offset(bias) : -1, biasLen, act, leak);
    return out;
  }
  addon!.matmul(
    heap,
    batch,
    m,
    n,
    k,
    ta ? 1 : 0,
    tb ? 1 : 0,
    offset(a),
    batchA === 1 ? 0 : m * k * 4,
    offset(b),
    batchB === 1 ? 0 : k * n * 4,
    offset(out),
    bias ? offset(bias) : -1,
    biasLen,
    act,
    leak,
  );
  return out;
}
