/**
 * `npm run bench`: the performance benchmark, on the active backend.
 *
 *   npm run bench [-- --only NAME|gemm] [--instances N] [--dim D] [--steps S]
 *                      [--sizes 1000,8000,15000,30000] [--size-cases abmil,mhim-abmil]
 *                      [--cohort-bags 24] [--results DIR] [--tables-only] [--json]
 *
 * 0. The projection's three matrix products (bench/gemm.ts): GFLOP/s of milkit's AVX-512 sgemm and
 *    of OpenBLAS, interleaved with the FMA probe, as a fraction of the measured peak.
 * 1. Model cases (AB-MIL, TransMIL, DSMIL, MHIM-v2(AB-MIL), MHIM-v2(TransMIL); N = 8000, D = 1024):
 *    train step and inference seconds per bag (fastest and median of S steps after a warm-up) with the CPU
 *    seconds of those steps, GFLOP/s of the [N × D]·[D × 512] projection product, peak RSS.
 * 2. Peak RSS (and times) per bag size for `--size-cases` at `--sizes` instances.
 * 3. Cohort inference throughput (bags/s) streaming a synthetic Arrow cohort of `--cohort-bags` bags
 *    of 4000-12000 instances (0 skips it).
 * `--only NAME` runs that case alone (`--only gemm` the products alone): parts 2 and 3 then run
 * only when `--sizes` / `--cohort-bags` are given. The output names the CPU, the BLAS and its
 * kernel family, and the 1-minute load before and after. Every measurement runs in its own child process, so its peak
 * RSS is its own (the wasm heap never
 * shrinks). `--json` prints {"backend", "results", "sizes", "cohort"}; `--results DIR` also writes
 * DIR/performance.{json,md} (writeReproduction). The reference figures of the official PyTorch code
 * are in `REFERENCE`.
 */
import { spawnSync } from 'node:child_process';
import * as os from 'node:os';
import { describeBackend, ensureBackend } from 'milkit';
import { describeSettings, parseSettings, rewriteMarkdown, writeTable } from '../experiments/common/runner';
import { cohortThroughput, tempCohortDir, writeSyntheticCohort, type CohortThroughput } from './cohort';
import { benchCases, runCase, type BenchResult } from './models';
import { gemmBench, type GemmReport } from './gemm';

const spec = {
  only: {
    type: 'string',
    help: 'run one case alone (gemm, abmil, transmil, dsmil, mhim-abmil, mhim-transmil); "none" skips part 1',
  },
  instances: { type: 'number', default: 8000, help: 'instances per bag' },
  dim: { type: 'number', default: 1024, help: 'feature width' },
  steps: {
    type: 'number',
    default: 8,
    help:
      'timed steps per measurement (after one warm-up); the fastest counts (this VM’s speed varies ' +
      'by ~10 % from step to step)',
  },
  sizes: { type: 'string', default: '1000,8000,15000,30000', help: 'bag sizes for the memory table ("" skips it)' },
  'size-cases': { type: 'string', default: 'abmil,mhim-abmil', help: 'cases of the memory table' },
  'cohort-bags': { type: 'number', default: 24, help: 'bags of the cohort throughput pass (0 skips it)' },
  results: { type: 'string', help: 'also write <dir>/performance.json and .md' },
  'tables-only': { type: 'boolean', help: 'only rewrite <results>/performance.md from its JSON (default results)' },
  json: { type: 'boolean', help: 'print JSON' },
  child: { type: 'boolean', help: '(internal) run one case in this process and print its JSON' },
  'child-cohort': { type: 'boolean', help: '(internal) run the cohort pass of --only in this process' },
} as const;

/**
 * Seconds per bag of the official MHIM-MIL PyTorch code (torch 2.13 CPU, 2 threads, N = 8000,
 * D = 1024) on the project's 2-core AVX-512 machine, fastest / median of its timed steps; the ratio
 * columns divide by the fastest. TransMIL is the official MHIM class without masking.
 */
const REFERENCE: Record<string, { train?: number; infer?: number; trainMedian?: number; inferMedian?: number }> = {
  abmil: { train: 0.138, trainMedian: 0.147, infer: 0.049, inferMedian: 0.051 },
  'mhim-abmil': { train: 0.292, trainMedian: 0.311 },
  transmil: { train: 2.196, trainMedian: 2.276, infer: 0.628, inferMedian: 0.651 },
  'mhim-transmil': { train: 2.538, trainMedian: 2.645 },
};

type Flags = { instances: number; dim: number; steps: number; cohortBags: number };

async function main(): Promise<void> {
  const { values: flags, help } = parseSettings(spec, process.argv.slice(2));
  if (help) return console.log(describeSettings(spec));
  if (flags['tables-only']) return console.log(rewriteMarkdown(flags.results ?? 'results', 'performance'));
  const backend = await ensureBackend();
  const opts: Flags = {
    instances: Number(flags.instances),
    dim: Number(flags.dim),
    steps: Number(flags.steps),
    cohortBags: Number(flags['cohort-bags']),
  };
  if (flags.child) return print(await runCase(String(flags.only), opts));
  if (flags['child-cohort']) return print(await runCohort(String(flags.only), opts));

  const all = [...benchCases().keys()];
  const check = (n: string) => {
    if (!benchCases().has(n)) throw new Error(`unknown bench case "${n}"; known: ${all.join(', ')}`);
    return n;
  };
  const only = flags.only === undefined ? undefined : String(flags.only);
  const names = only === 'none' || only === 'gemm' ? [] : only ? [check(only)] : all;
  // With --only, the size table and the cohort pass run only when asked for explicitly.
  const given = (flag: string) => process.argv.some((a) => a === `--${flag}` || a.startsWith(`--${flag}=`));
  const sizeCases = String(flags['size-cases']).split(',').filter(Boolean).map(check);
  const sizes = only && !given('sizes') ? [] : String(flags.sizes).split(',').filter(Boolean).map(Number);
  if (only && !given('cohort-bags')) opts.cohortBags = 0;
  const log = (s: string) => (flags.json ? undefined : console.log(s));
  const describe = describeBackend(backend);
  const machine = machineLine();
  log(`${machine}\nbackend ${describe}`);

  let gemm: GemmReport | undefined;
  if (!only || only === 'gemm') {
    gemm = gemmBench(opts.instances, opts.dim, opts.steps);
    if (!gemm) log('\nprojection products: skipped (needs the native addon on the wasm backend)');
    else {
      const p = (q: { best: number; median: number; medianPerCpuSecond: number }) =>
        `best / median ${q.best.toFixed(0)} / ${q.median.toFixed(0)} GFLOP/s, ` +
        `median ${q.medianPerCpuSecond.toFixed(0)} per CPU-second`;
      log(
        `\nprojection products, ${gemm.threads} threads, ${gemm.peak.steps} interleaved steps.` +
          `\nFMA peak (probe), ${gemm.threads} threads: ${p(gemm.peak)}` +
          `\nFMA peak (probe), 1 thread: ${p(gemm.peakOneThread)}` +
          (gemm.peakBf16
            ? `\nbf16 peak (${gemm.bf16Kernel} probe), ${gemm.threads} threads: ${p(gemm.peakBf16)}`
            : '') +
          '\n% of peak: against the probe of the same kind (bf16 rows: the bf16 probe); per CPU-second ' +
          'divides by process CPU time, which a busy machine disturbs least',
      );
      log(`${'product'.padEnd(32)} ${'kernel'.padEnd(20)}  GFLOP/s best / median  % of peak   per CPU-s  % of peak`);
      for (const r of gemm.rows)
        log(
          `${r.product.padEnd(32)} ${r.kernel.padEnd(20)} ` +
            `${r.best.toFixed(1).padStart(8)} / ${r.median.toFixed(1).padStart(7)} ` +
            `${(100 * r.fractionOfPeak).toFixed(0).padStart(9)} %  ${r.medianPerCpuSecond.toFixed(1).padStart(9)} ` +
            `${(100 * r.fractionOfPeakPerCpuSecond).toFixed(0).padStart(7)} %`,
        );
    }
  }
  if (names.length)
    log(
      `\nseconds per bag: fastest / median of ${opts.steps} steps ` +
        `after a warm-up; CPU s = process CPU of the fastest (all threads); bf16 infer: the opt-in ` +
        'bf16 products (withPrecision), steps interleaved with float32 inference',
    );

  const results: BenchResult[] = [];
  if (names.length) log(header());
  for (const name of names) {
    const r = child(['--child', '--only', name], opts, backend.name, (error) =>
      failed(name, opts.instances, opts.dim, error),
    );
    results.push(r);
    log(row(r));
  }

  const bySize: BenchResult[] = [];
  if (sizes.length && sizeCases.length) {
    log(`\npeak RSS per bag size (each in its own process)`);
    log(header());
    for (const name of sizeCases) {
      for (const n of sizes) {
        const r = child(['--child', '--only', name], { ...opts, instances: n }, backend.name, (error) =>
          failed(name, n, opts.dim, error),
        );
        bySize.push(r);
        log(row(r));
      }
    }
  }

  const cohort: (CohortThroughput & { model: string })[] = [];
  if (opts.cohortBags > 0) {
    log(`\ncohort inference, streaming Arrow (${opts.cohortBags} bags of 4000-12000 × ${opts.dim}, bag cache off)`);
    for (const name of sizeCases) {
      const r = child(['--child-cohort', '--only', name], opts, backend.name, (error) => ({ error }));
      if ('error' in r) {
        log(`${name.padEnd(16)} failed: ${(r as { error: string }).error}`);
        continue;
      }
      const c = { ...(r as CohortThroughput), model: name };
      cohort.push(c);
      log(
        `${name.padEnd(16)} ${c.bagsPerSecond.toFixed(2)} bags/s, ${Math.round(c.instancesPerSecond)} ` +
          `instances/s (${c.bags} bags in ${c.seconds.toFixed(1)} ` +
          `s, ${c.waitSeconds.toFixed(2)} s waiting for reads), peak RSS ${c.peakRssMB} MB`,
      );
    }
  }

  log(`\n1-minute load at the end: ${os.loadavg()[0].toFixed(1)} on ${os.cpus().length} cores`);
  if (flags.json)
    process.stdout.write(
      `${JSON.stringify({ machine, backend: backend.name, describe, gemm, results, sizes: bySize, cohort })}\n`,
    );
  if (flags.results) {
    const file = writeResults(
      String(flags.results),
      describe,
      [...results, ...bySize.filter((r) => !results.some((q) => q.model === r.model && q.instances === r.instances))],
      cohort,
    );
    log(`\nwrote ${file}`);
  }
}

/** CPU model, cores and 1-minute load: every figure below depends on them. */
function machineLine(): string {
  const cpus = os.cpus();
  return (
    `${new Date().toISOString().slice(0, 16)}Z, ${cpus[0]?.model ?? 'unknown CPU'}, ${cpus.length} ` +
    `cores, 1-minute load ${os.loadavg()[0].toFixed(1)}`
  );
}

function print(v: unknown): void {
  process.stdout.write(`${JSON.stringify(v)}\n`);
}

/** Runs this script with `args` in a child process and parses the JSON line it prints. */
function child<T>(args: string[], o: Flags, backend: string, onError: (error: string) => T): T {
  const full = [
    ...process.execArgv,
    __filename,
    ...args,
    '--instances',
    String(o.instances),
    '--dim',
    String(o.dim),
    '--steps',
    String(o.steps),
    '--cohort-bags',
    String(o.cohortBags),
  ];
  const r = spawnSync(process.execPath, full, {
    encoding: 'utf8',
    env: { ...process.env, MILKIT_BACKEND: backend },
    maxBuffer: 1 << 24,
  });
  const line = r.stdout.trim().split('\n').pop() ?? '';
  if (r.status === 0 && line.startsWith('{')) return JSON.parse(line) as T;
  // A case that cannot run (e.g. out of wasm memory) is reported, and the others still run.
  const reason = `${r.stderr}${r.stdout}`
    .trim()
    .split('\n')
    .filter((s) => s.trim() && !s.startsWith('    at'))
    .slice(-2)
    .join(' | ')
    .slice(0, 300);
  return onError(`exit ${r.status}: ${reason}`);
}

function failed(model: string, instances: number, dim: number, error: string): BenchResult {
  return {
    model,
    instances,
    dim,
    trainSecondsPerBag: null,
    inferSecondsPerBag: null,
    gflops: null,
    peakRssMB: null,
    error,
  };
}

async function runCohort(name: string, o: Flags): Promise<CohortThroughput> {
  const c = benchCases().get(name);
  if (!c) throw new Error(`unknown bench case "${name}"`);
  const tmp = tempCohortDir();
  try {
    const file = await writeSyntheticCohort(tmp.dir, o.cohortBags, 4000, 12000, o.dim);
    const model = c.create(o.dim);
    try {
      return await cohortThroughput(model, file);
    } finally {
      model.dispose();
    }
  } finally {
    tmp.remove();
  }
}

const fixed = (v: number | null | undefined, digits: number) =>
  v === null || v === undefined ? '-' : v.toFixed(digits);

function header(): string {
  return [
    'model'.padEnd(16),
    'N'.padStart(6),
    'D'.padStart(5),
    'train s min/med'.padStart(15),
    'CPU s'.padStart(7),
    'vs torch'.padStart(8),
    'infer s min/med'.padStart(15),
    'CPU s'.padStart(7),
    'vs torch'.padStart(8),
    'bf16 infer s'.padStart(13),
    'CPU s'.padStart(7),
    'GFLOP/s'.padStart(8),
    'peak RSS MB'.padStart(12),
  ].join(' ');
}

function row(r: BenchResult): string {
  const ref = r.instances === 8000 && r.dim === 1024 ? REFERENCE[r.model] : undefined;
  const ratio = (v: number | null, t?: number) => (v !== null && t ? `${(v / t).toFixed(2)}×` : '-');
  return [
    r.model.padEnd(16),
    String(r.instances).padStart(6),
    String(r.dim).padStart(5),
    `${fixed(r.trainSecondsPerBag, 3)}/${fixed(r.trainMedianSecondsPerBag, 3)}`.padStart(15),
    fixed(r.trainCpuSecondsPerBag, 3).padStart(7),
    ratio(r.trainSecondsPerBag, ref?.train).padStart(8),
    `${fixed(r.inferSecondsPerBag, 3)}/${fixed(r.inferMedianSecondsPerBag, 3)}`.padStart(15),
    fixed(r.inferCpuSecondsPerBag, 3).padStart(7),
    ratio(r.inferSecondsPerBag, ref?.infer).padStart(8),
    `${fixed(r.inferBf16SecondsPerBag, 3)}/${fixed(r.inferBf16MedianSecondsPerBag, 3)}`.padStart(13),
    fixed(r.inferBf16CpuSecondsPerBag, 3).padStart(7),
    fixed(r.gflops, 1).padStart(8),
    String(r.peakRssMB ?? '-').padStart(12),
    r.error ? ` failed: ${r.error}` : '',
  ].join(' ');
}

function writeResults(
  dir: string,
  describe: string,
  rows: BenchResult[],
  cohort: (CohortThroughput & { model: string })[],
): string {
  const one = (v: number | null | undefined) => (v === null || v === undefined ? null : [v]);
  return writeTable(
    dir,
    'performance',
    {
      title: 'Performance per bag',
      caption:
        `Seconds per bag (fastest of the timed steps), ` +
        `projection GFLOP/s and peak RSS, on ${describe}; 1-min ` +
        `load average ${os.loadavg()[0].toFixed(1)} on ${os.cpus().length} cores when written (wall times ` +
        `scale with it; CPU seconds much less). Cohort rows: streaming inference of a synthetic Arrow cohort.`,
      columns: [
        'train s',
        'train CPU s',
        'infer s',
        'infer CPU s',
        'projection GFLOP/s',
        'peak RSS MB',
        'cohort bags/s',
      ],
      rows: [
        ...rows.map((r) => ({
          label: `${r.model} N=${r.instances}`,
          cells: [
            one(r.trainSecondsPerBag),
            one(r.trainCpuSecondsPerBag),
            one(r.inferSecondsPerBag),
            one(r.inferCpuSecondsPerBag),
            one(r.gflops),
            one(r.peakRssMB),
            null,
          ],
        })),
        ...cohort.map((c) => ({
          label: `${c.model} cohort (${c.bags} bags, mean N=${Math.round(c.instances / c.bags)})`,
          cells: [null, null, null, null, null, one(c.peakRssMB), one(c.bagsPerSecond)],
        })),
      ],
      higherIsBetter: [false, false, false, false, true, false, true],
    },
    {
      command: 'npm run bench -- --results results',
      protocol:
        'Synthetic bags (seeded normal features), D = 1024, Adam; each case and each bag size in ' +
        'its own process; one warm-up step excluded; 2-core machine. Reference: official PyTorch ' +
        'code on the same machine, 2 threads.',
      published: {
        source: 'official PyTorch code, torch 2.13 CPU, 2 threads, same machine',
        values: Object.fromEntries(
          Object.entries(REFERENCE).map(([m, r]) => [
            `${m} N=8000`,
            { ...(r.train ? { 'train s': r.train } : {}), ...(r.infer ? { 'infer s': r.infer } : {}) },
          ]),
        ),
      },
      backend: describe,
    },
  );
}

main().catch((err) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
