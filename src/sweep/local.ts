/**
 * The local executor: a pool of `workers` processes on this machine, each unit a fresh
 * `milkit sweep run SWEEP_DIR --unit I` process, exactly the command a Slurm array task runs, so
 * local and cluster results are equal number for number. A unit's output goes to its `unit.log`;
 * a worker that dies before it could record a failure (a crash, a kill) gets an `error.json` with
 * the end of its stderr.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { type SweepFolder, writeJsonAtomic } from './folder';

/** The CLI launcher a unit process runs (`bin/milkit.js` of this package). */
export const MILKIT_BIN = path.resolve(__dirname, '..', '..', 'bin', 'milkit.js');

/** Quotes a word for a POSIX shell. */
export const shellQuote = (s: string): string => (/^[\w@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`);

export interface LocalOptions {
  /** Units at once (default: the number of CPUs). */
  workers?: number;
  /** Called as each unit's process ends (exit code 0 = done or already done). */
  onExit?: (index: number, code: number | null) => void;
}

export interface LocalRun {
  /** Resolves when every unit's process has ended. */
  done: Promise<void>;
  /** Stops: queued units are dropped, running ones get SIGTERM (they checkpoint and exit). */
  stop(): void;
}

export function runLocal(folder: SweepFolder, indices: readonly number[], o: LocalOptions = {}): LocalRun {
  const manifest = folder.manifest();
  const queue = [...indices];
  const running = new Set<ChildProcess>();
  const workers = Math.max(1, Math.min(o.workers ?? os.availableParallelism(), queue.length || 1));
  let stopped = false;

  const startNext = (): Promise<void> | undefined => {
    const index = queue.shift();
    if (index === undefined || stopped) return undefined;
    const unit = manifest.units[index];
    fs.mkdirSync(folder.unitDir(unit), { recursive: true });
    const child = spawn(process.execPath, [MILKIT_BIN, 'sweep', 'run', folder.dir, '--unit', String(index)], {
      stdio: ['ignore', 'ignore', 'pipe'],
      // The CPUs shared out between the workers, so OpenBLAS does not oversubscribe them.
      env: {
        MILKIT_BLAS_THREADS: String(Math.max(1, Math.floor(os.availableParallelism() / workers))),
        ...process.env,
      },
    });
    running.add(child);
    let stderr = '';
    child.stderr!.on('data', (d: Buffer) => {
      stderr = (stderr + d.toString()).slice(-4000);
    });
    return new Promise<void>((resolve) => {
      child.on('close', (code, signal) => {
        running.delete(child);
        const lost = code !== 0 && code !== 143 && !stopped;
        if (lost && !fs.existsSync(folder.resultPath(unit)) && !fs.existsSync(folder.errorPath(unit)))
          writeJsonAtomic(folder.errorPath(unit), {
            unit,
            message:
              `the unit's process ended with ${signal ? `signal ${signal}` : `exit code ${code}`} ` +
              `before it could record a result`,
            stderr,
            host: os.hostname(),
            at: new Date().toISOString(),
          });
        o.onExit?.(index, code);
        resolve(startNext());
      });
    });
  };

  const done = Promise.all(Array.from({ length: workers }, () => startNext())).then(() => undefined);
  return {
    done,
    stop() {
      stopped = true;
      queue.length = 0;
      for (const c of running) c.kill('SIGTERM');
    },
  };
}
