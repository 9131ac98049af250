/**
 * SSL pretraining cost (`npm run bench:ssl [-- --steps 20 --json]`): seconds and memory per 10,000
 * patches on this machine, for each objective, on real breast-ucsb tiles (first images of the
 * archive; MILKIT_DATA or ../shared/data).
 *
 * "Per 10,000 patches" = 10,000 patches drawn into pretraining batches (each patch gives two
 * augmented views for the contrastive loss, one for reconstruction only), including augmentation
 * in JS, forward, backward and the Adam update; extrapolated linearly from `steps` timed steps after
 * 2 warm-up steps. Also: feature extraction (encoder forward only) per 10,000 patches.
 * Memory: peak RSS of the process (VmHWM), the tfjs tensor bytes after a step, and the wasm heap.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import * as os from 'node:os';
import {
  BREAST_ARCHIVE,
  OBJECTIVES,
  type ObjectiveName,
  SslNetwork,
  breastPatchBags,
  collectPatches,
  dataRoot,
  describeBackend,
  encoderFeaturizer,
  pretrain,
  useBackend,
} from 'milkit';
import { describeSettings, parseSettings, rewriteMarkdown, writeTable } from '../experiments/common/runner';

const spec = {
  steps: { type: 'number', default: 10, help: 'timed pretraining steps per objective (after 2 warm-up steps)' },
  'batch-size': { type: 'number', default: 64, help: 'patches per step' },
  width: { type: 'number', default: 16, help: 'encoder first-stage channels' },
  'embed-dim': { type: 'number', default: 128, help: 'encoder output width' },
  objectives: {
    type: 'string',
    default: 'contrastive,reconstruction,both',
    help: 'comma-separated objectives to time',
  },
  images: { type: 'number', default: 3, help: 'breast images to tile for the patch pool' },
  json: { type: 'boolean', help: 'print JSON' },
  results: {
    type: 'string',
    default: '',
    help: 'also write <dir>/ssl-bench.{json,md}, e.g. results',
  },
  'tables-only': { type: 'boolean', help: 'only rewrite <results>/ssl-bench.md from its JSON (default results)' },
} as const;

const MiB = 2 ** 20;

function peakRssBytes(): number {
  const m = /VmHWM:\s+(\d+) kB/.exec(fs.readFileSync('/proc/self/status', 'utf8'));
  return m ? Number(m[1]) * 1024 : process.memoryUsage().rss;
}

/** Size of the wasm backend's heap (it never shrinks), when wasm is active. */
function wasmHeapBytes(): number | undefined {
  const backend = tf.backend() as unknown as { wasm?: { HEAPU8?: Uint8Array } };
  return backend.wasm?.HEAPU8?.byteLength;
}

export type BenchOut = {
  backend: string;
  network: object;
  batchSize: number;
  patchPool: number;
  extractSecPer10k: number;
  extractCpuSecPer10k: number;
  peakRssMiB: number;
  loadAverage: number;
  wasmHeapMiB: number;
  pretraining: Record<string, unknown>[];
};

/** The benchmark as a reproduction table: one row per objective plus feature extraction. */
function writeBenchResults(dir: string, out: BenchOut, steps: number, flags: Record<string, unknown>): void {
  const one = (v: number) => ({ mean: v, n: 1 });
  const rows = (
    out.pretraining as {
      objective: string;
      cpuSecPer10k: number;
      secPer10k: number;
      tensorMiB: number;
      params: number;
    }[]
  ).map((r) => ({
    label: `pretraining, ${r.objective}`,
    cells: [one(r.cpuSecPer10k / 60), one(r.secPer10k / 60), one(r.tensorMiB)],
  }));
  rows.push({
    label: 'feature extraction (encoder forward)',
    cells: [one(out.extractCpuSecPer10k / 60), one(out.extractSecPer10k / 60), null as never],
  });
  const params = (out.pretraining[0] as { params?: number } | undefined)?.params;
  const file = writeTable(
    dir,
    'ssl-bench',
    {
      title: 'SSL pretraining cost per 10,000 patches',
      caption:
        `Minutes per 10,000 patches drawn into pretraining batches (augmentation in JS, forward, ` +
        `backward, Adam), extrapolated from ${steps} timed steps of ${out.batchSize} patches after 2 ` +
        `warm-up steps; CPU = process user + system time (≈ wall on an idle core). Memory: peak ` +
        `RSS ${out.peakRssMiB.toFixed(0)} MiB for the whole run, wasm heap ${out.wasmHeapMiB.toFixed(0)} ` +
        `MiB (grows, never shrinks); the last column is the live tfjs tensor memory after a step.`,
      columns: ['CPU min', 'wall min', 'live tensors MiB'],
      higherIsBetter: [false, false, false],
      rows,
    },
    {
      command: `npm run bench:ssl -- --steps ${steps} --results ${dir}`,
      protocol:
        `Real UCSB breast tiles (${out.patchPool} background-filtered 32 × 32 tiles of the ` +
        `first ${String(flags.images)} images). Network ${JSON.stringify(out.network)} ` +
        `(${params ?? '?'} parameters), batch ${out.batchSize}. Wall time measured at 1-min load ` +
        `average ${out.loadAverage.toFixed(1)} on ${os.cpus().length} cores (a shared ` +
        `machine: wall times are inflated by the load; the CPU column is the comparable one).`,
      backend: out.backend,
    },
  );
  console.log(`wrote ${file}`);
}

/** Runs the benchmark (argv = the command's flags); prints it and returns the measurements. */
export async function benchSsl(argv: string[]): Promise<BenchOut | undefined> {
  const { values: flags, help } = parseSettings(spec, argv);
  if (help) {
    console.log(describeSettings(spec));
    return undefined;
  }
  if (flags['tables-only']) {
    console.log(rewriteMarkdown(flags.results || 'results', 'ssl-bench'));
    return undefined;
  }
  const info = await useBackend();
  const steps = flags.steps as number;
  const batchSize = flags['batch-size'] as number;
  const net = { inputSize: 32, width: flags.width as number, embedDim: flags['embed-dim'] as number, projDim: 64 };
  const source = path.join(dataRoot(), 'breast-ucsb', BREAST_ARCHIVE);
  const patches = await collectPatches(breastPatchBags({ source, limit: flags.images as number }));
  const results: Record<string, unknown>[] = [];
  for (const name of (flags.objectives as string).split(',') as ObjectiveName[]) {
    if (!OBJECTIVES[name]) throw new Error(`unknown objective ${name}`);
    const times: number[] = [];
    const cpu: number[] = [];
    let last = Date.now();
    let lastCpu = process.cpuUsage();
    let tensorBytes = 0;
    const r = await pretrain(
      patches,
      { net, ...OBJECTIVES[name], batchSize, steps: steps + 2, seed: 0 },
      {
        onProgress: () => {
          const now = Date.now();
          times.push(now - last);
          last = now;
          const c = process.cpuUsage();
          cpu.push((c.user + c.system - lastCpu.user - lastCpu.system) / 1000);
          lastCpu = c;
          tensorBytes = Math.max(tensorBytes, tf.memory().numBytes);
        },
      },
    );
    const timed = times.slice(2);
    const secPerStep = timed.reduce((s, v) => s + v, 0) / timed.length / 1000;
    const secPer10k = (secPerStep * 10_000) / batchSize;
    const cpuSecPer10k = (cpu.slice(2).reduce((s, v) => s + v, 0) / timed.length / 1000) * (10_000 / batchSize);
    results.push({
      objective: name,
      secPerStep,
      secPer10k,
      cpuSecPer10k,
      minPer10k: secPer10k / 60,
      params: r.network.numParams,
      tensorMiB: tensorBytes / MiB,
      finalLoss: r.history.at(-1)?.loss,
    });
    r.network.dispose();
  }
  // Feature extraction of 10,000 patches is timed on the pool (forward only, batches of 256).
  const encoder = new SslNetwork(net, 0);
  const n = Math.min(patches.n, 2048);
  const t0 = Date.now();
  const cpu0 = process.cpuUsage();
  await encoderFeaturizer(encoder).featurize(patches.pixels, n, patches.size);
  const extractSecPer10k = ((Date.now() - t0) / 1000) * (10_000 / n);
  const cpuExtract = process.cpuUsage(cpu0);
  const extractCpuSecPer10k = ((cpuExtract.user + cpuExtract.system) / 1e6) * (10_000 / n);
  encoder.dispose();
  const out: BenchOut = {
    backend: describeBackend(info),
    network: net,
    batchSize,
    patchPool: patches.n,
    pretraining: results,
    extractSecPer10k,
    extractCpuSecPer10k,
    peakRssMiB: peakRssBytes() / MiB,
    loadAverage: os.loadavg()[0],
    wasmHeapMiB: (wasmHeapBytes() ?? 0) / MiB,
  };
  if (flags.results) writeBenchResults(flags.results as string, out, steps, flags as Record<string, unknown>);
  if (flags.json) {
    console.log(JSON.stringify(out, null, 2));
    return out;
  }
  console.log(
    `SSL pretraining benchmark — ${out.backend}; network ${JSON.stringify(net)}; ` +
      `batch ${batchSize}; ${patches.n} real breast tiles`,
  );
  for (const r of results as {
    objective: string;
    secPerStep: number;
    secPer10k: number;
    cpuSecPer10k: number;
    params: number;
    tensorMiB: number;
  }[]) {
    console.log(
      `  ${r.objective.padEnd(15)} ${r.secPerStep.toFixed(2)} s/step ` +
        `→ ${(r.secPer10k / 60).toFixed(1)} min wall (${(r.cpuSecPer10k / 60).toFixed(1)} min CPU) per ` +
        `10,000 patches  (${r.params} params, ${r.tensorMiB.toFixed(1)} MiB tensors)`,
    );
  }
  console.log(
    `  extraction      ${extractSecPer10k.toFixed(1)} s wall ` +
      `(${extractCpuSecPer10k.toFixed(1)} s CPU) per 10,000 patches`,
  );
  console.log(
    `  peak RSS ${out.peakRssMiB.toFixed(0)} MiB, wasm heap ${out.wasmHeapMiB.toFixed(0)} ` +
      `MiB; 1-min load average ${out.loadAverage.toFixed(1)} ` +
      `on ${os.cpus().length} cores (shared machine: wall times scale with it)`,
  );
  return out;
}

if (require.main === module) {
  benchSsl(process.argv.slice(2)).catch((err) => {
    console.error(err instanceof Error ? err.message : err);
    process.exit(1);
  });
}
