/**
 * `milkit sweep run SWEEP_DIR --unit I`: runs one unit, whatever started it (a local worker, a
 * Slurm array task, a Kubernetes completion index). A finished unit is never run again; a unit
 * running elsewhere is left alone (its lock); a failure writes `error.json` with the message.
 *
 * Unit kinds: the manifest's `kind` picks the runner below (train: trainUnit.ts, embed:
 * embedUnit.ts); executors, status, resubmit and locks are the same for every kind.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { FolderLockedError, takeFolderLock } from '../persist/lock';
import { runEmbedUnit } from './embedUnit';
import { type SweepFolder, type SweepManifest, slurmTask, writeJsonAtomic } from './folder';
import { runTrainUnit } from './trainUnit';

/** Runs one unit of its manifest's kind: its result, or undefined when stopped (resumable). */
function runKind(
  folder: SweepFolder,
  manifest: SweepManifest,
  index: number,
  opts: { signal?: AbortSignal; log: (line: string) => void },
): Promise<unknown> {
  if (manifest.kind === 'embed') return runEmbedUnit(folder, manifest, manifest.units[index], opts);
  return runTrainUnit(folder, manifest, manifest.units[index], opts);
}

/** How a `sweep run` ended. */
export type RunOutcome = 'done' | 'already-done' | 'busy' | 'interrupted' | 'failed';

/** Exit codes of `milkit sweep run`: the scheduler sees a failure as a failed task. */
export const RUN_EXIT: Record<RunOutcome, number> = {
  done: 0,
  'already-done': 0,
  busy: 0,
  interrupted: 143,
  failed: 1,
};

export function unitAt(manifest: SweepManifest, index: number, folder: SweepFolder): SweepManifest['units'][number] {
  const unit = manifest.units[index];
  if (!Number.isInteger(index) || !unit)
    throw new Error(`${folder.dir} has units 0..${manifest.units.length - 1}; --unit ${index} is not one of them`);
  return unit;
}

export async function runUnit(
  folder: SweepFolder,
  index: number,
  opts: { signal?: AbortSignal; log: (line: string) => void },
): Promise<RunOutcome> {
  const manifest = folder.manifest();
  const unit = unitAt(manifest, index, folder);
  if (fs.existsSync(folder.resultPath(unit))) {
    opts.log(`unit ${unit.id} is already done (${folder.resultPath(unit)}); nothing to do`);
    return 'already-done';
  }
  let release: () => void;
  try {
    const task = slurmTask();
    const what = `unit ${unit.id}${task ? `, Slurm job ${task}` : ''}`;
    release = takeFolderLock(path.join(folder.unitDir(unit), '.lock'), what);
  } catch (err) {
    if (!(err instanceof FolderLockedError)) throw err;
    const o = err.owner;
    opts.log(
      `unit ${unit.id} is running elsewhere (${o ? `pid ${o.pid} on ${o.host}` : 'lock being written'}); ` +
        'leaving it alone',
    );
    return 'busy';
  }
  try {
    // Taken the lock: the unit may have finished between the check above and now.
    if (fs.existsSync(folder.resultPath(unit))) return 'already-done';
    fs.rmSync(folder.errorPath(unit), { force: true }); // a previous failure no longer describes it
    const result = await runKind(folder, manifest, index, opts);
    if (result === undefined) {
      opts.log(`unit ${unit.id} stopped; its checkpoint is kept and a new run resumes from it`);
      return 'interrupted';
    }
    opts.log(`unit ${unit.id} done → ${folder.resultPath(unit)}`);
    return 'done';
  } catch (err) {
    const e = err instanceof Error ? err : new Error(String(err));
    writeJsonAtomic(folder.errorPath(unit), {
      unit,
      message: e.message,
      stack: e.stack,
      host: os.hostname(),
      at: new Date().toISOString(),
      ...(slurmTask() ? { slurmJob: slurmTask() } : {}),
    });
    opts.log(`unit ${unit.id} failed: ${e.message}`);
    return 'failed';
  } finally {
    release();
  }
}

/**
 * Copies everything this process writes to stdout and stderr into `file` as well (appending), so a
 * unit's log holds the library's warnings too, whichever executor ran it. Returns the undo.
 */
export function teeOutput(file: string): () => void {
  fs.mkdirSync(file.replace(/\/[^/]*$/, ''), { recursive: true });
  const fd = fs.openSync(file, 'a');
  const undo: (() => void)[] = [];
  for (const stream of [process.stdout, process.stderr]) {
    const original = stream.write.bind(stream) as (...a: unknown[]) => boolean;
    stream.write = ((chunk: unknown, ...rest: unknown[]) => {
      try {
        fs.writeSync(fd, typeof chunk === 'string' ? Buffer.from(chunk) : Buffer.from(chunk as Uint8Array));
      } catch {
        // the log is a copy: a full disk must not kill the unit
      }
      return original(chunk, ...rest);
    }) as typeof stream.write;
    undo.push(() => {
      stream.write = original as typeof stream.write;
    });
  }
  return () => {
    undo.forEach((u) => u());
    fs.closeSync(fd);
  };
}
