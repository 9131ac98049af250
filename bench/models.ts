/**
 * Model benchmark cases and the measurement of one case.
 *
 * A case builds a model for a feature width; the runner measures, on the active backend:
 *  - train step seconds per bag: upload the bag, forward, loss, gradient, Adam update (src/train's),
 *    one host read: the trainer's own step (`trainStep`), the one path every model, MHIM too, takes;
 *  - inference seconds per bag: upload, forward, read the logits;
 *  - achieved GFLOP/s of the projection product [N × D]·[D × 512] alone;
 *  - peak RSS of the process (run each case in its own process for a per-case figure).
 * One warm-up step of each kind is excluded; each time is the minimum over the timed steps (the
 * machine is shared: the minimum is the least disturbed run), next to the process CPU seconds of
 * that step (user + system, all threads), which a busy machine inflates much less than wall time.
 */
import * as tf from '@tensorflow/tfjs';
import {
  Adam,
  type MilModel,
  Rng,
  type Target,
  bf16Available,
  createModel,
  forwardBag,
  trainStep,
  withPrecision,
} from 'milkit';
import { MHIM_BENCH_CASES } from './mhim';

export interface BenchCase {
  description: string;
  create(dim: number): MilModel;
}

export interface BenchResult {
  model: string;
  instances: number;
  dim: number;
  /** null when the case failed (see `error`). */
  trainSecondsPerBag: number | null;
  inferSecondsPerBag: number | null;
  /** Median seconds of the timed steps, and how many steps were timed (after one warm-up). */
  trainMedianSecondsPerBag?: number | null;
  inferMedianSecondsPerBag?: number | null;
  steps?: number;
  /** Process CPU seconds of the fastest train / inference step (all threads). */
  trainCpuSecondsPerBag?: number | null;
  inferCpuSecondsPerBag?: number | null;
  /** Inference with the opt-in bf16 products (AVX-512 BF16 hosts), steps interleaved with float32's. */
  inferBf16SecondsPerBag?: number | null;
  inferBf16MedianSecondsPerBag?: number | null;
  inferBf16CpuSecondsPerBag?: number | null;
  gflops: number | null;
  peakRssMB: number | null;
  error?: string;
}

/** The cases, in report order: three plain models, then MHIM-v2 around two of them (bench/mhim.ts's cases). */
const CASES: Record<string, BenchCase> = {
  abmil: {
    description: 'AB-MIL, tanh attention (published defaults)',
    create: (dim) => createModel('abmil', { inputDim: dim, seed: 1 }),
  },
  transmil: {
    description: 'TransMIL, 2 Nyström layers + PPEG',
    create: (dim) => createModel('transmil', { inputDim: dim, seed: 1 }),
  },
  dsmil: {
    description: 'DSMIL, dual stream',
    create: (dim) => createModel('dsmil', { inputDim: dim, seed: 1 }),
  },
  ...Object.fromEntries(
    Object.entries(MHIM_BENCH_CASES).map(([name, c]): [string, BenchCase] => [
      name,
      {
        description: `MHIM-v2(${c.base}): teacher on all N, masking, GRN, student step, EMA`,
        create: (dim) =>
          createModel('mhim', {
            inputDim: dim,
            seed: 1,
            base: c.base,
            baseConfig: c.baseConfig,
            mhim: { version: 'v2' },
          }),
      },
    ]),
  ),
};

export function benchCases(): Map<string, BenchCase> {
  return new Map(Object.entries(CASES));
}

export interface RunOptions {
  instances: number;
  dim: number;
  /** Timed steps of each kind (after one warm-up). */
  steps: number;
}

export async function runCase(name: string, opts: RunOptions): Promise<BenchResult> {
  const c = CASES[name];
  if (!c) throw new Error(`unknown bench case "${name}"; known: ${Object.keys(CASES).join(', ')}`);
  const { instances: n, dim, steps } = opts;
  const features = new Float32Array(n * dim);
  const rng = new Rng(42);
  for (let i = 0; i < features.length; i++) features[i] = rng.normal();
  const target: Target = { kind: 'class', label: 1, numClasses: 2 };
  const model = c.create(dim);
  // The trainer's optimiser (milkit Adam, L2 weight decay 1e-5 as in MHIM-MIL's configs), not tfjs's own.
  const optimizer = new Adam(model.trainableVariables(), { lr: 2e-4, weightDecay: 1e-5 });

  const step = async () => {
    await trainStep(model, { id: 'bench', features, numInstances: n, dim }, target, optimizer);
  };
  const inferStep = async () => {
    // The library's inference path: huge bags stream from host memory (AB-MIL), others upload.
    const bag = { id: 'bench', features, numInstances: n, dim };
    const logits = tf.tidy(() => forwardBag(model, bag, { training: false }).logits);
    await logits.data();
    logits.dispose();
  };
  const train = await timed(step, steps);
  // float32 and bf16 inference step by step, so both see the same machine.
  const [infer, inferBf16] = bf16Available()
    ? await timed(inferStep, steps, () => withPrecision('bf16', inferStep))
    : [await timed(inferStep, steps)];
  const gflops = projectionGflops(features, n, dim);
  model.dispose();
  optimizer.dispose();
  return {
    model: name,
    instances: n,
    dim,
    trainSecondsPerBag: train.wall,
    inferSecondsPerBag: infer.wall,
    trainMedianSecondsPerBag: train.median,
    inferMedianSecondsPerBag: infer.median,
    steps,
    trainCpuSecondsPerBag: train.cpu,
    inferCpuSecondsPerBag: infer.cpu,
    inferBf16SecondsPerBag: inferBf16?.wall ?? null,
    inferBf16MedianSecondsPerBag: inferBf16?.median ?? null,
    inferBf16CpuSecondsPerBag: inferBf16?.cpu ?? null,
    gflops,
    peakRssMB: Math.round(process.resourceUsage().maxRSS / 1024),
  };
}

type Timing = { wall: number; median: number; cpu: number };

/**
 * Wall seconds of the fastest and the median of `steps` calls after one warm-up call, and the fewest
 * CPU seconds; with `other`, the same for it, each of its calls right after one of `step`'s.
 */
export async function timed(step: () => Promise<void>, steps: number): Promise<Timing>;
export async function timed(
  step: () => Promise<void>,
  steps: number,
  other: () => Promise<void>,
): Promise<[Timing, Timing]>;
export async function timed(
  step: () => Promise<void>,
  steps: number,
  other?: () => Promise<void>,
): Promise<Timing | [Timing, Timing]> {
  const fns = other ? [step, other] : [step];
  for (const f of fns) await f();
  const walls = fns.map((): number[] => []);
  const cpus = fns.map(() => Infinity);
  for (let i = 0; i < steps; i++)
    for (const [k, f] of fns.entries()) {
      const c0 = process.cpuUsage();
      const t0 = performance.now();
      await f();
      walls[k].push((performance.now() - t0) / 1000);
      const c = process.cpuUsage(c0);
      cpus[k] = Math.min(cpus[k], (c.user + c.system) / 1e6);
    }
  const out = walls.map((w, k) => {
    w.sort((a, b) => a - b);
    return { wall: w[0], median: w[Math.floor(w.length / 2)], cpu: cpus[k] };
  });
  return other ? [out[0], out[1]] : out[0];
}

/**
 * GFLOP/s of [N × D]·[D × 512] (2·N·D·512 flops), best of 3 after a warm-up. The product alone:
 * the wasm and native kernels both run synchronously inside matMul, so no read-back is timed.
 */
export function projectionGflops(features: Float32Array, n: number, dim: number): number {
  const x = tf.tensor2d(features, [n, dim]);
  const w = tf.randomNormal([dim, 512], 0, 0.02, 'float32', 1);
  let best = Infinity;
  for (let i = 0; i < 4; i++) {
    const t0 = performance.now();
    const y = tf.matMul(x, w);
    if (i > 0) best = Math.min(best, performance.now() - t0);
    y.dispose();
  }
  tf.dispose([x, w]);
  return (2 * n * dim * 512) / (best / 1000) / 1e9;
}
