/**
 * `npm run bench`: train / inference time per bag, projection GFLOP/s and peak RSS for the model
 * cases (AB-MIL, TransMIL, DSMIL at N = 8000, D = 1024 by default) on the active backend.
 *
 *   node dist/bench/index.js [--only NAME] [--instances N] [--dim D] [--steps S] [--json]
 *
 * Each case runs in its own child process, so its peak RSS is its own (the wasm heap never shrinks).
 * `--json` prints exactly {"backend", "results": [{model, instances, dim, trainSecondsPerBag,
 * inferSecondsPerBag, gflops, peakRssMB}]} (a case that fails has null numbers and an "error"). Reference on the project's 2-core machine (official
 * PyTorch, 2 threads): AB-MIL step 0.14 s, inference 0.038 s; TransMIL step 2.3 s.
 */
import { spawnSync } from 'node:child_process';
import { ensureBackend } from '../backend';
import { parseFlags } from '../cli/flags';
import { benchCases, runCase, type BenchResult } from './models';
import './mhim'; // registers the mhim-abmil and mhim-transmil cases

const spec = {
  only: { type: 'string', help: 'run one case (abmil, transmil, dsmil, ...)' },
  instances: { type: 'number', default: 8000, help: 'instances per bag' },
  dim: { type: 'number', default: 1024, help: 'feature width' },
  steps: { type: 'number', default: 3, help: 'timed steps per measurement (after one warm-up)' },
  json: { type: 'boolean', help: 'print JSON' },
  child: { type: 'boolean', help: '(internal) run one case in this process and print its JSON' },
} as const;

async function main(): Promise<void> {
  const { flags } = parseFlags(process.argv.slice(2), spec);
  const backend = await ensureBackend();
  const opts = { instances: Number(flags.instances), dim: Number(flags.dim), steps: Number(flags.steps) };
  if (flags.child) {
    process.stdout.write(`${JSON.stringify(await runCase(String(flags.only), opts))}\n`);
    return;
  }
  const names = flags.only ? [String(flags.only)] : [...benchCases().keys()];
  for (const n of names) if (!benchCases().has(n)) throw new Error(`unknown bench case "${n}"; known: ${[...benchCases().keys()].join(', ')}`);
  const results: BenchResult[] = [];
  for (const name of names) {
    const args = [__filename, '--child', '--only', name, '--instances', String(opts.instances), '--dim', String(opts.dim), '--steps', String(opts.steps)];
    const r = spawnSync(process.execPath, args, { encoding: 'utf8', env: { ...process.env, MILKIT_BACKEND: backend.name }, maxBuffer: 1 << 24 });
    const line = r.stdout.trim().split('\n').pop() ?? '';
    let result: BenchResult;
    if (r.status === 0 && line.startsWith('{')) {
      result = JSON.parse(line) as BenchResult;
    } else {
      // A case that cannot run (e.g. out of wasm memory) is reported, and the other cases still run.
      const reason = `${r.stderr}${r.stdout}`.trim().split('\n').filter((s) => s.trim() && !s.startsWith('    at')).slice(-2).join(' | ').slice(0, 300);
      result = { model: name, instances: opts.instances, dim: opts.dim, trainSecondsPerBag: null, inferSecondsPerBag: null, gflops: null, peakRssMB: null, error: `exit ${r.status}: ${reason}` };
    }
    results.push(result);
    if (!flags.json) printRow(result, results.length === 1, backend.name);
  }
  if (flags.json) process.stdout.write(`${JSON.stringify({ backend: backend.name, results })}\n`);
}

const fixed = (v: number | null, digits: number) => (v === null ? '-' : v.toFixed(digits));

function printRow(r: BenchResult, header: boolean, backend: string): void {
  if (header) {
    console.log(`backend ${backend}; seconds per bag (one warm-up step excluded)`);
    console.log(['model'.padEnd(16), 'N'.padStart(7), 'D'.padStart(6), 'train s'.padStart(9), 'infer s'.padStart(9), 'GFLOP/s'.padStart(9), 'peak RSS MB'.padStart(12)].join(' '));
  }
  console.log(
    [
      r.model.padEnd(16),
      String(r.instances).padStart(7),
      String(r.dim).padStart(6),
      fixed(r.trainSecondsPerBag, 3).padStart(9),
      fixed(r.inferSecondsPerBag, 3).padStart(9),
      fixed(r.gflops, 1).padStart(9),
      String(r.peakRssMB ?? '-').padStart(12),
      r.error ? ` failed: ${r.error}` : '',
    ].join(' '),
  );
}

main().catch((err) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
