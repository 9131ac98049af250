/**
 * Sweeps on a REAL single-node Slurm cluster (scripts/start-slurm.sh: munged, slurmctld, slurmd)
 * with real MUSK1. A small documented setting keeps the suite short: AB-MIL (embedDim 32, no
 * dropout) and mean-MIL, 5-fold CV with seed 1, 3 epochs at lr 5e-4, per-fold standardisation, the
 * weights after the last epoch.
 */
import { strict as assert } from 'node:assert';
import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { musk1 } from '../../../src/data/datasets/musk1';
import { type SweepFolder, SweepHandle, planSweep, submitSweep, sweep, sweepStatus } from '../../../src/sweep';
import { useSlurmCluster, waitFor } from '../../helpers/slurm';
import { damageRunFolders } from '../../helpers/sweep';
import { tempDir } from '../../helpers/tmp';
import { sharedData } from '../shared-data';

const BIN = path.resolve(__dirname, '..', '..', '..', 'bin', 'milkit.js');
const WAIT = { timeoutMs: 600_000, intervalMs: 1000 };
const ABMIL = { embedDim: 32, dropout: 0 };
const TRAIN = { epochs: 3, lr: 5e-4, standardize: true, selectOn: 'last' as const };

/** unit id → test metrics, for every finished unit. */
function metricsOf(folder: SweepFolder): Record<string, Record<string, number>> {
  return Object.fromEntries(
    folder
      .manifest()
      .units.filter((u) => fs.existsSync(folder.resultPath(u)))
      .map((u) => [u.id, JSON.parse(fs.readFileSync(folder.resultPath(u), 'utf8')).metrics]),
  );
}

const cli = (...args: string[]) =>
  spawnSync(process.execPath, [BIN, 'sweep', ...args], { encoding: 'utf8', timeout: 600_000 });

describe('data-suite/sweep: MUSK1 sweeps on a real Slurm cluster', function () {
  this.timeout(900_000);
  useSlurmCluster();
  const dir = tempDir();
  let cohort: string;
  const plan = (extra: Record<string, unknown> = {}) => ({
    name: 'musk1',
    cohort,
    folds: 5,
    seeds: [1],
    ...TRAIN,
    models: [{ model: 'abmil', config: ABMIL }, { model: 'mean-mil' }],
    ...extra,
  });

  before(async () => {
    cohort = (await musk1.build({ out: path.join(dir, 'musk1.arrow'), source: sharedData('musk1') })).cohort
      .instancePath;
  });

  it(
    'local pool and two concurrent Slurm sweeps (separate ' + 'folders) agree number for number, and with milkit train',
    async () => {
      const local = await sweep(plan(), { out: path.join(dir, 'local'), executor: 'local', workers: 2 });
      await local.wait(WAIT);
      const [a, b] = await Promise.all([
        sweep(plan(), { out: path.join(dir, 'slurm-a'), executor: 'slurm', slurm: { max: 2 } }),
        sweep(plan(), { out: path.join(dir, 'slurm-b'), executor: 'slurm' }),
      ]);
      assert.notEqual(a.submitted!.job, b.submitted!.job);
      const [ta] = await Promise.all([a.wait(WAIT), b.wait(WAIT)]);
      const expected = metricsOf(local.folder);
      assert.equal(Object.keys(expected).length, 10);
      assert.deepEqual(metricsOf(a.folder), expected);
      assert.deepEqual(metricsOf(b.folder), expected);
      // Neither sweep wrote into the other's folder: each has its own job's logs only.
      for (const h of [a, b])
        assert.deepEqual(
          fs.readdirSync(path.join(h.dir, 'logs')).map((f) => f.split('_')[0]),
          Array(10).fill(h.submitted!.job),
        );
      // A unit is fold (0, k) of `milkit train --seed 1` exactly (run with the units' OpenBLAS thread
      // count: a different count may change the last bits of a sum).
      const train = spawnSync(
        process.execPath,
        [
          BIN,
          'train',
          '--model',
          'abmil',
          '--model-config',
          JSON.stringify(ABMIL),
          '--data',
          cohort,
          '--folds',
          '5',
          '--seed',
          '1',
          '--epochs',
          '3',
          '--lr',
          '5e-4',
          '--standardize',
          '--select',
          'last',
          '--out',
          path.join(dir, 'train'),
          '--json',
          '--quiet',
        ],
        { encoding: 'utf8', timeout: 600_000, env: { ...process.env, MILKIT_BLAS_THREADS: '1' } },
      );
      assert.equal(train.status, 0, train.stderr);
      (JSON.parse(train.stdout).folds as { metrics: Record<string, number> }[]).forEach((f, k) =>
        assert.deepEqual(expected[`c0-s1-r0-f${k}`], f.metrics),
      );
      assert.equal(ta.complete, true);
      assert.deepEqual(
        ta.rows.map((r) => [r.label, r.done, r.metrics.auc.n]),
        [
          ['abmil', 5, 5],
          ['mean-mil', 5, 5],
        ],
      );
      // The sweep's report: both configurations, each drawn from its five units (curves, ROC, confusion).
      const html = fs.readFileSync(path.join(a.dir, 'results', 'report.html'), 'utf8');
      const sections = html.split('<details>').slice(1);
      assert.equal(sections.length, 2);
      for (const sec of sections) {
        assert.ok(sec.includes('5 unit(s) over 1 seed(s)'));
        assert.ok((sec.match(/<svg/g) ?? []).length >= 4);
      }
      console.log(
        `      MUSK1 5-fold AUC: ${ta.rows.map((r) => `${r.label} ${r.metrics.auc.mean.toFixed(3)}`).join(', ')}`,
      );
    },
  );

  it(
    'scancel of one array task, then resubmit: the unit ' + 'resumes from its checkpoint and ends as if never stopped',
    async () => {
      const cancelPlan = plan({ name: 'musk1-cancel', epochs: 15, models: [{ model: 'abmil', config: ABMIL }] });
      const s = await sweep(cancelPlan, { out: path.join(dir, 'cancel'), executor: 'slurm', slurm: { max: 2 } });
      const unit0 = s.folder.manifest().units[0];
      const log = s.folder.logPath(unit0);
      await waitFor(
        'unit 0 to train a few epochs',
        () => fs.existsSync(log) && /epoch [3-9]\//.test(fs.readFileSync(log, 'utf8')),
        300_000,
      );
      execFileSync('scancel', [`${s.submitted!.job}_0`], { timeout: 60_000 });
      await waitFor(
        'the cancelled task to leave the queue',
        () => !['running', 'pending'].includes(sweepStatus(s.folder).units[0].state),
        120_000,
      );
      await s.wait(WAIT);
      const st = sweepStatus(s.folder);
      assert.deepEqual([st.counts.done, st.counts.missing], [4, 1]);
      assert.equal(st.units[0].state, 'missing');
      assert.match(st.units[0].detail!, /checkpoint/);
      assert.match(fs.readFileSync(log, 'utf8'), /unit c0-s1-r0-f0 stopped; its checkpoint is kept/);

      const r = cli('resubmit', s.dir, '--executor', 'slurm', '--wait');
      assert.equal(r.status, 0, r.stderr);
      assert.match(r.stderr, /resubmit: 1 failed or missing unit\(s\): 0\n/);
      assert.equal(sweepStatus(s.folder).counts.done, 5);
      assert.match(fs.readFileSync(log, 'utf8'), /resuming from the checkpoint at epoch \d+/);
      // An uninterrupted run of the same unit (local executor, fresh folder) gives the same numbers.
      const ref = await planSweep(cancelPlan, path.join(dir, 'cancel-ref'));
      await submitSweep(ref, { executor: 'local' }, [0]).local!.done;
      assert.deepEqual(metricsOf(s.folder)[unit0.id], metricsOf(ref)[unit0.id]);
    },
  );

  it('a unit that fails is reported failed with its log; the other units complete', async () => {
    // The units of c1 fail only when they run: their folders hold a damaged run manifest.
    const folder = await planSweep(
      plan({ name: 'musk1-fail', folds: 2, epochs: 1, models: [{ model: 'mean-mil' }, { model: 'max-mil' }] }),
      path.join(dir, 'fail'),
    );
    damageRunFolders(folder, 'c1');
    const s = new SweepHandle(folder, submitSweep(folder, { executor: 'slurm' }));
    const table = await s.wait(WAIT);
    const st = s.status();
    assert.deepEqual([st.counts.done, st.counts.failed], [2, 2]);
    for (const u of st.units.filter((x) => x.state === 'failed')) {
      assert.match(u.detail!, /cannot read the run manifest/);
      const slurmLog = u.logs.find((l) => l.includes(`${path.sep}logs${path.sep}`))!;
      assert.match(fs.readFileSync(slurmLog, 'utf8'), /failed: .*cannot read the run manifest/);
    }
    assert.equal(table.complete, false);
    assert.deepEqual(
      table.missing.map((m) => m.state),
      ['failed', 'failed'],
    );
    const r = cli('status', s.dir);
    assert.equal(r.status, 1);
    assert.match(r.stdout, /failed {3}c1-s1-r0-f0 .*cannot read the run manifest[\s\S]*log: /);
    assert.match(r.stderr, /sacct has no data/);
  });

  it('a second sweep into the same folder refuses; an invalid plan fails before anything is submitted', () => {
    const file = path.join(dir, 'plan.json');
    fs.writeFileSync(file, JSON.stringify(plan()));
    const again = cli(file, '--out', path.join(dir, 'slurm-a'), '--executor', 'slurm');
    assert.equal(again.status, 1);
    assert.match(again.stderr, /already holds this sweep/);
    assert.equal(
      fs
        .readFileSync(path.join(dir, 'slurm-a', 'submissions.jsonl'), 'utf8')
        .trim()
        .split('\n').length,
      1,
    );

    const jobsBefore = execFileSync('squeue', ['-h', '-o', '%i'], { encoding: 'utf8', timeout: 60_000 });
    const bad = path.join(dir, 'bad.json');
    fs.writeFileSync(bad, JSON.stringify(plan({ models: [{ model: 'abmill' }], grid: { lr: [1e-3, -1] } })));
    const r = cli(bad, '--out', path.join(dir, 'bad'), '--executor', 'slurm');
    assert.equal(r.status, 1);
    assert.match(r.stderr, /models\[0\]\.model: unknown model "abmill" \(did you mean "abmil"\?\)/);
    assert.match(r.stderr, /grid\.lr\[1\]: must be > 0, got -1/);
    assert.equal(fs.existsSync(path.join(dir, 'bad', 'sweep.json')), false);
    assert.equal(execFileSync('squeue', ['-h', '-o', '%i'], { encoding: 'utf8', timeout: 60_000 }), jobsBefore);
  });
});
