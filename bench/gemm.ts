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
import { nativeBlas, withPrecision } from 'milkit';

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

export interface Peak {
  best: number;
  median: number;
  steps: number;
  medianPerCpuSecond: number;
}

export interface GemmReport {
  threads: number;
  /** The FMA probe on all threads, and on one (what one core does: the 2-thread probe's median near it
   * means the threads did not run side by side, e.g. other processes held a core). */
  peak: Peak;
  peakOneThread: Peak;
  /** The probe of the bf16 kernel (AMX tiles or vdpbf16ps): the peak the bf16 rows are a fraction of. */
  peakBf16?: Peak;
  bf16Kernel?: string;
  rows: GemmRow[];
}

const median = (v: number[]) => [...v].sort((a, b) => a - b)[Math.floor(v.length / 2)];

export function gemmBench(n: number, dim: number, steps: number): GemmReport | undefined {
  const addon = nativeBlas();
  if (!addon) return undefined;
  const info = addon.info();
  const threads = info.threads;
  type Kernel = 'milkit' | 'openblas' | 'bf16';
  const kernels: Kernel[] = addon.setGemm('milkit') ? ['milkit', 'openblas'] : ['openblas'];
  const x = tf.randomNormal([n, dim], 0, 1, 'float32', 1) as tf.Tensor2D;
  // A variable, as model weights are: the bf16 path converts weights once (bf16Weight in blasKernels.ts).
  const w0 = tf.randomNormal([dim, 512], 0, 0.02, 'float32', 2);
  const w = tf.variable(w0, false, 'bench-gemm/w') as tf.Variable<tf.Rank.R2>;
  w0.dispose();
  const dy = tf.randomNormal([n, 512], 0, 1, 'float32', 3) as tf.Tensor2D;
  const bf16 = info.bf16;
  const products: [string, () => tf.Tensor, Kernel[]][] = [
    [`X·W [${n}×${dim}]·[${dim}×512]`, () => tf.matMul(x, w), [...kernels, ...(bf16 ? (['bf16'] as const) : [])]],
    [`Xᵀ·dY [${dim}×${n}]·[${n}×512]`, () => tf.matMul(x, dy, true, false), kernels],
    [`dY·Wᵀ [${n}×512]·[512×${dim}]`, () => tf.matMul(dy, w, false, true), kernels],
  ];
  const flops = 2 * n * dim * 512;
  // Probe rounds: 16 FMAs × lanes × 2 flops per round and thread; sized to ~one product at peak.
  const peakIters = Math.max(1000, Math.round(flops / threads / (16 * info.fmaLanes * 2)));
  const probes = { all: [] as number[][], one: [] as number[][], bf16: [] as number[][] }; // [GFLOP/s, per CPU-s]
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
  const probe = (
    kind: keyof typeof probes,
    t: number,
    run: () => number,
    flopsPerRound: number,
    step: number,
    iters = peakIters,
  ) => {
    const c0 = process.cpuUsage();
    const gflops = run();
    if (step >= 0) probes[kind].push([gflops, (t * iters * flopsPerRound) / cpuSeconds(c0) / 1e9]);
  };
  try {
    for (let step = -1; step < steps; step++) {
      const fmaRound = 16 * info.fmaLanes * 2;
      probe('all', threads, () => addon.fmaPeak(threads, peakIters), fmaRound, step);
      probe('one', 1, () => addon.fmaPeak(1, peakIters), fmaRound, step);
      // A round of the bf16 probe: 4 AMX tile products (16×16×32 multiply-adds each), or 16 vdpbf16ps.
      const bf16Round = info.bf16Kernel === 'AMX' ? 4 * 16 * 16 * 32 * 2 : 16 * 16 * 4;
      const bf16Iters = Math.max(100, Math.round((peakIters * fmaRound) / bf16Round));
      if (bf16) probe('bf16', threads, () => addon.bf16Peak(threads, bf16Iters), bf16Round, step, bf16Iters);
      for (const [name, f, ks] of products)
        for (const k of ks) {
          if (k !== 'bf16') addon.setGemm(k);
          const { s, cpu } = run(k === 'bf16' ? () => withPrecision('bf16', f) : f);
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
  const summary = (v: number[][]): Peak => ({
    best: Math.max(...v.map((p) => p[0])),
    median: median(v.map((p) => p[0])),
    steps: v.length,
    medianPerCpuSecond: median(v.map((p) => p[1])),
  });
  const peak = summary(probes.all);
  const peakOneThread = summary(probes.one);
  const peakBf16 = bf16 ? summary(probes.bf16) : undefined;
  const rows: GemmRow[] = [...times].map(([key, g]) => {
    const [product, kernel] = key.split('\t');
    const against = kernel === 'bf16' ? peakBf16! : peak;
    return {
      product,
      kernel:
        kernel === 'milkit'
          ? 'milkit AVX-512'
          : kernel === 'bf16'
            ? `bf16 ${info.bf16Kernel} (opt-in)`
            : `OpenBLAS ${info.core}`,
      best: Math.max(...g),
      median: median(g),
      steps: g.length,
      fractionOfPeak: median(g) / against.median,
      medianPerCpuSecond: median(cpuTimes.get(key)!),
      fractionOfPeakPerCpuSecond: median(cpuTimes.get(key)!) / against.medianPerCpuSecond,
    };
  });
  return { threads, peak, peakOneThread, peakBf16, bf16Kernel: bf16 ? info.bf16Kernel : undefined, rows };
}
