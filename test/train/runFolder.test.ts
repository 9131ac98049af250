/**
 * Run folders never mix or lose runs: a resume with any result-changing difference is refused
 * naming it, every reused fold result must carry the fold's fingerprint, results.json carries the
 * run's, a re-run never silently replaces a run, and two real processes cannot train in one folder.
 */
import { strict as assert } from 'node:assert';
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { writeCohort } from '../../src/data';
import { Cohort } from '../../src/data/cohort';
import type { Split } from '../../src/data/splits';
import { Trainer } from '../../src/train';
import { RUN_LOCK } from '../../src/train/runFolder';
import { tempDir } from '../helpers/tmp';
import { writeToyCohort } from './fixtures';

const ROOT = path.join(__dirname, '..', '..');
const BIN = path.join(ROOT, 'bin', 'milkit.js');

/** A run stopped after its first training step: run.json and last.ckpt exist, no fold is finished. */
async function startedRun(t: Trainer, cohort: Cohort, splits: Split[][], outDir: string): Promise<void> {
  const ctl = new AbortController();
  t.events.on((e) => e.type === 'step' && ctl.abort());
  const r = await t.crossValidate(cohort, splits, { outDir, signal: ctl.signal });
  assert.equal(r.interrupted, true);
}

function milkitSync(args: string[]): { code: number | null; err: string; out: string } {
  const r = spawnSync(process.execPath, [BIN, ...args], {
    encoding: 'utf8',
    env: { ...process.env, MILKIT_BACKEND: 'cpu', MILKIT_DEBUG: '' },
  });
  return { code: r.status, err: r.stderr, out: r.stdout };
}

describe('train/runFolder: resume fingerprints, overwrite protection, locks', function () {
  this.timeout(300_000);
  const dir = tempDir();
  let cohort: Cohort;
  let other: Cohort;
  const model = { name: 'abmil', config: { embedDim: 8, dropout: 0 } };
  const config = { epochs: 2, lr: 5e-3, seed: 3, selectOn: 'last' as const };
  const splits: Split[][] = [
    [
      { train: [0, 1, 2, 3, 4, 5, 6, 7], test: [8, 9, 10, 11] },
      { train: [4, 5, 6, 7, 8, 9, 10, 11], test: [0, 1, 2, 3] },
    ],
  ];

  before(async () => {
    cohort = await Cohort.open(await writeToyCohort(dir, { bags: 12, dim: 4 }));
    other = await Cohort.open(await writeToyCohort(dir, { bags: 12, dim: 4, name: 'shifted', offset: 0.5 }));
  });
  after(async () => {
    await cohort.close();
    await other.close();
  });

  // One started run; each resume below changes one thing and must be refused naming it.
  const differences: [string, () => [Trainer, Cohort, Split[][]], RegExp][] = [
    [
      'another model',
      () => [new Trainer({ model: { name: 'gabmil', config: model.config }, config }), cohort, splits],
      /model\.name: saved "abmil", now "gabmil"/,
    ],
    [
      'another model option',
      () => [new Trainer({ model: { name: 'abmil', config: { embedDim: 16, dropout: 0 } }, config }), cohort, splits],
      /model\.config\.embedDim: saved 8, now 16/,
    ],
    ['other data', () => [new Trainer({ model, config }), other, splits], /data\.content: saved "sha256:[0-9a-f]+/],
    [
      'more epochs',
      () => [new Trainer({ model, config: { ...config, epochs: 3 } }), cohort, splits],
      /training\.epochs: saved 2, now 3/,
    ],
    [
      'another seed',
      () => [new Trainer({ model, config: { ...config, seed: 4 } }), cohort, splits],
      /training\.seed: saved 3, now 4/,
    ],
    [
      'another learning rate',
      () => [new Trainer({ model, config: { ...config, lr: 1e-3 } }), cohort, splits],
      /training\.lr: saved 0\.005, now 0\.001/,
    ],
    [
      'another split',
      () => [
        new Trainer({ model, config }),
        cohort,
        [[splits[0][0], { train: [0, 1, 2, 3, 4, 5, 6, 7], test: [8, 9, 10, 11] }]],
      ],
      /splits\[1\]\.split\.test\[0\]: saved 0, now 8/,
    ],
  ];

  for (const [what, make, names] of differences) {
    it(`--resume with ${what} is refused, naming the difference; the run is untouched`, async () => {
      const out = path.join(dir, `diff-${what.replace(/ /g, '-')}`);
      await startedRun(new Trainer({ model, config }), cohort, splits, out);
      const before = fs.readFileSync(path.join(out, 'run.json'), 'utf8');
      const ckpt = fs.readFileSync(path.join(out, 'rep0-fold0', 'last.ckpt'));
      const [t, c, s] = make();
      await assert.rejects(t.crossValidate(c, s, { outDir: out, resume: true }), (err: Error) => {
        assert.match(
          err.message,
          /run\.json, field "fingerprint": cannot resume: the run in this folder was started with other settings/,
        );
        assert.match(err.message, names);
        assert.match(err.message, /Fix: resume with the original settings/);
        return true;
      });
      assert.equal(fs.readFileSync(path.join(out, 'run.json'), 'utf8'), before);
      assert.deepEqual(fs.readFileSync(path.join(out, 'rep0-fold0', 'last.ckpt')), ckpt);
      assert.ok(!fs.existsSync(path.join(out, RUN_LOCK)), 'the lock is released after the refusal');
    });
  }

  it('a finished fold is reused only with its fingerprint; results.json carries the run fingerprint', async () => {
    const out = path.join(dir, 'reuse');
    const full = await new Trainer({ model, config }).crossValidate(cohort, splits, { outDir: out });
    const manifest = JSON.parse(fs.readFileSync(path.join(out, 'run.json'), 'utf8'));
    const results = JSON.parse(fs.readFileSync(path.join(out, 'results.json'), 'utf8'));
    assert.equal(manifest.finished, true);
    assert.equal(results.fingerprint, manifest.fingerprint.hash);
    for (const f of results.folds) assert.match(f.fingerprint, /^sha256:[0-9a-f]{64}$/);
    assert.notEqual(results.folds[0].fingerprint, results.folds[1].fingerprint);
    // Resuming the finished run reuses both folds and reports the same metrics.
    const again = await new Trainer({ model, config }).crossValidate(cohort, splits, { outDir: out, resume: true });
    assert.deepEqual(
      again.folds.map((f) => f.metrics),
      full.folds.map((f) => f.metrics),
    );
    // A fold result copied in from another run (here: fold 1's as fold 0's) is refused, not relabelled.
    fs.copyFileSync(path.join(out, 'rep0-fold1', 'result.json'), path.join(out, 'rep0-fold0', 'result.json'));
    await assert.rejects(
      new Trainer({ model, config }).crossValidate(cohort, splits, { outDir: out, resume: true }),
      new RegExp(
        /rep0-fold0\/result\.json, field "fingerprint": this fold result was /.source +
          /written by a run with other settings, data or split\. Fix: delete it/.source,
      ),
    );
  });

  it('a run without --resume never replaces a finished or an unfinished run; --overwrite does', async () => {
    const out = path.join(dir, 'replace');
    await startedRun(new Trainer({ model, config }), cohort, splits, out);
    await assert.rejects(
      new Trainer({ model, config }).crossValidate(cohort, splits, { outDir: out }),
      new RegExp(
        /holds an unfinished run \(0 folds done\)\. Fix: continue it with --resume, /.source +
          /or pass --overwrite to discard it, or choose another output folder/.source,
      ),
    );
    assert.ok(fs.existsSync(path.join(out, 'rep0-fold0', 'last.ckpt')), 'the unfinished run is kept');
    fs.writeFileSync(path.join(out, 'notes.txt'), 'mine');
    const fresh = await new Trainer({ model, config: { ...config, seed: 5 } }).crossValidate(cohort, splits, {
      outDir: out,
      overwrite: true,
    });
    assert.equal(fresh.interrupted, false);
    assert.equal(fs.readFileSync(path.join(out, 'notes.txt'), 'utf8'), 'mine', '--overwrite removes run files only');
    await assert.rejects(
      new Trainer({ model, config }).crossValidate(cohort, splits, { outDir: out }),
      /already holds a finished run\. Fix: choose another output folder, or pass --overwrite/,
    );
    // Run files without a manifest (not written by this milkit) are never resumed blindly.
    const bare = path.join(dir, 'bare');
    fs.mkdirSync(path.join(bare, 'rep0-fold0'), { recursive: true });
    await assert.rejects(
      new Trainer({ model, config }).crossValidate(cohort, splits, { outDir: bare, resume: true }),
      /holds run files \(rep0-fold0\) but no run\.json/,
    );
  });

  describe('two real processes on one --out', () => {
    let data: string;
    let first: ChildProcess | undefined;
    before(async () => {
      data = path.join(dir, 'slow.arrow');
      // Big enough bags that a run lasts well beyond the second process's start-up.
      const records = Array.from({ length: 16 }, (_, b) => ({
        id: `s${b}`,
        label: b % 2,
        patientId: `p${b}`,
        features: Float32Array.from({ length: 400 * 32 }, (_, i) => Math.sin(i * 0.37 + b)),
      }));
      await writeCohort(data, records, { dim: 32 });
    });
    afterEach(() => {
      if (first && first.exitCode === null && first.signalCode === null) first.kill('SIGKILL');
    });

    const trainArgs = (out: string, epochs = 200) => [
      'train',
      '--model',
      'abmil',
      '--model-config',
      '{"embedDim":8}',
      '--data',
      data,
      '--folds',
      '2',
      '--epochs',
      String(epochs),
      '--out',
      out,
      '--quiet',
    ];

    async function startFirst(out: string): Promise<ChildProcess> {
      const child = spawn(process.execPath, [BIN, ...trainArgs(out)], {
        stdio: 'ignore',
        env: { ...process.env, MILKIT_BACKEND: 'cpu' },
      });
      const lock = path.join(out, RUN_LOCK);
      const t0 = Date.now();
      while (!fs.existsSync(path.join(out, 'run.json'))) {
        assert.ok(Date.now() - t0 < 60_000, 'the first run did not start within 60 s');
        assert.equal(child.exitCode, null, 'the first run exited early');
        await new Promise((r) => setTimeout(r, 100));
      }
      assert.equal(JSON.parse(fs.readFileSync(lock, 'utf8')).pid, child.pid);
      return child;
    }

    it('the second refuses naming pid and host; after a kill -9 the stale lock is taken over', async () => {
      const out = path.join(dir, 'locked');
      first = await startFirst(out);
      for (const extra of [[], ['--resume'], ['--overwrite']]) {
        const second = milkitSync([...trainArgs(out), ...extra]);
        assert.equal(second.code, 1, second.err);
        const lines = second.err.trim().split('\n');
        assert.equal(lines.length, 1, second.err);
        assert.match(
          lines[0],
          new RegExp(
            `run\\.lock: the folder is in use by pid ${first.pid} on this host since .* \\(milkit ` +
              `train .*\\)\\. Fix: wait for it to finish \\(or stop it: kill ${first.pid}\\)`,
          ),
        );
      }
      assert.ok(first.exitCode === null, 'the first run keeps going');
      const killed = first;
      killed.kill('SIGKILL');
      await new Promise((r) => killed.once('exit', r));
      assert.ok(fs.existsSync(path.join(out, RUN_LOCK)), 'a killed process leaves its lock');
      // Stale (its pid is dead on this host): a resume takes the folder over, then stops on Ctrl-C.
      first = spawn(process.execPath, [BIN, ...trainArgs(out), '--resume'], {
        stdio: ['ignore', 'ignore', 'pipe'],
        env: { ...process.env, MILKIT_BACKEND: 'cpu' },
      });
      let err = '';
      first.stderr!.on('data', (d) => (err += d));
      const t0 = Date.now();
      const holder = () => {
        try {
          return JSON.parse(fs.readFileSync(path.join(out, RUN_LOCK), 'utf8')).pid as number;
        } catch {
          return undefined;
        }
      };
      while (holder() !== first.pid) {
        assert.ok(Date.now() - t0 < 60_000, `the resume did not take the stale lock: ${err}`);
        assert.equal(first.exitCode, null, `the resume exited: ${err}`);
        await new Promise((r) => setTimeout(r, 100));
      }
      const resumed = first;
      resumed.kill('SIGINT');
      const code = await new Promise((r) => resumed.once('exit', (c) => r(c)));
      assert.equal(code, 130, err);
      assert.ok(!fs.existsSync(path.join(out, RUN_LOCK)), 'released when the run stops');
      assert.equal(JSON.parse(fs.readFileSync(path.join(out, 'run.json'), 'utf8')).finished, false);
    });

    it("another host's lock is not broken: the error says how to remove it", () => {
      const out = path.join(dir, 'remote');
      fs.mkdirSync(out, { recursive: true });
      const lock = path.join(out, RUN_LOCK);
      fs.writeFileSync(
        lock,
        JSON.stringify({
          host: `not-${os.hostname()}`,
          pid: 1234,
          at: '2025-01-01T00:00:00.000Z',
          what: 'milkit train',
        }),
      );
      const r = milkitSync(trainArgs(out, 1));
      assert.equal(r.code, 1);
      assert.match(
        r.err,
        new RegExp(
          `in use by pid 1234 on host not-.* \\(milkit train\\)\\. Fix: use ` +
            `another output folder; if that process is no longer running on not-.*, ` +
            `delete ${lock.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')} and retry`,
        ),
      );
      assert.ok(fs.existsSync(lock), 'left in place');
    });
  });
});
