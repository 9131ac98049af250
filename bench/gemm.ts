/**
 * The projection's matrix products against the measured FMA peak of this machine.
 *
 * For [N × D]·[D × 512] (forward) and its two gradient products (Xᵀ·dY for the weights, dY·Wᵀ for
 * the input of a hidden layer), each timed step runs, back to back: the FMA probe (native/src/peak.c,
 * as many threads as the products use, for about as long as one product), the product through
 * milkit's AVX-512 sgemm, and the same product through OpenBLAS. Interleaving makes the three see the
 * same machine: on a shared machine the load moves all of them together, so the fraction of the
 * peak is taken from the medians of the same run. Needs the native addon (wasm backend).
 */
import * as tf from '@tensorflow/tfjs';
import { nativeBlas } from 'milkit';

export interface GemmRow {
  product: string;
  kernel: string;
  /** GFLOP/s: the fastest step and the median step, of `steps`. */
  best: number;
  median: number;
  steps: number;
  /** median / median FMA peak of the same steps. */
  fractionOfPeak: number;
  /** The same per CPU-second of the process (all threads): what a busy machine disturbs least. */
  medianPerCpuSecond: number;
  fractionOfPeakPerCpuSecond: number;
}

export interface GemmReport {
  threads: number;
  peak: { best: number; median: number; steps: number; medianPerCpuSecond: number };
  rows: GemmRow[];
}

const median = (v: number[]) => [...v].sort((a, b) => a - b)[Math.floor(v.length / 2)];

export function gemmBench(n: number, dim: number, steps: number): GemmReport | undefined {
  const addon = nativeBlas();
  if (!addon) return undefined;
  const info = addon.info();
  const threads = info.threads;
  const kernels = addon.setGemm('milkit') ? (['milkit', 'openblas'] as const) : (['openblas'] as const);
  const x = tf.randomNormal([n, dim], 0, 1, 'float32', 1) as tf.Tensor2D;
  const w = tf.randomNormal([dim, 512], 0, 0.02, 'float32', 2) as tf.Tensor2D;
  const dy = tf.randomNormal([n, 512], 0, 1, 'float32', 3) as tf.Tensor2D;
  const products: [string, () => tf.Tensor][] = [
    [`X·W [${n}×${dim}]·[${dim}×512]`, () => tf.matMul(x, w)],
    [`Xᵀ·dY [${dim}×${n}]·[${n}×512]`, () => tf.matMul(x, dy, true, false)],
    [`dY·Wᵀ [${n}×512]·[512×${dim}]`, () => tf.matMul(dy, w, false, true)],
  ];
  const flops = 2 * n * dim * 512;
  // Probe rounds: 16 FMAs × lanes × 2 flops per round and thread; sized to ~one product at peak.
  const peakIters = Math.max(1000, Math.round(flops / threads / (16 * info.fmaLanes * 2)));
  const peaks: number[] = [];
  const peaksCpu: number[] = [];
  const times = new Map<string, number[]>();
  const cpuTimes = new Map<string, number[]>();
  const cpuSeconds = (c0: NodeJS.CpuUsage) => {
    const c = process.cpuUsage(c0);
    return (c.user + c.system) / 1e6;
  };
  const run = (f: () => tf.Tensor) => {
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    const y = f(); // the native kernels run synchronously inside matMul
    const s = (performance.now() - t0) / 1000;
    const cpu = cpuSeconds(c0);
    y.dispose();
    return { s, cpu };
  };
  try {
    for (let step = -1; step < steps; step++) {
      const c0 = process.cpuUsage();
      const peak = addon.fmaPeak(threads, peakIters);
      const cpu = cpuSeconds(c0);
      if (step >= 0) {
        peaks.push(peak);
        peaksCpu.push((threads * peakIters * 16 * addon.info().fmaLanes * 2) / cpu / 1e9);
      }
      for (const [name, f] of products)
        for (const k of kernels) {
          addon.setGemm(k);
          const { s, cpu } = run(f);
          if (step < 0) continue; // warm-up
          const key = `${name}\t${k}`;
          times.set(key, [...(times.get(key) ?? []), flops / s / 1e9]);
          cpuTimes.set(key, [...(cpuTimes.get(key) ?? []), flops / cpu / 1e9]);
        }
    }
  } finally {
    addon.setGemm(info.gemm === 'OpenBLAS' ? 'openblas' : 'milkit');
    tf.dispose([x, w, dy]);
  }
  const peakMedian = median(peaks);
  const peakCpuMedian = median(peaksCpu);
  const rows: GemmRow[] = [...times].map(([key, g]) => {
    const [product, kernel] = key.split('\t');
    return {
      product,
      kernel: kernel === 'milkit' ? 'milkit AVX-512' : `OpenBLAS ${info.core}`,
      best: Math.max(...g),
      median: median(g),
      steps: g.length,
      fractionOfPeak: median(g) / peakMedian,
      medianPerCpuSecond: median(cpuTimes.get(key)!),
      fractionOfPeakPerCpuSecond: median(cpuTimes.get(key)!) / peakCpuMedian,
    };
  });
  const peak = { best: Math.max(...peaks), median: peakMedian, steps: peaks.length, medianPerCpuSecond: peakCpuMedian };
  return { threads, peak, rows };
}
