/**
 * The run folder (`milkit train --out DIR`, `Trainer.crossValidate(..., { outDir })`):
 *
 * ```
 * run.lock              who is training here now (host, pid, command); see persist/lock.ts
 * run.json              the run's fingerprint (model, data, training settings, seed, splits) and state
 * rep<r>-fold<k>/       last.ckpt, best.ckpt, model.ckpt, result.json (each with its fold's fingerprint)
 * results.json, .csv    the run's results, with the run's fingerprint
 * ```
 * Opening a folder decides what may happen to what is already there: a new run never silently
 * replaces a finished or an unfinished one (resume it, overwrite it explicitly, or choose another
 * folder), and a resume with other settings is refused naming what differs, so results can never
 * mix runs.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { MilkitDataError } from '../data/errors';
import { removeStaleTempFiles, writeFileAtomic } from '../persist/atomic';
import { type RunFingerprint, fingerprintDifferences } from '../persist/fingerprint';
import { takeFolderLock } from '../persist/lock';

export const RUN_MANIFEST = 'run.json';
export const RUN_LOCK = 'run.lock';
const FOLD_DIR = /^rep\d+-fold\d+$/;

export interface RunManifest {
  format: 'milkit-run';
  version: 1;
  fingerprint: RunFingerprint;
  createdAt: string;
  /** True once results.json of the complete run is written. */
  finished: boolean;
}

export interface OpenRunOptions {
  /** Continue the run in the folder (same fingerprint required). */
  resume?: boolean;
  /** Discard a run already in the folder (its run files and fold folders; nothing else is touched). */
  overwrite?: boolean;
  /** What holds the lock, shown to a second process (default: this process's command line). */
  what?: string;
}

export interface OpenRun {
  dir: string;
  /** True when the folder already held this run (resume). */
  resumed: boolean;
  /** Marks the run finished (after results.json is written). */
  finish(): void;
  /** Releases the lock. */
  close(): void;
}

function readManifest(file: string): RunManifest {
  let m: RunManifest;
  try {
    m = JSON.parse(fs.readFileSync(file, 'utf8')) as RunManifest;
  } catch (err) {
    throw new MilkitDataError(
      `cannot read the run manifest (${(err as Error).message.split('\n')[0]})`,
      { file },
      'the run folder is damaged: use another output folder, or --overwrite to start this one afresh',
    );
  }
  if (m?.format !== 'milkit-run' || typeof m.fingerprint?.hash !== 'string')
    throw new MilkitDataError(
      'this is not a milkit run manifest',
      { file, field: 'format' },
      'use another output folder, or --overwrite to start this one afresh',
    );
  return m;
}

/** The run artefacts already in `dir` (not other files a user keeps there). */
function runArtefacts(dir: string): string[] {
  let names: string[];
  try {
    names = fs.readdirSync(dir);
  } catch {
    return [];
  }
  return names.filter((n) => n === RUN_MANIFEST || n === 'results.json' || n === 'results.csv' || FOLD_DIR.test(n));
}

const foldsDone = (dir: string): number =>
  runArtefacts(dir).filter((n) => FOLD_DIR.test(n) && fs.existsSync(path.join(dir, n, 'result.json'))).length;

/**
 * Locks `dir` and checks it against the run about to start there (`fingerprint`): refuses to
 * overwrite a run without `overwrite`, to resume a run with other settings, and to resume a folder
 * whose run cannot be verified. Writes run.json. Call `close()` when the run ends (also on failure).
 */
export function openRunFolder(dir: string, fingerprint: RunFingerprint, opts: OpenRunOptions = {}): OpenRun {
  if (fs.existsSync(dir) && !fs.statSync(dir).isDirectory())
    throw new MilkitDataError(
      'the run folder is a file',
      { file: dir },
      'give a folder for the run (--out), not a file',
    );
  const release = takeFolderLock(path.join(dir, RUN_LOCK), opts.what ?? commandLine());
  try {
    const manifestFile = path.join(dir, RUN_MANIFEST);
    removeStaleTempFiles(dir);
    const present = runArtefacts(dir);
    let resumed = false;
    if (opts.overwrite) {
      for (const n of present) fs.rmSync(path.join(dir, n), { recursive: true, force: true });
    } else if (present.length) {
      if (!fs.existsSync(manifestFile))
        throw new MilkitDataError(
          `the folder holds run files (${present.slice(0, 3).join(', ')}${present.length > 3 ? ', …' : ''}) ` +
            `but no ${RUN_MANIFEST}, so they cannot be checked against this run`,
          { file: dir },
          'use another output folder, or --overwrite to discard them',
        );
      const saved = readManifest(manifestFile);
      if (!opts.resume) {
        const done = foldsDone(dir);
        throw new MilkitDataError(
          saved.finished
            ? 'the folder already holds a finished run'
            : `the folder holds an unfinished run (${done} fold${done === 1 ? '' : 's'} done)`,
          { file: dir },
          saved.finished
            ? 'choose another output folder, or pass --overwrite to replace it'
            : 'continue it with --resume, or pass --overwrite to discard it, or choose another output folder',
        );
      }
      const diff = fingerprintDifferences(saved.fingerprint, fingerprint);
      if (diff.length)
        throw new MilkitDataError(
          `cannot resume: the run in this folder was started with other settings (${diff.join('; ')})`,
          { file: manifestFile, field: 'fingerprint' },
          'resume with the original settings, or start a new run in another output folder (or --overwrite this one)',
        );
      resumed = true;
    }
    // Fold folders of a killed run can hold temp files too (each is cleaned again when its fold starts).
    for (const n of runArtefacts(dir)) if (FOLD_DIR.test(n)) removeStaleTempFiles(path.join(dir, n));
    const manifest: RunManifest = {
      format: 'milkit-run',
      version: 1,
      fingerprint,
      createdAt: resumed ? readManifest(manifestFile).createdAt : new Date().toISOString(),
      finished: false,
    };
    const write = (m: RunManifest) => writeFileAtomic(manifestFile, [Buffer.from(`${JSON.stringify(m, null, 2)}\n`)]);
    write(manifest);
    return {
      dir,
      resumed,
      finish: () => write({ ...manifest, finished: true }),
      close: release,
    };
  } catch (err) {
    release();
    throw err;
  }
}

function commandLine(): string {
  const args = process.argv.slice(1).map((a) => (path.basename(a) === 'milkit.js' ? 'milkit' : a));
  const text = args.join(' ');
  return text.length > 200 ? `${text.slice(0, 199)}…` : text;
}

/**
 * A finished fold's saved result, checked against the fold's fingerprint: a result written by
 * another run is refused rather than reused.
 */
export function readFoldResult<T extends { fingerprint?: string }>(file: string, fingerprint: RunFingerprint): T {
  let r: T;
  try {
    r = JSON.parse(fs.readFileSync(file, 'utf8'), (_, v) => (v === null ? NaN : v)) as T;
  } catch (err) {
    throw new MilkitDataError(
      `cannot read a finished fold's result (${(err as Error).message.split('\n')[0]})`,
      { file },
      'delete this file to train the fold again, or --overwrite the run',
    );
  }
  if (r.fingerprint !== fingerprint.hash)
    throw new MilkitDataError(
      r.fingerprint === undefined
        ? 'this fold result records no fingerprint, so it cannot be checked against this run'
        : 'this fold result was written by a run with other settings, data or split',
      { file, field: 'fingerprint' },
      'delete it to train the fold again, or start a new run in another output folder (or --overwrite this one)',
    );
  return r;
}
