/**
 * Choose, force and report the TensorFlow.js compute backend.
 *
 * Order of preference: tfjs-node-gpu (CUDA) → tfjs-node (libtensorflow CPU) → wasm (SIMD) → cpu.
 * The two tfjs-node packages are optional dependencies: they only install where libtensorflow can be
 * downloaded, so each one is tried with a guarded require and skipped when absent.
 * Force one with `MILKIT_BACKEND=<name>` or `await useBackend('<name>')`.
 */
import * as os from 'node:os';
import * as tf from '@tensorflow/tfjs';
import { registerFastGradients } from './fastGradients';
import { installWasmKernels } from './wasmKernels';
import { describeGpu, gpuReport } from './gpu';
import { type BlasStatus, installBlasKernels } from './blasKernels';

export const BACKENDS = ['tensorflow-gpu', 'tensorflow', 'wasm', 'cpu'] as const;
export type BackendName = (typeof BACKENDS)[number];

export interface BackendInfo {
  /** The active backend. */
  name: BackendName;
  /** The tfjs-internal backend name (`tensorflow` for both tfjs-node packages). */
  tfName: string;
  /** Worker threads the backend computes with (1 for the single-threaded wasm and cpu). */
  threads: number;
  /** Whether wasm uses SIMD instructions. */
  simd?: boolean;
  /** Backends that were tried and why they were skipped. */
  skipped: { name: BackendName; reason: string }[];
  tfjsVersion: string;
  /** On wasm: whether matrix products run through the native OpenBLAS addon (and why not). */
  blas?: BlasStatus;
}

/**
 * One line for logs and `milkit info`, e.g.
 * "wasm SIMD + native sgemm milkit AVX-512 14x32 (2 threads; OpenBLAS SkylakeX)".
 */
export function describeBackend(info: BackendInfo): string {
  const base = `${info.name}${info.simd ? ' SIMD' : ''}`;
  const b = info.blas;
  if (b?.active) {
    const threads = `${b.threads} thread${b.threads === 1 ? '' : 's'}`;
    return b.gemm === 'OpenBLAS'
      ? `${base} + OpenBLAS sgemm (${threads}, ${b.core})`
      : `${base} + native sgemm ${b.gemm} (${threads}; OpenBLAS ${b.core})`;
  }
  const plain = `${base} (${info.threads} thread${info.threads === 1 ? '' : 's'})`;
  return info.blas ? `${plain}; OpenBLAS off: ${info.blas.reason}` : plain;
}

let active: BackendInfo | undefined;

function isBackendName(s: string): s is BackendName {
  return (BACKENDS as readonly string[]).includes(s);
}

/** Loads the package that provides a backend; throws with a readable reason when unavailable. */
async function load(name: BackendName): Promise<{ tfName: string; threads: number; simd?: boolean }> {
  switch (name) {
    case 'tensorflow-gpu':
    case 'tensorflow': {
      process.env.TF_CPP_MIN_LOG_LEVEL ??= '2';
      // eslint-disable-next-line @typescript-eslint/no-require-imports -- optional backend, loaded only when chosen
      require(name === 'tensorflow-gpu' ? '@tensorflow/tfjs-node-gpu' : '@tensorflow/tfjs-node');
      return { tfName: 'tensorflow', threads: Number(process.env.TF_NUM_INTRAOP_THREADS) || os.cpus().length };
    }
    case 'wasm': {
      // eslint-disable-next-line @typescript-eslint/no-require-imports -- optional backend, loaded only when chosen
      require('@tensorflow/tfjs-backend-wasm');
      return { tfName: 'wasm', threads: 1 };
    }
    case 'cpu':
      return { tfName: 'cpu', threads: 1 };
  }
}

/**
 * Selects a backend. With no argument: `MILKIT_BACKEND` if set, otherwise the fastest that loads.
 * A forced backend that cannot load is an error (never a silent fallback).
 */
export async function useBackend(prefer?: BackendName | 'auto'): Promise<BackendInfo> {
  const requested = prefer ?? ((process.env.MILKIT_BACKEND || undefined) as BackendName | 'auto' | undefined) ?? 'auto';
  if (requested !== 'auto' && !isBackendName(requested)) {
    throw new Error(
      `unknown backend "${requested}" (MILKIT_BACKEND or useBackend): expected one of auto, ${BACKENDS.join(', ')}`,
    );
  }
  // tfjs prints a "install the node backend" banner on first use in Node; keep CLI/JSON output clean.
  if (!process.env.MILKIT_DEBUG) tf.env().set('PROD', true);
  registerFastGradients();
  const candidates: BackendName[] = requested === 'auto' ? [...BACKENDS] : [requested];
  const skipped: BackendInfo['skipped'] = [];
  for (const name of candidates) {
    try {
      const restoreHandlers = guardProcessHandlers();
      const loaded = await load(name);
      const ok = await tf.setBackend(loaded.tfName);
      await tf.ready();
      restoreHandlers();
      if (!ok) throw new Error(`tf.setBackend('${loaded.tfName}') failed`);
      if (name === 'tensorflow-gpu' && !gpuVisible())
        throw new Error('tfjs-node-gpu loaded but no CUDA device is visible');
      let simd: boolean | undefined;
      let blas: BlasStatus | undefined;
      if (loaded.tfName === 'wasm') {
        simd = Boolean(await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT'));
        installWasmKernels(); // copy-free Slice/Unpack/SplitV (tfjs-wasm copies the whole input first)
        blas = installBlasKernels(); // matMul through the optional OpenBLAS addon (native/), else wasm's own
      }
      active = {
        name,
        tfName: loaded.tfName,
        threads: loaded.threads,
        simd,
        skipped,
        tfjsVersion: tf.version.tfjs,
        blas,
      };
      if (process.env.MILKIT_DEBUG) console.error(`milkit backend: ${describeBackend(active)}`);
      return active;
    } catch (err) {
      let reason = err instanceof Error ? err.message.split('\n')[0] : String(err);
      // Say what the GPU build needs and what this machine has, not only that the require failed.
      if (name === 'tensorflow-gpu') reason = `${reason}; ${describeGpu(gpuReport())}`;
      if (requested !== 'auto') throw new Error(`backend "${name}" is not available: ${reason}`);
      skipped.push({ name, reason });
    }
  }
  throw new Error(`no TensorFlow.js backend could start: ${skipped.map((s) => `${s.name}: ${s.reason}`).join('; ')}`);
}

/**
 * The emscripten glue of tfjs-backend-wasm installs process-wide `uncaughtException` and
 * `unhandledRejection` handlers that re-throw, which would kill a Jupyter kernel or a test runner
 * over any stray promise. Remove whatever handlers appear while a backend loads.
 */
function guardProcessHandlers(): () => void {
  const events = ['uncaughtException', 'unhandledRejection'] as const;
  const before = events.map((e) => new Set(process.listeners(e)));
  return () => {
    events.forEach((e, i) => {
      for (const l of process.listeners(e))
        if (!before[i].has(l)) process.removeListener(e, l as (...args: unknown[]) => void);
    });
  };
}

function gpuVisible(): boolean {
  // libtensorflow lists devices lazily; a GPU build without a device silently runs on CPU.
  const backend = tf.backend() as unknown as { binding?: { TF_Version?: string }; isUsingGpuDevice?: boolean };
  return backend.isUsingGpuDevice !== false;
}

/** Ensures a backend is active (selecting one on first call) and returns its description. */
export async function ensureBackend(): Promise<BackendInfo> {
  return active && tf.getBackend() === active.tfName ? active : useBackend();
}

/** The active backend, or undefined before the first `ensureBackend()` / `useBackend()`. */
export function backendInfo(): BackendInfo | undefined {
  return active;
}
