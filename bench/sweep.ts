/**
 * Sweep overhead (`npm run bench:sweep`): a 100-unit MUSK1 sweep (AB-MIL and mean-MIL, 5 folds,
 * 10 seeds, 3 epochs) run side by side in one invocation by
 *   - the local executor with 1 worker process, then with 2 (the speed-up),
 *   - the Slurm executor on the single-node cluster of scripts/start-slurm.sh (started here unless
 *     SLURM_CONF names one): per unit, submit → result, and what the unit's own work leaves over.
 * Reports min and median per unit, the sweep's wall time, the machine and the 1-minute load.
 * With `--rounds R` the three executors run interleaved R times (min and median of the wall times),
 * so a change in the machine's load during the run does not favour one of them.
 *
 *   npm run bench:sweep [-- --seeds 10 --epochs 3 --rounds 1 --data ../shared/data --json out.json]
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { type SweepFolder, type SweepPlan, type UnitResult, dataRoot, musk1, sweep } from 'milkit';

const arg = (name: string, fallback: string) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : fallback;
};
const seeds = Number(arg('seeds', '10'));
const epochs = Number(arg('epochs', '3'));
const dataDir = path.resolve(arg('data', dataRoot()));
const jsonOut = arg('json', '');
/** This file runs compiled, from build/bench/. */
const START_SLURM = path.join(__dirname, '..', '..', 'scripts', 'start-slurm.sh');
const rounds = Number(arg('rounds', '1'));

const median = (v: number[]) => {
  const s = [...v].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const stats = (v: number[]) => ({ min: Math.min(...v), median: median(v) });
const f2 = (x: number) => x.toFixed(2);

function results(folder: SweepFolder): UnitResult[] {
  return folder.manifest().units.map((u) => JSON.parse(fs.readFileSync(folder.resultPath(u), 'utf8')) as UnitResult);
}

/** Runs the plan with one executor; per-unit timings from the result files. */
async function measure(label: string, plan: SweepPlan, out: string, opts: Omit<Parameters<typeof sweep>[1], 'out'>) {
  const load = os.loadavg()[0];
  const t0 = Date.now();
  const handle = await sweep(plan, { ...opts, out });
  const submitted = Date.now();
  await handle.wait({ intervalMs: 500, timeoutMs: 3_600_000 });
  const wall = (Date.now() - t0) / 1000;
  const rs = results(handle.folder);
  const finished = rs.map((r) => Date.parse(r.finishedAt));
  const started = rs.map((r) => Date.parse(r.processStartedAt));
  // Per unit: process lifetime beyond its own work = node + TensorFlow.js start-up + exit.
  const startup = rs.map((r, i) => (finished[i] - started[i]) / 1000 - r.seconds);
  const work = rs.map((r) => r.seconds);
  const slots = opts.executor === 'local' ? (opts.workers ?? 1) : os.cpus().length;
  // What the executor itself costs per unit: slot-time not spent inside a unit process.
  const lifetimes = rs.reduce((s, _, i) => s + (finished[i] - started[i]) / 1000, 0);
  const idle = (wall * slots - lifetimes) / rs.length;
  const row = {
    label,
    units: rs.length,
    wallSeconds: wall,
    submitSeconds: (submitted - t0) / 1000,
    unitWork: stats(work),
    unitStartup: stats(startup),
    submitToResult: stats(finished.map((f) => (f - submitted) / 1000)),
    executorIdlePerUnit: idle,
    load1Start: load,
    load1End: os.loadavg()[0],
  };
  console.log(
    `${label.padEnd(24)} wall ${f2(wall)} s | unit work min ${f2(row.unitWork.min)} ` +
      `med ${f2(row.unitWork.median)} s | process start-up min ${f2(row.unitStartup.min)} ` +
      `med ${f2(row.unitStartup.median)} s | idle slot-time per unit ${f2(idle)} s | first ` +
      `result ${f2(row.submitToResult.min)} s after submit | load ${load.toFixed(1)}→${row.load1End.toFixed(1)}`,
  );
  return row;
}

async function main() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'milkit-bench-sweep-'));
  let cluster: string | undefined;
  try {
    const built = await musk1.build({ out: path.join(dir, 'musk1.arrow'), source: path.join(dataDir, 'musk1') });
    const plan: SweepPlan = {
      name: 'bench-musk1',
      cohort: built.cohort.instancePath,
      folds: 5,
      seeds: Array.from({ length: seeds }, (_, i) => i + 1),
      epochs,
      lr: 5e-4,
      standardize: true,
      selectOn: 'last',
      models: [{ model: 'abmil', config: { embedDim: 32, dropout: 0 } }, { model: 'mean-mil' }],
    };
    const cpu = os.cpus()[0]?.model ?? 'unknown CPU';
    console.log(
      `sweep benchmark: ${2 * 5 * seeds} MUSK1 units (abmil + mean-mil × 5 folds × ${seeds} ` +
        `seeds, ${epochs} epochs); ${os.cpus().length} × ${cpu}, node ${process.version}`,
    );
    const rows: Awaited<ReturnType<typeof measure>>[] = [];
    for (let r = 0; r < rounds; r++) {
      const at = (name: string) => path.join(dir, `${name}-${r}`);
      rows.push(await measure('local --workers 1', plan, at('w1'), { executor: 'local', workers: 1 }));
      rows.push(await measure('local --workers 2', plan, at('w2'), { executor: 'local', workers: 2 }));
      if (!process.env.SLURM_CONF) {
        const env = execFileSync('bash', [START_SLURM, '--print-env'], {
          encoding: 'utf8',
          timeout: 120_000,
        });
        process.env.SLURM_CONF = /^export SLURM_CONF=(.+)$/m.exec(env)![1];
        cluster = path.dirname(process.env.SLURM_CONF);
      }
      rows.push(await measure('slurm (array, 2 CPUs)', plan, at('slurm'), { executor: 'slurm' }));
    }
    const walls = (label: string) => stats(rows.filter((x) => x.label === label).map((x) => x.wallSeconds));
    for (const label of ['local --workers 1', 'local --workers 2', 'slurm (array, 2 CPUs)']) {
      const w = walls(label);
      console.log(`${label.padEnd(24)} wall over ${rounds} round(s): min ${f2(w.min)} s, median ${f2(w.median)} s`);
    }
    const speedup = walls('local --workers 1').median / walls('local --workers 2').median;
    console.log(`speed-up of --workers 2 over 1 (median walls): ${speedup.toFixed(2)}×`);
    if (jsonOut)
      fs.writeFileSync(jsonOut, JSON.stringify({ machine: { cpus: os.cpus().length, cpu }, rows, speedup }, null, 2));
  } finally {
    if (cluster)
      execFileSync('bash', [START_SLURM, '--stop', cluster], {
        timeout: 60_000,
      });
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
