/** What the native addon (native/, milkit_blas.node) offers and how a wasm kernel sees its tensors. */
import type * as tf from '@tensorflow/tfjs';

export interface BlasAddon {
  matmul(
    heap: ArrayBuffer,
    batch: number,
    m: number,
    n: number,
    k: number,
    transA: number,
    transB: number,
    offA: number,
    strideA: number,
    offB: number,
    strideB: number,
    offC: number,
    offBias: number,
    biasLen: number,
    act: number,
    leak: number,
  ): void;
  activation(heap: ArrayBuffer, offX: number, offY: number, count: number, act: number): void;
  activationGrad(
    heap: ArrayBuffer,
    offDy: number,
    offZ: number,
    offG: number,
    rows: number,
    cols: number,
    act: number,
    offDb: number,
  ): void;
  dropout(
    heap: ArrayBuffer,
    offX: number,
    offY: number,
    count: number,
    state: number,
    threshold: number,
    scale: number,
  ): void;
  depthwise(
    heap: ArrayBuffer,
    offX: number,
    offW: number,
    offY: number,
    h: number,
    w: number,
    c: number,
    kh: number,
    kw: number,
    padTop: number,
    padLeft: number,
    outH: number,
    outW: number,
    mode: number,
  ): void;
  /**
   * offDz < 0: forward (Z at offZ, iterates at offKeep ≥ 0); else backward (dX at offDx, dZ0 at offDz0). See
   * native/src/pinv.c.
   */
  pinv(
    heap: ArrayBuffer,
    offX: number,
    offZ0: number,
    offZ: number,
    batch: number,
    m: number,
    iterations: number,
    offDz: number,
    offDx: number,
    offDz0: number,
    offKeep: number,
  ): void;
  softmax(heap: ArrayBuffer, offX: number, offY: number, rows: number, cols: number): void;
  softmaxGrad(heap: ArrayBuffer, offY: number, offDy: number, offDx: number, rows: number, cols: number): void;
  /**
   * mode 0: means of `segments` runs of `length` rows; mode 1: their gradient (each mean's dy / length on its rows).
   */
  segmentMeans(
    heap: ArrayBuffer,
    offX: number,
    offY: number,
    segments: number,
    length: number,
    cols: number,
    mode: number,
  ): void;
  layerNorm(
    heap: ArrayBuffer,
    offX: number,
    offGamma: number,
    offBeta: number,
    offY: number,
    offXhat: number,
    offRstd: number,
    rows: number,
    cols: number,
    eps: number,
  ): void;
  layerNormGrad(
    heap: ArrayBuffer,
    offDy: number,
    offXhat: number,
    offRstd: number,
    offGamma: number,
    offDx: number,
    offDgamma: number,
    offDbeta: number,
    rows: number,
    cols: number,
  ): void;
  /** threads: OpenBLAS's current count; smallProducts: products run on one thread so far. */
  adam(
    heap: ArrayBuffer,
    offTheta: number,
    offM: number,
    offV: number,
    offG: number,
    offTheta2: number,
    offM2: number,
    offV2: number,
    count: number,
    l2: number,
    decoupled: number,
    wd: number,
    beta1: number,
    oneMinusBeta1: number,
    beta2: number,
    oneMinusBeta2: number,
    decay: number,
    rootBc2: number,
    eps: number,
    stepSize: number,
  ): void;
  /** gemm: the kernel of the general products ("milkit AVX-512 14x32" or "OpenBLAS"). */
  info(): {
    threads: number;
    core: string;
    config: string;
    smallProductWork: number;
    smallProducts: number;
    gemm: string;
    /** Float lanes of the FMA probe's vectors (16 AVX-512, 8 AVX2, 4 SSE). */
    fmaLanes: number;
    /** Whether the CPU has AVX-512 BF16 (the opt-in bf16 inference products). */
    bf16: boolean;
    /** Their kernel: "AMX" (tiles, where the CPU and Linux allow them), "AVX512-BF16" (vdpbf16ps) or "". */
    bf16Kernel: string;
  };
  /** Threads for large products; `smallWork`: multiply-adds below which a product runs on one thread. */
  setThreads(n: number, smallWork?: number): void;
  /** Chooses the general products' kernel; false when that kernel cannot run on this CPU. */
  setGemm(kernel: 'milkit' | 'openblas'): boolean;
  /** Largest error of the active kernel against a double-precision loop, relative to max |C|. */
  selfTest(): number;
  /** GFLOP/s of one burst of the FMA probe: `threads` threads, `iters` rounds of 16 vector FMAs each. */
  fmaPeak(threads: number, iters: number): number;
  /**
   * The same probe for the bf16 kernel (AMX: 4 tile products of 16×16×32 a round; else 16
   * vdpbf16ps); 0 without AVX-512 BF16.
   */
  bf16Peak(threads: number, iters: number): number;
  /** Chooses the bf16 kernel: AMX tiles or vdpbf16ps; false when it cannot run here. */
  setBf16Kernel(kernel: 'amx' | 'avx512'): boolean;
  /** op(B) `[k × n]` at offB packed as bfloat16 for `matmulBf16` (native/src/bf16.c). */
  bf16Pack(heap: ArrayBuffer, offB: number, k: number, n: number, transB: number): ArrayBuffer;
  /** C = act(A·op(B) + bias) from split bfloat16 products, float32 sums (native/src/bf16.c); bias as in `matmul`. */
  matmulBf16(
    heap: ArrayBuffer,
    m: number,
    n: number,
    k: number,
    offA: number,
    packed: ArrayBuffer,
    offC: number,
    offBias: number,
    biasLen: number,
    act: number,
    leak: number,
  ): void;
  /** Largest error of the split bf16 product against a double product (of max |C|); -1 without AVX-512 BF16. */
  bf16SelfTest(): number;
}

export interface BlasStatus {
  active: boolean;
  /** OpenBLAS threads, kernel family (e.g. SkylakeX) and build config when active. */
  threads?: number;
  core?: string;
  config?: string;
  /** The kernel of the general products: milkit's AVX-512 one or OpenBLAS (`MILKIT_GEMM`). */
  gemm?: string;
  /** Its self-test error (relative to max |C|) against a double-precision product. */
  selfTestError?: number;
  /** Why the native path is off, when it is. */
  reason?: string;
}

export type TensorInfo = { dataId: object; shape: number[]; dtype: tf.DataType };
export interface WasmBackend {
  wasm: { HEAPU8: Uint8Array };
  dataIdMap: { get(id: object): { memoryOffset: number } };
  makeOutput(shape: number[], dtype: tf.DataType): TensorInfo;
}
export interface KernelArgs {
  inputs: Record<string, TensorInfo | undefined>;
  attrs: Record<string, unknown>;
  backend: WasmBackend;
}
