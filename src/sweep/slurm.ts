/**
 * The Slurm executor: one job array per submission (`#SBATCH --array=<unit indices>%MAX`), each
 * task running `milkit sweep run SWEEP_DIR --unit $SLURM_ARRAY_TASK_ID`. The job script is written
 * to `SWEEP_DIR/slurm/` so a user can read it and submit it again by hand.
 *
 * Job states come from `squeue` (pending/running) and from the units' files (done/failed): without
 * accounting (slurmdbd), `sacct` knows nothing about finished jobs, so it is not consulted.
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { SweepFolder } from './folder';
import { MILKIT_BIN, shellQuote } from './local';

export interface SlurmOptions {
  partition?: string;
  /** Time limit per unit (`--time`, e.g. 01:00:00). */
  time?: string;
  /** Memory per unit (`--mem`, e.g. 8G). */
  mem?: string;
  /** CPUs per unit (default 1). */
  cpus?: number;
  /** GPUs per unit (`--gres=gpu:N`). */
  gpus?: number;
  account?: string;
  /** At most this many units at once (`--array=...%MAX`). */
  max?: number;
  /** Extra `#SBATCH` lines, e.g. `--qos=short` or `--constraint=avx512`. */
  extra?: string[];
}

/** No usable Slurm client here: the message says what to do instead. */
export class SlurmUnavailableError extends Error {
  override name = 'SlurmUnavailableError';
}

/** `0-4,7,9-10`: unit indices as a Slurm array range list. */
export function arrayRanges(indices: readonly number[]): string {
  const sorted = [...new Set(indices)].sort((a, b) => a - b);
  const parts: string[] = [];
  for (let i = 0; i < sorted.length;) {
    let j = i;
    while (j + 1 < sorted.length && sorted[j + 1] === sorted[j] + 1) j++;
    parts.push(i === j ? `${sorted[i]}` : `${sorted[i]}-${sorted[j]}`);
    i = j + 1;
  }
  return parts.join(',');
}

/** The job script for `indices` of the sweep in `folder`. */
export function slurmScript(folder: SweepFolder, name: string, indices: readonly number[], o: SlurmOptions): string {
  const lines = [
    '#!/bin/bash',
    `#SBATCH --job-name=milkit-${name}`,
    `#SBATCH --array=${arrayRanges(indices)}${o.max ? `%${o.max}` : ''}`,
    `#SBATCH --output=${path.join(folder.dir, 'logs', '%A_%a.log')}`,
    // A requeued (preempted) task appends to its log instead of truncating it.
    '#SBATCH --open-mode=append',
    `#SBATCH --cpus-per-task=${o.cpus ?? 1}`,
    '#SBATCH --ntasks=1',
    ...(o.partition ? [`#SBATCH --partition=${o.partition}`] : []),
    ...(o.time ? [`#SBATCH --time=${o.time}`] : []),
    ...(o.mem ? [`#SBATCH --mem=${o.mem}`] : []),
    ...(o.gpus ? [`#SBATCH --gres=gpu:${o.gpus}`] : []),
    ...(o.account ? [`#SBATCH --account=${o.account}`] : []),
    ...(o.extra ?? []).map((e) => `#SBATCH ${e}`),
    '',
    '# One sweep unit per array task. A unit stopped by the scheduler (time limit, preemption,',
    '# scancel) keeps its checkpoint; submitting it again resumes it; a finished unit is never rerun.',
    '# OpenBLAS uses the CPUs Slurm gave this task, not every core of the node.',
    'export MILKIT_BLAS_THREADS="${MILKIT_BLAS_THREADS:-${SLURM_CPUS_PER_TASK:-1}}"',
    `exec ${shellQuote(process.execPath)} ${shellQuote(MILKIT_BIN)} ` +
      `sweep run ${shellQuote(folder.dir)} --unit "$SLURM_ARRAY_TASK_ID"`,
    '',
  ];
  return lines.join('\n');
}

function slurmCommand(cmd: string, args: string[], cwd?: string): string {
  try {
    return execFileSync(cmd, args, { cwd, encoding: 'utf8', timeout: 60_000, stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (err) {
    const e = err as NodeJS.ErrnoException & { stderr?: string; signal?: string };
    if (e.code === 'ENOENT')
      throw new SlurmUnavailableError(
        `${cmd} is not on PATH: this machine is not a Slurm submit host. Run the sweep ` +
          `here with --executor local, or run this command on the cluster's login node`,
      );
    if (e.signal) throw new SlurmUnavailableError(`${cmd} did not answer within 60 s (is slurmctld up?)`);
    const why = (e.stderr ?? '').trim().split('\n').pop() ?? e.message;
    const hint = /DNS SRV|configuration source/.test(e.stderr ?? '')
      ? ' (no slurm.conf found: set SLURM_CONF to the cluster configuration)'
      : '';
    throw new SlurmUnavailableError(`${cmd} failed: ${why}${hint}`);
  }
}

/** Throws a SlurmUnavailableError unless the Slurm clients here reach a controller (checked before planning). */
export function checkSlurm(): void {
  slurmCommand('squeue', ['--me', '-h', '-o', '%i']);
  slurmCommand('sbatch', ['--version']);
}

/** Writes the job script and submits it; returns the array job id and the script's path. */
export function submitSlurm(
  folder: SweepFolder,
  name: string,
  indices: readonly number[],
  o: SlurmOptions,
): { job: string; script: string } {
  fs.mkdirSync(path.join(folder.dir, 'logs'), { recursive: true });
  const n = folder.submissions().length;
  const script = path.join(folder.dir, 'slurm', `submit-${n}.sbatch`);
  fs.mkdirSync(path.dirname(script), { recursive: true });
  fs.writeFileSync(script, slurmScript(folder, name, indices, o), { mode: 0o755 });
  const out = slurmCommand('sbatch', ['--parsable', script], folder.dir).trim();
  const job = out.split(';')[0];
  if (!/^\d+$/.test(job)) throw new Error(`sbatch answered "${out}", not a job id`);
  return { job, script };
}

/** Pending and running array tasks of `jobs` (array job id → task index → state), from squeue. */
export function slurmQueue(jobs: readonly string[]): Map<string, Map<number, 'pending' | 'running'>> {
  const queue = new Map<string, Map<number, 'pending' | 'running'>>();
  if (jobs.length === 0) return queue;
  // All of my jobs, filtered here: `squeue -j` fails outright when one id is no longer known.
  const out = slurmCommand('squeue', ['--me', '-h', '-r', '-o', '%F|%K|%t']);
  for (const line of out.split('\n')) {
    const [job, task, state] = line.trim().split('|');
    if (!jobs.includes(job) || !/^\d+$/.test(task ?? '')) continue;
    if (!queue.has(job)) queue.set(job, new Map());
    // PD pending, CF configuring; R running, CG completing (still holds the unit), S suspended.
    queue.get(job)!.set(Number(task), state === 'PD' || state === 'CF' ? 'pending' : 'running');
  }
  return queue;
}

/** Cancels array tasks (`scancel JOB_TASK` each) or whole jobs. */
export function slurmCancel(targets: readonly string[]): void {
  if (targets.length) slurmCommand('scancel', [...targets]);
}
