/**
 * The bad-input corpus (files, CSVs, h5, Arrow, flags, model configs, split files, checkpoints, run
 * folders: cases.ts and runCases.ts) run through the real built CLI (`node bin/milkit.js`), several
 * at a time, one `it` per case. Every case must end in a clear error: exit code ≠ 0, exactly one
 * line on stderr (notes aside) that names the file, bag and field and says how to fix it
 * ("Fix: ..."), no stack trace, nothing on stdout, and no output file left behind. The summary
 * line counts clear errors, silent acceptances (exit 0) and crashes (a signal, an exit code other
 * than 1/2, or a JavaScript error surfacing).
 */
import { strict as assert } from 'node:assert';
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { tempDir } from '../../helpers/tmp';
import { sharedData } from '../shared-data';
import { type Case, diskFullCases } from './cases';

const ROOT = path.join(__dirname, '..', '..', '..');
const BIN = path.join(ROOT, 'bin', 'milkit.js');

interface Result {
  code: number | null;
  signal: string | null;
  out: string;
  err: string;
}

function run(c: Case): Promise<Result> {
  const quoted = [BIN, ...c.args].map((a) => `'${a.replace(/'/g, `'\\''`)}'`).join(' ');
  return new Promise((resolve) => {
    const child = spawn('sh', ['-c', `${c.shell ?? ''} exec '${process.execPath}' ${quoted}`], {
      env: { ...process.env, MILKIT_DEBUG: '', MILKIT_BACKEND: 'cpu' },
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    child.on('close', (code, signal) => resolve({ code, signal, out, err }));
  });
}

async function runAll(cases: Case[], parallel: number): Promise<Result[]> {
  const results: Result[] = new Array(cases.length);
  let next = 0;
  const worker = async () => {
    for (let i = next++; i < cases.length; i = next++) results[i] = await run(cases[i]);
  };
  await Promise.all(Array.from({ length: parallel }, worker));
  return results;
}

const CRASH =
  /\n\s+at |TypeError|RangeError|ReferenceError|SyntaxError|Cannot read properties|Unhandled|node:internal|Error: /;

type Verdict = 'clear' | 'silent' | 'crash' | 'unclear';

function verdict(r: Result): Verdict {
  if (r.code === 0) return 'silent';
  if (r.signal || (r.code !== 1 && r.code !== 2) || CRASH.test(r.err)) return 'crash';
  const lines = r.err.split('\n').filter((l) => l !== '' && !l.startsWith('note:') && !l.startsWith('milkit: note:'));
  return lines.length === 1 && / Fix: /.test(lines[0]) && r.out === '' ? 'clear' : 'unclear';
}

/** The corpus, written into `dir` by build.ts in a child process (the cases must be known before mocha runs). */
function buildCases(dir: string): Case[] {
  const r = spawnSync(
    process.execPath,
    ['-r', 'tsx/cjs', path.join(__dirname, 'build.ts'), dir, sharedData('foreign')],
    {
      cwd: ROOT,
      encoding: 'utf8',
      maxBuffer: 64 << 20,
      env: { ...process.env, MILKIT_BACKEND: 'cpu' },
    },
  );
  if (r.status !== 0) throw new Error(`building the corpus failed: ${r.stderr}`);
  return JSON.parse(r.stdout);
}

function problemOf(c: Case, r: Result): string | undefined {
  const v = verdict(r);
  if (v !== 'clear')
    return (
      `${v} (exit ${r.code}${r.signal ? `, ${r.signal}` : ''}): ${r.err.trim().slice(0, 600)}` +
      `${r.out ? ` | stdout: ${r.out.trim().slice(0, 200)}` : ''}`
    );
  const line = r.err.split('\n').find((l) => l.startsWith('milkit ')) ?? r.err;
  const missing = c.names.filter((n) => !line.toLowerCase().includes(n.toLowerCase()));
  if (missing.length) return `the error lacks ${missing.map((m) => `"${m}"`).join(', ')}: ${line}`;
  const outArg = c.args.indexOf('--out');
  if (
    outArg >= 0 &&
    ['convert', 'dataset'].includes(c.args[0]) &&
    fs.existsSync(c.args[outArg + 1]) &&
    fs.statSync(c.args[outArg + 1]).isFile()
  )
    return `left ${c.args[outArg + 1]} behind`;
  return undefined;
}

describe('data-suite: bad-input corpus through the built CLI', function () {
  this.timeout(600_000);
  const dir = tempDir('milkit-corpus-');
  // Not inside `dir`: tempDir's clean-up runs before this suite's after hook could unmount it.
  const full = fs.mkdtempSync(path.join(os.tmpdir(), 'milkit-full-'));
  let cases: Case[] = [];
  let buildError: Error | undefined;
  try {
    assert.ok(fs.existsSync(path.join(ROOT, 'dist', 'cli', 'main.js')), 'run `npm run build` first');
    cases = buildCases(dir);
  } catch (err) {
    buildError = err as Error;
  }
  const mounted = !buildError && spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=64k', 'tmpfs', full]).status === 0;
  if (mounted) cases.push(...diskFullCases(dir, sharedData('foreign'), full));
  const results = new Map<Case, Result>();
  const tally: Record<Verdict, number> = { clear: 0, silent: 0, crash: 0, unclear: 0 };

  before(async () => {
    const rs = await runAll(cases, 4);
    cases.forEach((c, i) => {
      results.set(c, rs[i]);
      tally[verdict(rs[i])]++;
    });
  });

  after(() => {
    if (mounted) spawnSync('umount', [full]);
    fs.rmSync(full, { recursive: true, force: true });
    process.stdout.write(
      `      disk full: ${
        mounted ? 'real ENOSPC on a 64 KiB tmpfs' : 'tmpfs not mountable here (not root): EFBIG via ulimit -f only'
      }\n`,
    );
    process.stdout.write(
      `      corpus: ${cases.length} cases, ${tally.clear} clear errors, ${tally.silent} ` +
        `silent acceptances, ${tally.crash} crashes, ${tally.unclear} unclear\n`,
    );
  });

  it('is built, and holds at least 110 cases of every kind', () => {
    if (buildError) throw buildError;
    assert.ok(cases.length >= 110, `${cases.length} cases`);
    for (const kind of [
      'csv',
      'labels',
      'h5',
      'arrow',
      'convert',
      'dataset',
      'flags',
      'splits',
      'checkpoint',
      'run folder',
    ])
      assert.ok(
        cases.some((c) => c.name.startsWith(`${kind}`)),
        `no ${kind} case`,
      );
  });

  for (const c of cases)
    it(c.name, () => {
      const r = results.get(c);
      assert.ok(r, 'not run');
      const problem = problemOf(c, r);
      if (problem) assert.fail(problem);
    });
});
