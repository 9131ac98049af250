/**
 * A real single-node Slurm cluster for a test file: `scripts/start-slurm.sh --print-env` in a
 * before hook, `--stop` in the after hook (which mocha runs after failures too) and, as a backstop,
 * when the process exits. A cluster already named by SLURM_CONF is used as it is and left running.
 * Every call is bounded in time, so a daemon that misbehaves fails the tests instead of hanging them.
 */
import { execFileSync } from 'node:child_process';
import * as path from 'node:path';

const SCRIPT = path.resolve(__dirname, '..', '..', 'scripts', 'start-slurm.sh');

export function useSlurmCluster(): void {
  let started: string | undefined;
  const stop = () => {
    if (!started) return;
    const dir = started;
    started = undefined;
    execFileSync('bash', [SCRIPT, '--stop', dir], { stdio: 'ignore', timeout: 60_000 });
  };
  before(function () {
    this.timeout(150_000);
    if (process.env.SLURM_CONF) return;
    const env = execFileSync('bash', [SCRIPT, '--print-env'], { encoding: 'utf8', timeout: 120_000 });
    const conf = /^export SLURM_CONF=(.+)$/m.exec(env)?.[1];
    if (!conf) throw new Error(`start-slurm.sh printed no SLURM_CONF:\n${env}`);
    process.env.SLURM_CONF = conf;
    started = path.dirname(conf);
    process.once('exit', stop);
  });
  after(function () {
    this.timeout(90_000);
    if (started) delete process.env.SLURM_CONF;
    stop();
  });
}

/** Polls `check` every `everyMs` until it returns true; fails after `timeoutMs` naming `what`. */
export async function waitFor(what: string, check: () => boolean, timeoutMs: number, everyMs = 500): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs / 1000} s waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}
