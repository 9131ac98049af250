/**
 * The test summary tells the truth: skipped tests are counted as skipped with their reason (never as
 * passed), pending and `.only` tests fail the run, and a stage that exits non-zero counts as a
 * failure even when its own counts show none. Runs mocha and scripts/test-lib.sh as `npm test` does.
 */
import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { tempDir } from '../helpers/tmp';

const ROOT = path.join(__dirname, '..', '..');
const MOCHARC = path.join(ROOT, '.mocharc.json');

function mocha(spec: string, stats: string) {
  const rc = JSON.parse(fs.readFileSync(MOCHARC, 'utf8'));
  const args = ['mocha', '--no-config', '--reporter', rc.reporter, '--require', 'tsx/cjs'];
  if (rc['forbid-only']) args.push('--forbid-only');
  if (rc['forbid-pending']) args.push('--forbid-pending');
  return spawnSync('npx', [...args, path.join(__dirname, 'fixtures', spec)], {
    cwd: ROOT,
    encoding: 'utf8',
    env: { ...process.env, MILKIT_STATS: stats, MILKIT_STAGE: 'fixture' },
  });
}

function lib(script: string, stats: string) {
  return spawnSync('bash', ['-c', `source scripts/test-lib.sh; status=0; ${script}; summary "$MILKIT_STATS"`], {
    cwd: ROOT,
    encoding: 'utf8',
    env: { ...process.env, MILKIT_STATS: stats },
  });
}

describe('test summary: skips, pending, .only and exit codes are counted', function () {
  this.timeout(60_000);
  const dir = tempDir('milkit-summary-');
  let n = 0;
  const statsFile = () => {
    const f = path.join(dir, `stats-${n++}`);
    fs.writeFileSync(f, '');
    return f;
  };

  it('a skipped test counts as skipped with its reason; a skipped suite runs none of its tests or hooks', () => {
    const stats = statsFile();
    const r = mocha('skips.spec.ts', stats);
    assert.notEqual(r.status, 0);
    const lines = fs.readFileSync(stats, 'utf8').trim().split('\n');
    assert.equal(lines[0], 'fixture 1 1 3');
    assert.deepEqual(lines.slice(1).sort(), [
      '#skip fixture | fixture a suite without its service nested would throw too | the service is not running',
      '#skip fixture | fixture a suite without its service would throw | the service is not running',
      '#skip fixture | fixture cannot run here | no such device',
    ]);
    assert.match(r.stdout, /cannot run here \(skipped: no such device\)/);
    assert.doesNotMatch(r.stdout + r.stderr, /must not run/);
  });

  it('a pending test is a failure (forbid-pending)', () => {
    const stats = statsFile();
    const r = mocha('pending.spec.ts', stats);
    assert.notEqual(r.status, 0);
    assert.equal(fs.readFileSync(stats, 'utf8').split('\n')[0], 'fixture 0 1 0');
  });

  it('a left-over .only fails the run (forbid-only)', () => {
    const r = mocha('only.spec.ts', statsFile());
    assert.notEqual(r.status, 0);
    assert.match(r.stderr + r.stdout, /only/i);
  });

  it('the total line adds passed, failed and skipped over stages and lists every skip reason', () => {
    const stats = statsFile();
    fs.writeFileSync(stats, 'unit 5 0 2\n#skip unit | a b | no wasm\n#skip unit | a c | no wasm\nlint 1 0\n');
    const r = lib('true', stats);
    const out = r.stdout.trim().split('\n');
    assert.equal(out.at(-1), '6 passed, 0 failed, 2 skipped');
    assert.ok(out.includes('  unit: a b: no wasm'), r.stdout);
  });

  it('a skip without a reason is counted and listed as a failure, not as a skip', () => {
    const stats = statsFile();
    fs.writeFileSync(stats, 'kernel 2 0 2\n#skip kernel | t.a | tslab never sends it\n#skip kernel | t.b | \n');
    const out = lib('true', stats).stdout.trim().split('\n');
    assert.equal(out.at(-1), '2 passed, 1 failed, 1 skipped');
    assert.ok(out.includes('  kernel: t.b: skipped without a reason'), out.join('\n'));
    assert.ok(out.includes('  kernel: t.a: tslab never sends it'), out.join('\n'));
    assert.ok(!out.some((l) => /t\.b: $/.test(l)), 'an empty reason is never printed as one');
  });

  it('a stage that exits non-zero is a failure even when it printed only passes', () => {
    const stats = statsFile();
    const r = lib(`stage liar bash -c 'echo "liar 3 0" >> "$MILKIT_STATS"; exit 3'; echo "status=$status"`, stats);
    assert.match(r.stdout, /status=1/);
    assert.match(r.stdout, /liar exited with code 3 although it reported no failing test/);
    assert.equal(r.stdout.trim().split('\n').at(-1), '3 passed, 1 failed, 0 skipped');
  });

  it('a stage that dies before reporting is a failure; one that reports its failures is not counted twice', () => {
    const stats = statsFile();
    const r = lib(
      `stage silent bash -c 'exit 1'; stage honest bash -c 'echo "honest 2 1" >> "$MILKIT_STATS"; exit 1'`,
      stats,
    );
    assert.equal(r.stdout.trim().split('\n').at(-1), '2 passed, 2 failed, 0 skipped');
  });
});
