/**
 * The sweep folder (SWEEP_DIR, on a shared file system when the units run on a cluster):
 *
 * ```
 * sweep.json              the manifest: unit kind, resolved plan, what it runs on, unit list, fingerprint
 * plan.<ext>              the plan as the user wrote it
 * splits/seed-<s>.json    the split each seed's units train on (milkit split file, bag ids);
 *                         a plan of several cohorts: splits/k<i>-seed-<s>.json for cohort i
 * units/<id>/             result.json (done) | error.json (failed) | unit.log | train/ (checkpoints)
 * results/                what `milkit sweep collect` writes (train: summary tables and report.html;
 *                         embed: the per-slide summary; the cohort goes where the plan says)
 * submissions.jsonl       one line per submission: executor, job id, unit indices, time
 * slurm/, k8s/, logs/     job scripts and manifests as submitted, scheduler logs
 * ```
 * Every file is written atomically. A folder lock (`.lock`, persist/lock.ts) guards planning and
 * submitting, and each unit has its own lock while it runs, so two runners never train the same unit.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { writeFileAtomic } from '../persist/atomic';
import type { dataFingerprint } from '../persist/fingerprint';
import type { EmbedUnit, ResolvedEmbedPlan } from './embedUnit';
import type { ResolvedPlan } from './plan';

export const SWEEP_FORMAT = 'milkit-sweep';
/**
 * 3: a plan lists one or more cohorts, each unit names its cohort. 2: the cohort is identified by
 * its data fingerprint (1 had bag ids and labels only).
 */
export const SWEEP_VERSION = 3;

/** What every unit has: `index` is its Slurm array index / Kubernetes completion index. */
export interface UnitBase {
  index: number;
  /** Its folder name under units/. */
  id: string;
}

/** A unit of a train sweep: one configuration × one cohort × one fold × one seed. */
export interface Unit extends UnitBase {
  config: string;
  /** Index of its cohort in the plan's `cohorts`. */
  cohort: number;
  seed: number;
  repeat: number;
  fold: number;
}

/**
 * What identifies a cohort a sweep was planned on: its name in the plan, its path and the data
 * fingerprint runs use (bag table, width, a sample of the feature bytes). A unit refuses to run on
 * another cohort.
 */
export type CohortIdentity = { name: string; path: string } & ReturnType<typeof dataFingerprint>;

interface ManifestCommon {
  format: typeof SWEEP_FORMAT;
  version: typeof SWEEP_VERSION;
  /** sha256 over kind, plan, inputs and units: a second `sweep` with another plan is refused. */
  fingerprint: string;
  createdAt: string;
}

/** A sweep of trainings (`kind: train`, the default): models × settings × folds × seeds. */
export interface TrainManifest extends ManifestCommon {
  kind: 'train';
  plan: ResolvedPlan;
  /** One per `plan.cohorts` entry, in order. */
  cohorts: CohortIdentity[];
  units: Unit[];
}

/** A sweep that embeds tiled slides (`kind: embed`): one unit per shard of slides. */
export interface EmbedManifest extends ManifestCommon {
  kind: 'embed';
  plan: ResolvedEmbedPlan;
  units: EmbedUnit[];
}

/**
 * The manifest; `kind` says what a unit is and which runner `sweep run` uses. Executors, locks,
 * status and resubmission see only `UnitBase`, so a kind adds its planner, runner and collector.
 */
export type SweepManifest = TrainManifest | EmbedManifest;
export type UnitKind = SweepManifest['kind'];

export interface Submission {
  executor: 'local' | 'slurm' | 'k8s';
  /** Slurm job id, or the local driver's pid. */
  job: string;
  host: string;
  units: number[];
  at: string;
  script?: string;
}

/** JSON that writes non-finite numbers as null (JSON has no NaN). */
export const toJson = (v: unknown, indent = 2): string =>
  JSON.stringify(v, (_, x) => (typeof x === 'number' && !Number.isFinite(x) ? null : x), indent);

export function writeJsonAtomic(file: string, value: unknown): void {
  writeFileAtomic(file, [Buffer.from(`${toJson(value)}\n`)]);
}

export function writeTextAtomic(file: string, text: string): void {
  writeFileAtomic(file, [Buffer.from(text)]);
}

/** The Slurm array task this process runs as (`<array job>_<task>`), if any. */
export function slurmTask(): string | undefined {
  const job = process.env.SLURM_ARRAY_JOB_ID;
  return job ? `${job}_${process.env.SLURM_ARRAY_TASK_ID}` : undefined;
}

/** Where and when a unit ran, for its result: its own seconds since `started`, the process, host and Slurm task. */
export function unitRun(started: number) {
  const slurmJob = slurmTask();
  return {
    seconds: (Date.now() - started) / 1000,
    processStartedAt: new Date(Date.now() - process.uptime() * 1000).toISOString(),
    host: os.hostname(),
    ...(slurmJob ? { slurmJob } : {}),
    finishedAt: new Date().toISOString(),
  };
}

export class SweepFolder {
  readonly dir: string;
  constructor(dir: string) {
    this.dir = path.resolve(dir);
  }

  get manifestPath(): string {
    return path.join(this.dir, 'sweep.json');
  }
  exists(): boolean {
    return fs.existsSync(this.manifestPath);
  }
  /** The manifest; a folder without one gets a clear error. */
  manifest(): SweepManifest {
    if (!this.exists())
      throw new Error(`${this.dir} is not a sweep folder (no sweep.json); start one with: milkit sweep PLAN --out DIR`);
    const m = JSON.parse(fs.readFileSync(this.manifestPath, 'utf8')) as Omit<SweepManifest, 'version'> & {
      version: number;
    };
    if (m.format === SWEEP_FORMAT && m.version < SWEEP_VERSION)
      throw new Error(
        `${this.manifestPath}: planned by an earlier milkit (sweep version ${m.version}); ` +
          'plan the sweep again into a new folder',
      );
    if (m.format !== SWEEP_FORMAT || m.version !== SWEEP_VERSION)
      throw new Error(`${this.manifestPath}: not a milkit sweep manifest (format ${m.format}, version ${m.version})`);
    return m as SweepManifest;
  }
  unitDir(u: UnitBase): string {
    return path.join(this.dir, 'units', u.id);
  }
  resultPath(u: UnitBase): string {
    return path.join(this.unitDir(u), 'result.json');
  }
  errorPath(u: UnitBase): string {
    return path.join(this.unitDir(u), 'error.json');
  }
  logPath(u: UnitBase): string {
    return path.join(this.unitDir(u), 'unit.log');
  }
  /** The split of one seed; `tag` names the cohort in a plan of several (`k1-`). */
  splitsPath(seed: number, tag = ''): string {
    return path.join(this.dir, 'splits', `${tag}seed-${seed}.json`);
  }

  submissions(): Submission[] {
    const file = path.join(this.dir, 'submissions.jsonl');
    if (!fs.existsSync(file)) return [];
    return fs
      .readFileSync(file, 'utf8')
      .split('\n')
      .filter((l) => l.trim())
      .map((l) => JSON.parse(l) as Submission);
  }
  /** Appends one submission record (a single write of one line: appends of that size do not interleave). */
  recordSubmission(s: Submission): void {
    fs.appendFileSync(path.join(this.dir, 'submissions.jsonl'), `${JSON.stringify(s)}\n`);
  }
}
