/**
 * MHIM benchmark cases: MHIM-v2(AB-MIL) and MHIM-v2(TransMIL) at N = 8000, D = 1024 by default.
 *
 * Per case: train step time per bag and its process CPU seconds (teacher forward on all N + masking
 * + student step + EMA), student inference time per bag, the student's sequence length after
 * masking (kept + GRN tokens), and the peak RSS of the process. Each case runs in its own child process, so peak RSS
 * belongs to
 * that case alone (the wasm heap never shrinks). `--compare` adds the plain model's train step
 * (same N) and MHIM with half the bag masked, to show what masking does to memory.
 * Also times the masking itself (scores → kept indices + GRN split) for 15,000 instances.
 *
 *   npm run bench:mhim [-- --only mhim-abmil] [--instances 8000] [--dim 1024] [--steps 3] [--compare] [--json]
 *
 * Reference (official PyTorch, this 2-core machine): 0.32 s per MHIM-v2(AB-MIL) step, 2.6 s per
 * MHIM-v2(TransMIL) step.
 */
import { spawnSync } from 'node:child_process';
import * as tf from '@tensorflow/tfjs';
import {
  Adam,
  type MhimOverrides,
  type MilModel,
  Rng,
  type Target,
  createModel,
  ensureBackend,
  mhimConfig,
  selectMask,
  splitForRecycle,
  trainStep,
} from 'milkit';
import { describeSettings, parseSettings } from '../experiments/common/runner';

export interface MhimBenchCase {
  /** Registered base model and its options (the MHIM-internal variants). */
  base: string;
  baseConfig: Record<string, unknown>;
  /** null = the plain model (no MHIM), for comparison. */
  mhim: MhimOverrides | null;
}

export const MHIM_BENCH_CASES: Record<string, MhimBenchCase> = {
  'mhim-abmil': { base: 'abmil', baseConfig: { attention: 'relu' }, mhim: {} },
  'mhim-transmil': { base: 'transmil', baseConfig: {}, mhim: {} },
};

/** Extra cases of `--compare`: the plain models and MHIM with half of each bag masked at random. */
export const MHIM_COMPARE_CASES: Record<string, MhimBenchCase> = {
  'plain-abmil': { base: 'abmil', baseConfig: { attention: 'relu' }, mhim: null },
  'plain-transmil': { base: 'transmil', baseConfig: {}, mhim: null },
  'mhim-transmil-mask50': { base: 'transmil', baseConfig: {}, mhim: { mask: { randomRatio: 0.5 } } },
};

export interface MhimBenchResult {
  model: string;
  instances: number;
  dim: number;
  trainSecondsPerBag: number;
  /** Process CPU seconds of the median train step (a busy machine inflates them far less than wall time). */
  trainCpuSecondsPerBag: number;
  inferSecondsPerBag: number;
  /** Tokens the student encodes per step (kept instances + GRN tokens); N for plain models. */
  studentSeqLen: number;
  peakRssMB: number;
  /** Size the wasm heap grew to (its peak), when the backend is wasm. */
  wasmHeapMB?: number;
  backend: string;
}

/** Median time (ms) of scores → mask → GRN split for `n` instances with the v2 defaults. */
export function benchMasking(n = 15000, repeats = 200): { instances: number; maskMs: number } {
  const rng = new Rng(1);
  const scores = Float32Array.from({ length: n }, () => rng.next());
  const cfg = mhimConfig('v2');
  const times: number[] = [];
  for (let r = 0; r < repeats + 20; r++) {
    const t0 = performance.now();
    const m = selectMask(scores, cfg.mask, rng);
    splitForRecycle(m.kept, cfg.grn!.keepFraction, rng);
    if (r >= 20) times.push(performance.now() - t0);
  }
  return { instances: n, maskMs: median(times) };
}

/** Runs one case in this process. */
export async function runMhimCase(
  name: string,
  instances: number,
  dim: number,
  steps: number,
): Promise<MhimBenchResult> {
  const spec = MHIM_BENCH_CASES[name] ?? MHIM_COMPARE_CASES[name];
  if (!spec)
    throw new Error(
      `unknown MHIM bench case "${name}"; ` +
        `known: ${[...Object.keys(MHIM_BENCH_CASES), ...Object.keys(MHIM_COMPARE_CASES)].join(', ')}`,
    );
  const backend = await ensureBackend();
  const model: MilModel = spec.mhim
    ? createModel('mhim', {
        inputDim: dim,
        numClasses: 2,
        seed: 1,
        base: spec.base,
        baseConfig: spec.baseConfig,
        mhim: { seed: 2021, ...spec.mhim, version: 'v2' },
      })
    : createModel(spec.base, { ...spec.baseConfig, inputDim: dim, numClasses: 2, seed: 1 });
  const optimizer = new Adam(model.trainableVariables(), { lr: 2e-4, weightDecay: 1e-5 });
  const rng = new Rng(3);
  const features = Float32Array.from({ length: instances * dim }, () => rng.normal());
  const bag = { id: 'bench', features, numInstances: instances, dim };
  const target: Target = { kind: 'class', label: 1, numClasses: 2 };

  let seqLen = instances;
  const step = async () => {
    seqLen = (await trainStep(model, bag, target, optimizer)).seqLen;
  };
  await step(); // warm-up (kernel compilation, heap growth)
  const train: number[] = [];
  const trainCpu: number[] = [];
  for (let s = 0; s < steps; s++) {
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    await step();
    train.push((performance.now() - t0) / 1000);
    const c = process.cpuUsage(c0);
    trainCpu.push((c.user + c.system) / 1e6);
  }
  const infer: number[] = [];
  for (let s = 0; s < Math.max(1, Math.ceil(steps / 2)); s++) {
    const t0 = performance.now();
    const logits = tf.tidy(() => model.forward(tf.tensor2d(features, [instances, dim]), { training: false }).logits);
    await logits.data();
    logits.dispose();
    infer.push((performance.now() - t0) / 1000);
  }
  const heap = (tf.backend() as unknown as { wasm?: { HEAPU8?: Uint8Array } }).wasm?.HEAPU8?.byteLength;
  model.dispose();
  optimizer.dispose();
  return {
    model: name,
    instances,
    dim,
    trainSecondsPerBag: median(train),
    trainCpuSecondsPerBag: median(trainCpu),
    inferSecondsPerBag: median(infer),
    studentSeqLen: seqLen,
    peakRssMB: Math.round(process.resourceUsage().maxRSS / 1024),
    wasmHeapMB: heap ? Math.round(heap / 2 ** 20) : undefined,
    backend: backend.name,
  };
}

/** Runs each case in a child process (fresh peak RSS) and returns the results. */
export function runMhimBench(
  opts: { only?: string; instances?: number; dim?: number; steps?: number; compare?: boolean } = {},
): MhimBenchResult[] {
  const names = opts.only
    ? [opts.only]
    : [...Object.keys(MHIM_BENCH_CASES), ...(opts.compare ? Object.keys(MHIM_COMPARE_CASES) : [])];
  return names.map((name) => {
    const args = [
      __filename,
      '--child',
      name,
      '--instances',
      String(opts.instances ?? 8000),
      '--dim',
      String(opts.dim ?? 1024),
      '--steps',
      String(opts.steps ?? 3),
    ];
    const r = spawnSync(process.execPath, [...process.execArgv, ...args], { encoding: 'utf8', maxBuffer: 1 << 24 });
    if (r.status !== 0)
      throw new Error(
        `bench case ${name} failed (exit ${r.status}): ${r.stderr.trim().split('\n').slice(-5).join('\n')}`,
      );
    return JSON.parse(r.stdout.trim().split('\n').at(-1)!) as MhimBenchResult;
  });
}

function median(a: number[]): number {
  const s = [...a].sort((x, y) => x - y);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

const spec = {
  only: { type: 'string', help: 'run one case (mhim-abmil, mhim-transmil, or a --compare case)' },
  instances: { type: 'number', default: 8000, help: 'instances per bag' },
  dim: { type: 'number', default: 1024, help: 'feature width' },
  steps: { type: 'number', default: 3, help: 'timed steps per case (after one warm-up); the median counts' },
  compare: { type: 'boolean', help: 'add the plain models and MHIM with half the bag masked' },
  json: { type: 'boolean', help: 'print JSON' },
  child: { type: 'string', help: '(internal) run this case in this process and print its JSON' },
} as const;

async function main(args: string[]): Promise<void> {
  const { values: f, help } = parseSettings(spec, args);
  if (help) return console.log(describeSettings(spec));
  const { instances, dim, steps } = f;
  if (f.child) {
    console.log(JSON.stringify(await runMhimCase(f.child, instances, dim, steps)));
    return;
  }
  const results = runMhimBench({ only: f.only, instances, dim, steps, compare: f.compare });
  const masking = benchMasking();
  if (f.json) {
    console.log(JSON.stringify({ backend: results[0]?.backend, results, masking }));
    return;
  }
  console.log(
    `backend ${results[0]?.backend}; masking ${masking.instances} instances: ${masking.maskMs.toFixed(2)} ms`,
  );
  console.log(
    'each case in a fresh process: the wasm heap never shrinks, so peak RSS is the largest step of that case alone',
  );
  console.log(
    'case                    N     D  train s/bag  train CPU s  infer s/bag  student seq  peak RSS MB  wasm heap MB',
  );
  for (const r of results) {
    console.log(
      `${r.model.padEnd(22)} ${String(r.instances).padStart(5)} ${String(r.dim).padStart(5)} ` +
        `${r.trainSecondsPerBag.toFixed(3).padStart(12)} ${r.trainCpuSecondsPerBag.toFixed(3).padStart(12)}` +
        ` ${r.inferSecondsPerBag.toFixed(3).padStart(12)} ${String(r.studentSeqLen).padStart(12)}` +
        ` ${String(r.peakRssMB).padStart(12)} ${String(r.wasmHeapMB ?? '-').padStart(13)}`,
    );
  }
}

if (require.main === module) {
  main(process.argv.slice(2)).catch((err) => {
    console.error(err instanceof Error ? err.message : err);
    process.exit(1);
  });
}
