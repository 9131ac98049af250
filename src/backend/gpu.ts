/**
 * What the GPU backend needs and whether this machine has it, for `milkit info` and the reason a
 * skipped tensorflow-gpu backend gives. `@tensorflow/tfjs-node-gpu` 4.22 downloads libtensorflow
 * 2.9.1, built for CUDA 11.2 and cuDNN 8.1: it loads only where these libraries (by these sonames)
 * and an NVIDIA device are present.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

/** The shared libraries libtensorflow 2.9.1's GPU build opens (CUDA 11.2, cuDNN 8.1). */
export const GPU_LIBRARIES = [
  'libcudart.so.11.0',
  'libcublas.so.11',
  'libcublasLt.so.11',
  'libcufft.so.10',
  'libcurand.so.10',
  'libcusolver.so.11',
  'libcusparse.so.11',
  'libcudnn.so.8',
] as const;

export interface GpuReport {
  /** Each library and where it was found (undefined: not found in `searched`). */
  libraries: { name: string; path?: string }[];
  /** Directories searched, in order (LD_LIBRARY_PATH, the conda env, CUDA's and Debian's defaults). */
  searched: string[];
  /** The NVIDIA driver's version line, or undefined when no driver/device is visible. */
  driver?: string;
}

export function gpuReport(env: NodeJS.ProcessEnv = process.env): GpuReport {
  const searched = [
    ...(env.LD_LIBRARY_PATH ?? '').split(':'),
    env.CONDA_PREFIX ? path.join(env.CONDA_PREFIX, 'lib') : '',
    '/usr/local/cuda/lib64',
    '/usr/local/cuda-11.2/lib64',
    '/usr/lib/x86_64-linux-gnu',
    '/usr/lib64',
  ].filter((d, i, all) => d && all.indexOf(d) === i);
  const libraries = GPU_LIBRARIES.map((name) => ({
    name,
    path: searched.map((d) => path.join(d, name)).find((p) => fs.existsSync(p)),
  }));
  let driver: string | undefined;
  try {
    driver = fs.readFileSync('/proc/driver/nvidia/version', 'utf8').split('\n')[0].trim();
  } catch {
    driver = fs.existsSync('/dev/nvidia0') ? 'device /dev/nvidia0 (driver version unknown)' : undefined;
  }
  return { libraries, searched, driver };
}

/**
 * One clause for the skip reason, e.g. "CUDA 11.2 / cuDNN 8.1 libraries: 0 of 8 found (missing …); NVIDIA driver:
 * none".
 */
export function describeGpu(r: GpuReport): string {
  const missing = r.libraries.filter((l) => !l.path).map((l) => l.name);
  const found = r.libraries.length - missing.length;
  const libs =
    `CUDA 11.2 / cuDNN 8.1 libraries: ${found} of ${r.libraries.length} ` +
    `found${missing.length ? ` (missing ${missing.join(', ')}; searched ${r.searched.join(', ')})` : ''}`;
  return `${libs}; NVIDIA driver: ${r.driver ?? 'none (no /proc/driver/nvidia/version, no /dev/nvidia0)'}`;
}
