/**
 * Where each unit of a sweep stands, from the unit files (result, error, lock, checkpoint) and the
 * scheduler's queue (`squeue` for Slurm submissions; the driver's pid for local ones):
 * done, running, pending, failed (with its error and log), or missing (never ran, or stopped).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { EmbedUnit } from './embedUnit';
import { folderLockOwner } from '../persist/lock';
import type { EmbedManifest, SweepFolder, SweepManifest, UnitBase } from './folder';
import { slurmQueue } from './slurm';

export type UnitState = 'done' | 'running' | 'pending' | 'failed' | 'missing';
export const UNIT_STATES: readonly UnitState[] = ['done', 'running', 'pending', 'failed', 'missing'];

export interface UnitStatus extends UnitBase {
  state: UnitState;
  /** train: the configuration's label; embed: the shard's slides. */
  label: string;
  /** train: the configuration id. */
  config?: string;
  /** Failed: the error message; missing: how far it got; running: where. */
  detail?: string;
  /** Log files worth reading (the unit's own log, the scheduler's). */
  logs: string[];
}

export interface SweepStatus {
  dir: string;
  name: string;
  total: number;
  counts: Record<UnitState, number>;
  units: UnitStatus[];
  /** What the status could not know (a scheduler that did not answer, no accounting). */
  notes: string[];
}

/** What a stopped unit left that a resubmission continues from, if anything. */
function progressNote(folder: SweepFolder, manifest: SweepManifest, index: number): string | undefined {
  if (manifest.kind === 'embed') return embedProgress(manifest, manifest.units[index]);
  const train = path.join(folder.unitDir(manifest.units[index]), 'train');
  if (!fs.existsSync(train)) return undefined;
  const fold = fs.readdirSync(train).find((d) => d.startsWith('rep'));
  return fold && fs.existsSync(path.join(train, fold, 'last.ckpt'))
    ? 'stopped with a checkpoint: a resubmission resumes it'
    : undefined;
}

export function sweepStatus(folder: SweepFolder): SweepStatus {
  const manifest = folder.manifest();
  const notes: string[] = [];
  const submissions = folder.submissions();
  // Slurm: the newest submission that lists a unit decides its scheduler state.
  const slurmJobs = submissions.filter((s) => s.executor === 'slurm');
  let queue = new Map<string, Map<number, 'pending' | 'running'>>();
  if (slurmJobs.length) {
    try {
      queue = slurmQueue(slurmJobs.map((s) => s.job));
    } catch (err) {
      notes.push(`squeue did not answer (${(err as Error).message}): queued Slurm tasks show as missing`);
    }
    notes.push(
      'finished Slurm tasks are read from the unit files: without accounting (slurmdbd), sacct has no data on them',
    );
  }
  // Local: the driver holds the folder lock while its pool runs; its latest submission is queued.
  const driver = folderLockOwner(path.join(folder.dir, '.lock'));
  const local = submissions.filter((s) => s.executor === 'local' && s.job === String(driver?.pid)).pop();
  const labels = new Map(manifest.kind === 'train' ? manifest.plan.configs.map((c) => [c.id, c.label]) : []);
  const cohortNames = manifest.kind === 'train' ? manifest.plan.cohorts.map((k) => k.name) : [];
  const several = cohortNames.length > 1;
  const labelOf = (u: SweepManifest['units'][number]) =>
    'slides' in u
      ? `${u.slides.length} slide(s): ${u.slides.slice(0, 3).join(', ')}${u.slides.length > 3 ? ', ...' : ''}`
      : `${labels.get(u.config) ?? u.config}${several ? ` on ${cohortNames[u.cohort]}` : ''}`;

  const units = (manifest.units as SweepManifest['units'][number][]).map((u): UnitStatus => {
    const dir = folder.unitDir(u);
    const logs = [folder.logPath(u)];
    for (const s of slurmJobs)
      if (s.units.includes(u.index)) logs.push(path.join(folder.dir, 'logs', `${s.job}_${u.index}.log`));
    const existingLogs = logs.filter((l) => fs.existsSync(l));
    const base = { ...u, label: labelOf(u), logs: existingLogs };
    if (fs.existsSync(folder.resultPath(u))) return { ...base, state: 'done' };
    const lock = folderLockOwner(path.join(dir, '.lock'));
    if (lock) return { ...base, state: 'running', detail: `pid ${lock.pid} on ${lock.host}` };
    for (const s of [...slurmJobs].reverse()) {
      const state = queue.get(s.job)?.get(u.index);
      if (state) return { ...base, state, detail: `Slurm job ${s.job}_${u.index}` };
    }
    const failedAt = fs.existsSync(folder.errorPath(u)) ? fs.statSync(folder.errorPath(u)).mtimeMs : undefined;
    if (local?.units.includes(u.index) && !(failedAt && failedAt > Date.parse(local.at)))
      return { ...base, state: 'pending', detail: 'queued in a local worker pool' };
    if (failedAt) {
      const err = JSON.parse(fs.readFileSync(folder.errorPath(u), 'utf8')) as { message?: string };
      return { ...base, state: 'failed', detail: err.message ?? 'failed' };
    }
    return { ...base, state: 'missing', detail: progressNote(folder, manifest, u.index) };
  });
  const counts = Object.fromEntries(UNIT_STATES.map((s) => [s, units.filter((u) => u.state === s).length])) as Record<
    UnitState,
    number
  >;
  return { dir: folder.dir, name: manifest.plan.name, total: units.length, counts, units, notes };
}

/** `done 7/10, running 2, pending 1` (zero counts left out). */
export function statusLine(s: SweepStatus): string {
  return [
    `done ${s.counts.done}/${s.total}`,
    ...UNIT_STATES.slice(1)
      .filter((k) => s.counts[k])
      .map((k) => `${k} ${s.counts[k]}`),
  ].join(', ');
}

/** How far a stopped embed unit got: its slides whose feature files exist. */
export function embedProgress(manifest: EmbedManifest, unit: EmbedUnit): string | undefined {
  const dir = path.join(manifest.plan.tiles, `features_${manifest.plan.encoderName}`);
  const done = unit.slides.filter((id) => fs.existsSync(path.join(dir, `${id}.h5`))).length;
  return done ? `${done} of ${unit.slides.length} slides embedded: a resubmission embeds the rest` : undefined;
}
