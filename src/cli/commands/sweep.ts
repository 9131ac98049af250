import { useBackend } from '../../backend';
import {
  type ExecutorOptions,
  type SweepStatus,
  type Submitted,
  RUN_EXIT,
  checkSlurm,
  SweepFolder,
  SweepHandle,
  collectAny,
  collectedMarkdown,
  planSweep,
  runUnit,
  statusLine,
  submitSweep,
  sweepStatus,
  teeOutput,
  unitsToResubmit,
} from '../../sweep';
import { type Command, type CliContext, UsageError, parseArgs } from '../command';
import { describeFlags, type FlagSpec, type FlagValues } from '../flags';

const executorFlags: FlagSpec = {
  executor: { type: 'string', default: 'local', help: 'local (worker processes), slurm (one job array) or k8s' },
  workers: { type: 'number', help: 'local: units at once (default: number of CPUs)' },
  wait: { type: 'boolean', help: 'slurm: block until every unit has finished (local always waits)' },
  partition: { type: 'string', help: 'slurm: --partition' },
  time: { type: 'string', help: 'slurm: time limit per unit, e.g. 01:00:00' },
  mem: { type: 'string', help: 'slurm/k8s: memory per unit, e.g. 8G (k8s: 8Gi)' },
  cpus: { type: 'number', help: 'slurm/k8s: CPUs per unit (default 1)' },
  gpus: { type: 'number', help: 'slurm: --gres=gpu:N; k8s: nvidia.com/gpu' },
  account: { type: 'string', help: 'slurm: --account' },
  max: { type: 'number', help: 'slurm: at most N units at once (--array=...%N); k8s: parallelism' },
  sbatch: { type: 'string', help: 'slurm: extra #SBATCH options, ";"-separated, e.g. "--qos=short;--requeue"' },
  'dry-run': { type: 'boolean', help: 'k8s: write the Indexed Job manifest (SWEEP_DIR/k8s/job.yaml) and print it' },
  image: { type: 'string', help: 'k8s: container image with milkit installed (default milkit:latest)' },
  pvc: { type: 'string', help: 'k8s: PersistentVolumeClaim holding the sweep folder and cohort' },
  namespace: { type: 'string', help: 'k8s: namespace' },
  json: { type: 'boolean', help: 'print the result as JSON' },
};
const planFlags: FlagSpec = {
  out: { type: 'string', alias: 'o', help: 'the sweep folder SWEEP_DIR (required; must not hold another sweep)' },
  ...executorFlags,
};

function executorOptions(f: FlagValues): ExecutorOptions {
  const executor = f.executor as string;
  if (!['local', 'slurm', 'k8s'].includes(executor))
    throw new UsageError(`--executor must be local, slurm or k8s, got "${executor}"`);
  if (executor === 'k8s' && !f['dry-run'])
    throw new UsageError(
      '--executor k8s only writes the Job manifest: add --dry-run, then kubectl apply -f SWEEP_DIR/k8s/job.yaml',
    );
  for (const k of ['workers', 'cpus', 'gpus', 'max'])
    if (f[k] !== undefined && !(Number.isInteger(f[k]) && (f[k] as number) >= (k === 'gpus' ? 0 : 1)))
      throw new UsageError(`--${k} must be a positive integer, got ${f[k]}`);
  return {
    executor: executor as ExecutorOptions['executor'],
    workers: f.workers as number | undefined,
    slurm: {
      partition: f.partition as string | undefined,
      time: f.time as string | undefined,
      mem: f.mem as string | undefined,
      cpus: f.cpus as number | undefined,
      gpus: f.gpus as number | undefined,
      account: f.account as string | undefined,
      max: f.max as number | undefined,
      extra: f.sbatch
        ? String(f.sbatch)
            .split(';')
            .map((s) => s.trim())
            .filter(Boolean)
        : undefined,
    },
    k8s: {
      image: f.image as string | undefined,
      pvc: f.pvc as string | undefined,
      namespace: f.namespace as string | undefined,
      cpus: f.cpus as number | undefined,
      mem: f.mem as string | undefined,
      gpus: f.gpus as number | undefined,
      parallelism: f.max as number | undefined,
    },
  };
}

function printStatus(s: SweepStatus, ctx: CliContext): void {
  ctx.print(`${s.name} (${s.dir}): ${statusLine(s)}`);
  for (const u of s.units.filter((x) => x.state !== 'done' && x.state !== 'pending'))
    ctx.print(
      `  ${u.state.padEnd(8)} ${u.id.padEnd(18)} ${u.label}${u.detail ? `: ${u.detail}` : ''}` +
        `${u.state === 'failed' && u.logs.length ? `\n           log: ${u.logs.join(', ')}` : ''}`,
    );
  const pending = s.units.filter((x) => x.state === 'pending');
  if (pending.length) ctx.print(`  pending  ${pending.map((u) => u.index).join(' ')}`);
  for (const n of s.notes) ctx.warn(`note: ${n}`);
}

/** Runs a submission to its end as the CLI shows it; returns the exit code. */
async function follow(folder: SweepFolder, sub: Submitted, f: FlagValues, ctx: CliContext): Promise<number> {
  const dir = folder.dir;
  if (sub.executor === 'k8s') {
    if (f.json) ctx.json({ manifest: sub.manifestFile, units: sub.units.length });
    else {
      const { readFileSync } = await import('node:fs');
      ctx.print(readFileSync(sub.manifestFile!, 'utf8'));
      ctx.warn(`milkit sweep: wrote ${sub.manifestFile}; apply with kubectl apply -f ${sub.manifestFile}`);
    }
    return 0;
  }
  if (sub.units.length === 0) {
    ctx.warn(`milkit sweep: nothing to run in ${dir}: every unit is done (milkit sweep collect ${dir})`);
    return 0;
  }
  if (sub.executor === 'slurm') {
    ctx.warn(
      `milkit sweep: submitted ${sub.units.length} unit(s) as Slurm array job ${sub.job} (script ${sub.script})`,
    );
    if (!f.wait) {
      if (f.json) ctx.json({ job: sub.job, script: sub.script, units: sub.units });
      else ctx.print(`watch with: milkit sweep status ${dir}`);
      return 0;
    }
  }
  const handle = new SweepHandle(folder, sub);
  // Ctrl-C stops a local pool (its units checkpoint); on Slurm it only stops waiting: the job runs on.
  const onSignal = () => {
    ctx.warn('\nmilkit sweep: stopping: running units checkpoint and stop (resubmit to continue)');
    handle.stop();
  };
  if (sub.local) {
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
  }
  try {
    const table = await handle.wait({ onStatus: (s) => ctx.warn(`milkit sweep: ${statusLine(s)}`) });
    const status = handle.status();
    if (f.json) ctx.json({ status: status.counts, table });
    else {
      printStatus(status, ctx);
      ctx.print(`\n${collectedMarkdown(table)}`);
      ctx.print(
        table.format === 'milkit-sweep-embed'
          ? `summary: ${dir}/results/summary.{json,md}`
          : `tables: ${dir}/results/summary.{json,csv,md}; report: ${dir}/results/report.html`,
      );
    }
    return status.counts.done === status.total ? 0 : 1;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

const SUBCOMMANDS = `  milkit sweep PLAN --out SWEEP_DIR [--executor local|slurm|k8s] [options]
  milkit sweep status SWEEP_DIR [--json]
  milkit sweep resubmit SWEEP_DIR [--executor ...]   failed or missing units only
  milkit sweep collect SWEEP_DIR [--json]            mean ± sd per config, bootstrap CIs, HTML report
  milkit sweep run SWEEP_DIR --unit I                one unit (what each worker / array task runs)`;

export const sweep: Command = {
  name: 'sweep',
  summary: 'models × settings × folds × seeds (or shards of slides to embed) on a local pool, Slurm or Kubernetes',
  usage:
    `milkit sweep PLAN --out SWEEP_DIR [options] | status | resubmit | collect | ` +
    `run\n\n${SUBCOMMANDS}\n\nPLAN (YAML or JSON): cohort, folds | splits (+ repeats), seeds, trainer ` +
    `options (epochs, lr, ...),\ngrid, models: [{ model, mhim?, config?, grid?, name? ` +
    `}]; or kind: embed with tiles, encoder, labels,\nout, slidesPerUnit (milkit slides embed, ` +
    `one unit per shard of slides). See README "Sweeps".\n\n${describeFlags(planFlags)}`,
  async run(argv, ctx) {
    const [sub, ...rest] = argv;
    if (sub === 'run') {
      const { flags: f, args } = parseArgs(rest, { unit: { type: 'number', help: 'unit index' } }, ['SWEEP_DIR']);
      if (f.unit === undefined) throw new UsageError('--unit is required (the array task index)');
      const folder = new SweepFolder(args[0]);
      const unit = folder.manifest().units[f.unit as number];
      const untee = unit ? teeOutput(folder.logPath(unit)) : () => undefined;
      // The scheduler's SIGTERM (scancel, time limit, preemption): checkpoint after this step, stop.
      const ctl = new AbortController();
      const stop = () => ctl.abort();
      process.on('SIGTERM', stop);
      process.on('SIGINT', stop);
      try {
        await useBackend();
        const outcome = await runUnit(folder, f.unit as number, {
          signal: ctl.signal,
          log: (line) => ctx.warn(`[${new Date().toISOString()}] ${line}`),
        });
        return RUN_EXIT[outcome];
      } finally {
        process.off('SIGTERM', stop);
        process.off('SIGINT', stop);
        untee();
      }
    }
    if (sub === 'status') {
      const { flags: f, args } = parseArgs(rest, { json: executorFlags.json }, ['SWEEP_DIR']);
      const s = sweepStatus(new SweepFolder(args[0]));
      if (f.json) ctx.json(s);
      else printStatus(s, ctx);
      return s.counts.failed ? 1 : 0;
    }
    if (sub === 'collect') {
      const { flags: f, args } = parseArgs(rest, { json: executorFlags.json }, ['SWEEP_DIR']);
      const folder = new SweepFolder(args[0]);
      if (folder.manifest().kind === 'embed') await useBackend(); // collect loads the encoder
      const table = await collectAny(folder);
      if (f.json) ctx.json(table);
      else ctx.print(collectedMarkdown(table));
      if (!table.complete)
        ctx.warn(
          `milkit sweep collect: partial: ${table.missing.length} of ${folder.manifest().units.length} ` +
            `units have no result (milkit sweep status ${folder.dir}; milkit sweep resubmit ${folder.dir})`,
        );
      const files =
        table.format === 'milkit-sweep-embed'
          ? ['summary.json', 'summary.md']
              .map((x) => `${folder.dir}/results/${x}`)
              .concat(table.cohort ? [table.cohort.path] : [])
          : ['summary.json', 'summary.csv', 'summary.md', 'report.html'].map((x) => `${folder.dir}/results/${x}`);
      ctx.warn(`milkit sweep collect: wrote ${files.join(', ')}`);
      return 0;
    }
    if (sub === 'resubmit') {
      const { flags: f, args } = parseArgs(rest, executorFlags, ['SWEEP_DIR']);
      const opts = executorOptions(f);
      const folder = new SweepFolder(args[0]);
      if (opts.executor === 'slurm') checkSlurm();
      const todo = unitsToResubmit(folder);
      if (!f.json) ctx.warn(`milkit sweep resubmit: ${todo.length} failed or missing unit(s): ${todo.join(' ')}`);
      return follow(folder, submitSweep(folder, opts, todo), f, ctx);
    }
    if (sub === undefined) throw new UsageError('missing PLAN (or one of status, resubmit, collect, run)');
    const { flags: f, args } = parseArgs(argv, planFlags, ['PLAN']);
    const opts = executorOptions(f);
    if (typeof f.out !== 'string') throw new UsageError('--out SWEEP_DIR is required (the sweep folder)');
    if (opts.executor === 'slurm') checkSlurm(); // no sbatch here: say so before writing anything
    await useBackend();
    const folder = await planSweep(args[0], f.out);
    const m = folder.manifest();
    if (!f.json)
      ctx.warn(
        m.kind === 'embed'
          ? `milkit sweep: ${m.units.reduce((a, u) => a + u.slides.length, 0)} slide(s) in ` +
              `shards of ${m.plan.slidesPerUnit} → ${m.units.length} units in ${folder.dir}`
          : `milkit sweep: ${m.plan.configs.length} config(s) on ${m.plan.cohorts.length} cohort(s) ` +
              `→ ${m.units.length} units in ${folder.dir}`,
      );
    return follow(folder, submitSweep(folder, opts), f, ctx);
  },
};
