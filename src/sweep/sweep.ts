/**
 * Sweeps: plan → units in SWEEP_DIR → an executor runs them → status → one collected table.
 *
 * ```ts
 * const s = await sweep('plan.yaml', { out: 'sweeps/musk1', executor: 'slurm', slurm: { time: '1:00:00' } });
 * s.status().counts        // { done, running, pending, failed, missing }
 * const table = await s.wait({ onStatus: (st) => console.log(statusLine(st)) });
 * ```
 * The same steps are `milkit sweep PLAN --out DIR`, `milkit sweep status|resubmit|collect DIR`.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Cohort } from '../data/cohort';
import { canonicalJson, sha256 } from '../persist/fingerprint';
import { takeFolderLock } from '../persist/lock';
import { listModels } from '../registry';
import { type SweepTable, collectSweep, tableMarkdown, writeTable } from './collect';
import {
  type EmbedPlan,
  type EmbedSummary,
  type ResolvedEmbedPlan,
  collectEmbedSweep,
  embedMarkdown,
  planEmbedUnits,
  resolveEmbedPlan,
} from './embedUnit';
import {
  type EmbedManifest,
  type SweepManifest,
  type TrainManifest,
  SweepFolder,
  SWEEP_FORMAT,
  SWEEP_VERSION,
  writeJsonAtomic,
  writeTextAtomic,
} from './folder';
import { type K8sOptions, k8sJob } from './k8s';
import { type LocalOptions, type LocalRun, runLocal } from './local';
import { type ResolvedPlan, type SweepPlan, readPlan, resolvePlan } from './plan';
import { type SlurmOptions, checkSlurm, slurmCancel, submitSlurm } from './slurm';
import { type SweepStatus, statusLine, sweepStatus } from './status';
import { cohortIdentity, planTrainUnits } from './trainUnit';
import { stringify as toYaml } from 'yaml';

export type ExecutorName = 'local' | 'slurm' | 'k8s';

export interface ExecutorOptions {
  executor?: ExecutorName;
  /** Local: processes at once. */
  workers?: number;
  slurm?: SlurmOptions;
  k8s?: K8sOptions;
  /** Local: called as each unit's process ends. */
  onUnitExit?: LocalOptions['onExit'];
}

export interface SweepOptions extends ExecutorOptions {
  /** The sweep folder (SWEEP_DIR); must not hold another sweep. */
  out: string;
}

/**
 * Checks a plan (a file, or an object whose paths are relative to the current folder) and writes the
 * sweep into `out`: manifest with fingerprint, split files, the plan. Refuses a folder that already
 * holds a sweep, the same or another: finished units are never overwritten. `kind: embed` plans a
 * sweep of slide shards (embedUnit.ts); any other plan is a sweep of trainings.
 */
export async function planSweep(plan: SweepPlan | EmbedPlan | string, out: string): Promise<SweepFolder> {
  const file = typeof plan === 'string' ? path.resolve(plan) : undefined;
  const raw = file ? readPlan(file) : plan;
  const baseDir = file ? path.dirname(file) : process.cwd();
  const embed = !!raw && typeof raw === 'object' && (raw as { kind?: unknown }).kind === 'embed';
  const resolved = embed
    ? resolveEmbedPlan(raw as unknown as Record<string, unknown>, { baseDir, file })
    : resolvePlan(raw, { baseDir, models: listModels().map((m) => m.name), file });
  // An embed plan is planned before the folder is touched (nothing to write but the manifest).
  const embedded = embed ? await planEmbedUnits(resolved as ResolvedEmbedPlan, file) : undefined;
  const folder = new SweepFolder(out);
  fs.mkdirSync(folder.dir, { recursive: true });
  const release = takeFolderLock(path.join(folder.dir, '.lock'), 'planning a sweep');
  try {
    if (folder.exists()) {
      const old = folder.manifest();
      const now = embedded
        ? embedFingerprint(embedded.plan, embedded.units)
        : await fingerprintOf(resolved as ResolvedPlan);
      throw new Error(
        old.fingerprint === now
          ? `${folder.dir} already holds this sweep (fingerprint ${old.fingerprint.slice(0, 12)}); ` +
              `see milkit sweep status ${folder.dir}, and milkit ` +
              `sweep resubmit ${folder.dir} runs only its failed or missing units`
          : `${folder.dir} holds another sweep (fingerprint ${old.fingerprint.slice(0, 12)}, ` +
              `plan "${old.plan.name}"); choose another --out (finished units are never overwritten)`,
      );
    }
    const common = {
      format: SWEEP_FORMAT as typeof SWEEP_FORMAT,
      version: SWEEP_VERSION as typeof SWEEP_VERSION,
      createdAt: new Date().toISOString(),
    };
    let manifest: SweepManifest;
    if (embedded)
      manifest = {
        ...common,
        kind: 'embed',
        fingerprint: embedFingerprint(embedded.plan, embedded.units),
        plan: embedded.plan,
        units: embedded.units,
      };
    else {
      const train = resolved as ResolvedPlan;
      const { units, cohorts } = await planTrainUnits(train, folder, file);
      manifest = { ...common, kind: 'train', fingerprint: fingerprint(train, cohorts), plan: train, cohorts, units };
    }
    if (file)
      writeTextAtomic(path.join(folder.dir, `plan${path.extname(file) || '.yaml'}`), fs.readFileSync(file, 'utf8'));
    else writeTextAtomic(path.join(folder.dir, 'plan.json'), `${JSON.stringify(plan, null, 2)}\n`);
    writeJsonAtomic(folder.manifestPath, manifest); // last: a folder with sweep.json is a whole sweep
    return folder;
  } finally {
    release();
  }
}

function fingerprint(plan: ResolvedPlan, cohorts: TrainManifest['cohorts']): string {
  return sha256(canonicalJson({ kind: 'train', plan, cohorts }));
}

function embedFingerprint(plan: ResolvedEmbedPlan, units: EmbedManifest['units']): string {
  return sha256(canonicalJson({ kind: 'embed', plan, units }));
}

async function fingerprintOf(plan: ResolvedPlan): Promise<string> {
  const identities: TrainManifest['cohorts'] = [];
  for (const entry of plan.cohorts) {
    const cohort = await Cohort.open(entry.path, { cacheBytes: 0 });
    try {
      identities.push(cohortIdentity(cohort, entry.name));
    } finally {
      await cohort.close();
    }
  }
  return fingerprint(plan, identities);
}

/** What one submission started. */
export interface Submitted {
  executor: ExecutorName;
  units: number[];
  /** Slurm: the array job id and its script. */
  job?: string;
  script?: string;
  /** k8s: the manifest file (a dry run: nothing is applied). */
  manifestFile?: string;
  /** Local: the running pool. */
  local?: LocalRun;
}

/** Submits `units` (default: every unit not done) with the chosen executor. */
export function submitSweep(folder: SweepFolder, opts: ExecutorOptions = {}, units?: number[]): Submitted {
  const manifest = folder.manifest();
  const todo = units ?? manifest.units.filter((u) => !fs.existsSync(folder.resultPath(u))).map((u) => u.index);
  const executor = opts.executor ?? 'local';
  const record = (job: string, script?: string) =>
    folder.recordSubmission({
      executor,
      job,
      host: os.hostname(),
      units: todo,
      at: new Date().toISOString(),
      ...(script ? { script } : {}),
    });
  if (executor === 'k8s') {
    const manifestFile = path.join(folder.dir, 'k8s', 'job.yaml');
    writeTextAtomic(manifestFile, toYaml(k8sJob(folder, manifest, opts.k8s)));
    return { executor, units: todo, manifestFile };
  }
  if (todo.length === 0) return { executor, units: todo };
  if (executor === 'slurm') {
    const { job, script } = submitSlurm(folder, manifest.plan.name, todo, opts.slurm ?? {});
    record(job, script);
    return { executor, units: todo, job, script };
  }
  if (executor !== 'local') throw new Error(`unknown executor "${executor as string}"; use local, slurm or k8s`);
  // The local driver holds the folder lock while its pool runs: a second driver would race it.
  const release = takeFolderLock(path.join(folder.dir, '.lock'), 'a local sweep driver');
  record(String(process.pid));
  const local = runLocal(folder, todo, { workers: opts.workers, onExit: opts.onUnitExit });
  local.done.finally(release).catch(() => undefined);
  return { executor, units: todo, local };
}

/** The units worth submitting again: failed, or missing (never ran, cancelled, killed). */
export function unitsToResubmit(folder: SweepFolder): number[] {
  return sweepStatus(folder)
    .units.filter((u) => u.state === 'failed' || u.state === 'missing')
    .map((u) => u.index);
}

/** What collecting a sweep gives: train, the metrics table; embed, the per-slide summary and cohort. */
export type Collected = SweepTable | EmbedSummary;

/** Collects a sweep of either kind and writes its results (SWEEP_DIR/results/; embed: the cohort). */
export async function collectAny(folder: SweepFolder): Promise<Collected> {
  const manifest = folder.manifest();
  if (manifest.kind === 'embed') return collectEmbedSweep(folder, manifest);
  const t = collectSweep(folder);
  writeTable(folder, t);
  return t;
}

/** The collected result as Markdown (the CLI prints it). */
export const collectedMarkdown = (c: Collected): string =>
  c.format === 'milkit-sweep-embed' ? embedMarkdown(c) : tableMarkdown(c);

/**
 * A running sweep, for notebooks: live status, waiting, the collected result (`T`: the metrics
 * table of a train sweep, the summary and cohort of an embed sweep).
 */
export class SweepHandle<T extends Collected = Collected> {
  constructor(
    readonly folder: SweepFolder,
    /** What this handle submitted (none for a handle on an existing folder). */
    readonly submitted?: Submitted,
  ) {}

  get dir(): string {
    return this.folder.dir;
  }
  status(): SweepStatus {
    return sweepStatus(this.folder);
  }
  /** What has finished so far, collected (and written to SWEEP_DIR/results/). */
  async collect(): Promise<T> {
    return (await collectAny(this.folder)) as T;
  }
  /**
   * Waits until no unit is running or pending, calling `onStatus` when the counts change; after
   * `timeoutMs` it throws (the units keep running).
   */
  async wait(o: { intervalMs?: number; timeoutMs?: number; onStatus?: (s: SweepStatus) => void } = {}): Promise<T> {
    if (this.submitted?.executor === 'k8s') throw new Error('a k8s dry run submits nothing to wait for');
    const deadline = Date.now() + (o.timeoutMs ?? Infinity);
    let last = '';
    for (;;) {
      if (Date.now() > deadline)
        throw new Error(
          `sweep ${this.dir}: still running after ${o.timeoutMs! / 1000} s (${statusLine(this.status())})`,
        );
      const s = this.status();
      const key = JSON.stringify(s.counts);
      if (key !== last) o.onStatus?.(s);
      last = key;
      const local = this.submitted?.local;
      const localDone = !local || (await settled(local.done, 0));
      if (s.counts.running + s.counts.pending === 0 && localDone) break;
      if (local) await settled(local.done, o.intervalMs ?? 2000);
      else await new Promise((r) => setTimeout(r, o.intervalMs ?? 5000));
    }
    return this.collect();
  }
  /** Stops the units this handle started (local: SIGTERM; Slurm: scancel of its array job). */
  stop(): void {
    this.submitted?.local?.stop();
    if (this.submitted?.job) slurmCancel([this.submitted.job]);
  }
}

/** Resolves true when `p` settles within `ms`, false otherwise. */
async function settled(p: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<boolean>((r) => (timer = setTimeout(() => r(false), ms)));
  const done = p.then(
    () => true,
    () => true,
  );
  const first = await Promise.race([done, timeout]);
  clearTimeout(timer);
  return first;
}

/** Plans a sweep into `opts.out` and submits every unit; the notebook's one call. */
export async function sweep(plan: EmbedPlan, opts: SweepOptions): Promise<SweepHandle<EmbedSummary>>;
export async function sweep(plan: SweepPlan, opts: SweepOptions): Promise<SweepHandle<SweepTable>>;
export async function sweep(plan: SweepPlan | EmbedPlan | string, opts: SweepOptions): Promise<SweepHandle>;
export async function sweep(plan: SweepPlan | EmbedPlan | string, opts: SweepOptions): Promise<SweepHandle> {
  if (opts.executor === 'slurm') checkSlurm(); // before anything is written
  const folder = await planSweep(plan, opts.out);
  return new SweepHandle(folder, submitSweep(folder, opts));
}

/** A handle on an existing sweep folder (to watch or collect a sweep started elsewhere). */
export function openSweep(dir: string): SweepHandle {
  const folder = new SweepFolder(dir);
  folder.manifest();
  return new SweepHandle(folder);
}
