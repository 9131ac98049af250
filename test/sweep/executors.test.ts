/**
 * Sweep executors without a cluster: the local worker pool end to end on a small real cohort
 * (a failing unit, status, partial collect, resubmit), the Slurm job script and the missing-sbatch
 * message, and the Kubernetes Indexed Job checked against the Kubernetes batch/v1 Job schema
 * (kubernetes-models: validators generated from the Kubernetes OpenAPI spec).
 */
import { strict as assert } from 'node:assert';
import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parse as parseYaml } from 'yaml';
import {
  SweepFolder,
  SweepPlanError,
  SlurmUnavailableError,
  type TrainManifest,
  arrayRanges,
  checkSlurm,
  collectSweep,
  k8sJob,
  planSweep,
  runUnit,
  slurmScript,
  submitSweep,
  sweepStatus,
  unitsToResubmit,
} from '../../src/sweep';
import { tempDir } from '../helpers/tmp';
import { damageRunFolders } from '../helpers/sweep';
import { writeToyCohort } from '../train/fixtures';

const BIN = path.resolve(__dirname, '..', '..', 'bin', 'milkit.js');

describe('sweep executors (local pool, Slurm script, Kubernetes manifest)', function () {
  this.timeout(600_000);
  const dir = tempDir();
  let cohort: string;
  let folder: SweepFolder;
  // kubernetes-models is ESM-only: loaded with a dynamic import.
  let Job: typeof import('kubernetes-models/batch/v1/Job', { with: { 'resolution-mode': 'import' } }).Job;
  before(async () => {
    ({ Job } = await import('kubernetes-models/batch/v1/Job'));
    cohort = await writeToyCohort(dir, { bags: 24, dim: 6 });
    // Two configs × 3 folds. The units of c1 fail when they run, as a unit does whose folder was
    // damaged after planning: each holds an unreadable run manifest, which the trainer refuses to
    // resume from (it never trains over files it cannot check).
    folder = await planSweep(
      { cohort, folds: 3, seeds: [3], epochs: 2, models: [{ model: 'mean-mil' }, { model: 'max-mil' }] },
      path.join(dir, 'local'),
    );
    damageRunFolders(folder, 'c1');
  });

  it('a configuration that cannot run is refused when the sweep is planned: MHIM-v1 around mean-MIL', async () => {
    const out = path.join(dir, 'refused');
    await assert.rejects(
      planSweep({ cohort, folds: 3, models: [{ model: 'mean-mil' }, { model: 'mean-mil', mhim: 'v1' }] }, out),
      (e: Error) =>
        e instanceof SweepPlanError &&
        /models\[1\]: MHIM-v1\(mean-mil\): .*pools without instance attention\. Fix: wrap an attention model/.test(
          e.message,
        ),
    );
    assert.equal(fs.existsSync(path.join(out, 'sweep.json')), false);
  });

  it(
    'local pool: good units finish, the bad config fails ' + 'with its message and log; collect says what is missing',
    async () => {
      const sub = submitSweep(folder, { executor: 'local', workers: 2 });
      assert.deepEqual(sub.units, [0, 1, 2, 3, 4, 5]);
      // While the pool runs, the folder is locked against a second driver.
      assert.throws(
        () => submitSweep(folder, { executor: 'local' }),
        /\.lock: the folder is in use by pid \d+ on this host since \S+ \(a local sweep driver\)/,
      );
      await sub.local!.done;
      const s = sweepStatus(folder);
      assert.deepEqual(s.counts, { done: 3, running: 0, pending: 0, failed: 3, missing: 0 });
      const failed = s.units.filter((u) => u.state === 'failed');
      assert.deepEqual(
        failed.map((u) => u.config),
        ['c1', 'c1', 'c1'],
      );
      for (const u of failed) {
        assert.match(u.detail!, /cannot read the run manifest/);
        const log = fs.readFileSync(u.logs[0], 'utf8');
        assert.match(log, /unit c1-s3-r0-f\d failed: .*cannot read the run manifest/);
      }
      const table = collectSweep(folder);
      assert.equal(table.complete, false);
      assert.deepEqual(
        table.missing.map((m) => `${m.id} ${m.state}`),
        ['c1-s3-r0-f0 failed', 'c1-s3-r0-f1 failed', 'c1-s3-r0-f2 failed'],
      );
      const row = table.rows[0];
      assert.equal(row.done, 3);
      assert.equal(row.metrics.auc.n, 3);
      assert.ok(row.metrics.auc.lower <= row.metrics.auc.mean && row.metrics.auc.mean <= row.metrics.auc.upper);
      assert.equal(table.rows[1].done, 0);
      // resubmit takes only the failed units; finished ones are never run again.
      assert.deepEqual(unitsToResubmit(folder), [3, 4, 5]);
      const done = fs.statSync(folder.resultPath(folder.manifest().units[0])).mtimeMs;
      const again = execFileSync(process.execPath, [BIN, 'sweep', 'run', folder.dir, '--unit', '0'], {
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      assert.equal(again, '');
      assert.equal(fs.statSync(folder.resultPath(folder.manifest().units[0])).mtimeMs, done);
    },
  );

  it("a unit's lock (the folder lock of persist): another host's is honoured, a dead pid's taken over", async () => {
    const locked = await planSweep(
      { cohort, folds: 3, seeds: [1], epochs: 1, models: [{ model: 'mean-mil' }] },
      path.join(dir, 'locks'),
    );
    const unit = locked.manifest().units[0];
    const lock = path.join(locked.unitDir(unit), '.lock');
    const holder = (host: string, pid: number) =>
      JSON.stringify({ host, pid, at: new Date().toISOString(), what: `unit ${unit.id}` });
    fs.mkdirSync(path.dirname(lock), { recursive: true });
    fs.writeFileSync(lock, holder('node-17', 4242));
    const lines: string[] = [];
    assert.equal(await runUnit(locked, 0, { log: (l) => lines.push(l) }), 'busy');
    assert.match(lines.join('\n'), /unit c0-s1-r0-f0 is running elsewhere \(pid 4242 on node-17\); leaving it alone/);
    const [first] = sweepStatus(locked).units;
    assert.deepEqual([first.state, first.detail], ['running', 'pid 4242 on node-17']);
    // A unit killed with its lock held (kill -9, node failure on this host): the next run takes over.
    const dead = spawnSync(process.execPath, ['-e', '']).pid;
    fs.writeFileSync(lock, holder(os.hostname(), dead));
    assert.equal(await runUnit(locked, 0, { log: () => undefined }), 'done');
    assert.ok(fs.existsSync(locked.resultPath(unit)) && !fs.existsSync(lock));
  });

  it('status and collect from the CLI: failed units listed with their log; --json tables', () => {
    const st = spawnSync(process.execPath, [BIN, 'sweep', 'status', folder.dir], { encoding: 'utf8' });
    assert.equal(st.status, 1, 'status exits 1 when a unit failed');
    assert.match(st.stdout, /done 3\/6, failed 3/);
    assert.match(st.stdout, /failed {3}c1-s3-r0-f0 .*cannot read the run manifest[\s\S]*log: .*unit\.log/);
    const col = spawnSync(process.execPath, [BIN, 'sweep', 'collect', folder.dir, '--json'], { encoding: 'utf8' });
    assert.equal(col.status, 0, col.stderr);
    assert.equal(JSON.parse(col.stdout).rows.length, 2);
    assert.match(col.stderr, /partial: 3 of 6 units have no result/);
    for (const f of ['summary.json', 'summary.csv', 'summary.md', 'report.html'])
      assert.ok(fs.existsSync(path.join(folder.dir, 'results', f)), f);
  });

  it('collect writes the sweep report: the table with its intervals, then the run report sections per config', () => {
    const table = collectSweep(folder);
    const html = fs.readFileSync(path.join(folder.dir, 'results', 'report.html'), 'utf8');
    assert.deepEqual(
      [...html.matchAll(/<h2>([^<]*)<\/h2>/g)].map((m) => m[1]),
      ['Summary', 'Per configuration'],
    );
    // The summary row of c0 shows the table's numbers: mean ± sd [lower, upper] of the AUC.
    const auc = table.rows[0].metrics.auc;
    const cell =
      `${auc.mean.toFixed(3)} ± ${auc.sd.toFixed(3)}<br><span ` +
      `class="note">[${auc.lower.toFixed(3)}, ${auc.upper.toFixed(3)}]`;
    assert.ok(html.includes(cell), `AUC cell ${cell}`);
    assert.match(html, /<th>c0: mean-mil<\/th><td>3\/3<\/td>/);
    assert.match(html, /<th>c1: max-mil<\/th><td>0\/3<\/td>/);
    assert.match(html, /Partial sweep<\/b>: 3 unit\(s\) without a result: c1-s3-r0-f0 \(failed\)/);
    assert.ok(html.includes('AUC per configuration'), 'the comparison chart');
    // c0 is drawn from its three units as the folds of one run (the run report's sections); c1 has none.
    const [c0, c1] = html.split('<details>').slice(1);
    for (const h of ['Training curves per unit', 'ROC and precision–recall', 'Confusion matrix'])
      assert.ok(c0.includes(`<h3>${h}`), h);
    assert.ok(c0.includes('3 unit(s) over 1 seed(s)'));
    assert.ok((c0.match(/<svg/g) ?? []).length >= 4, 'curves, ROC, PR and a confusion matrix');
    // The pooled confusion matrix counts every unit's test bags once.
    const tests = (folder.manifest() as TrainManifest).units
      .filter((u) => u.config === 'c0')
      .reduce((a, u) => a + JSON.parse(fs.readFileSync(folder.resultPath(u), 'utf8')).sizes.test, 0);
    const counts = [
      ...c0
        .split('at argmax')[1]
        .split('</svg>')[0]
        .matchAll(/font-size="14" font-weight="bold">(\d+)</g),
    ];
    assert.equal(
      counts.reduce((a, m) => a + Number(m[1]), 0),
      tests,
    );
    assert.ok(c1.includes('No finished unit yet'));
    assert.ok(!/(?:href|src)="(?!data:)/.test(html), 'no external resources');
  });

  it('slurm: one array over the unit indices, the options as #SBATCH lines, the sweep run command', () => {
    assert.equal(arrayRanges([0, 1, 2, 3, 7, 9, 10]), '0-3,7,9-10');
    const script = slurmScript(folder, 'toy', [0, 1, 2, 5], {
      partition: 'gpu',
      time: '01:00:00',
      mem: '8G',
      cpus: 4,
      gpus: 1,
      account: 'lab',
      max: 2,
      extra: ['--qos=short'],
    });
    for (const line of [
      '#SBATCH --array=0-2,5%2',
      '#SBATCH --partition=gpu',
      '#SBATCH --time=01:00:00',
      '#SBATCH --mem=8G',
      '#SBATCH --cpus-per-task=4',
      '#SBATCH --gres=gpu:1',
      '#SBATCH --account=lab',
      '#SBATCH --qos=short',
      `#SBATCH --output=${folder.dir}/logs/%A_%a.log`,
    ])
      assert.ok(script.split('\n').includes(line), `${line} in\n${script}`);
    assert.match(script, /sweep run \S+ --unit "\$SLURM_ARRAY_TASK_ID"$/m);
  });

  it('no sbatch on PATH: a clear error that suggests --executor local, before any folder is written', () => {
    const saved = process.env.PATH;
    process.env.PATH = '/nonexistent';
    try {
      assert.throws(
        () => checkSlurm(),
        (e: Error) => e instanceof SlurmUnavailableError && /not on PATH.*--executor local/.test(e.message),
      );
    } finally {
      process.env.PATH = saved;
    }
    const out = path.join(dir, 'no-slurm');
    const plan = path.join(dir, 'plan.json');
    fs.writeFileSync(plan, JSON.stringify({ cohort, folds: 3, models: [{ model: 'mean-mil' }] }));
    const r = spawnSync(process.execPath, [BIN, 'sweep', plan, '--out', out, '--executor', 'slurm'], {
      encoding: 'utf8',
      env: { ...process.env, PATH: '/nonexistent' },
    });
    assert.equal(r.status, 1);
    assert.match(r.stderr, /milkit sweep: squeue is not on PATH: .* --executor local/);
    assert.equal(fs.existsSync(path.join(out, 'sweep.json')), false);
  });

  it('k8s: the Indexed Job manifest passes the Kubernetes batch/v1 Job schema and runs sweep run per index', () => {
    const manifest = k8sJob(folder, folder.manifest(), {
      image: 'lab/milkit:0.1',
      mem: '4Gi',
      gpus: 1,
      parallelism: 2,
    });
    new Job(manifest).validate(); // throws with the failing field otherwise
    const spec = manifest.spec as Record<string, unknown> & {
      template: { spec: { containers: { command: string[] }[] } };
    };
    assert.equal(spec.completionMode, 'Indexed');
    assert.equal(spec.completions, 6);
    assert.equal(spec.parallelism, 2);
    assert.deepEqual(spec.template.spec.containers[0].command, [
      'sh',
      '-c',
      'exec milkit sweep run "$0" --unit "$JOB_COMPLETION_INDEX"',
      folder.dir,
    ]);
    // The same validator refuses a broken manifest (it is a real schema check, not a formality).
    assert.throws(
      () => new Job({ ...manifest, spec: { ...spec, completionMode: 'Indexd' } } as never).validate(),
      /completionMode must be equal to one of the allowed values/,
    );
    // The CLI writes it (a dry run: nothing is applied), as YAML that parses to the same manifest.
    const out = path.join(dir, 'k8s');
    const plan = path.join(dir, 'plan-k8s.json');
    fs.writeFileSync(plan, JSON.stringify({ cohort, folds: 3, models: [{ model: 'mean-mil' }] }));
    const r = spawnSync(process.execPath, [BIN, 'sweep', plan, '--out', out, '--executor', 'k8s', '--dry-run'], {
      encoding: 'utf8',
    });
    assert.equal(r.status, 0, r.stderr);
    const written = parseYaml(fs.readFileSync(path.join(out, 'k8s', 'job.yaml'), 'utf8'));
    new Job(written).validate();
    assert.equal(written.spec.completions, 3);
    assert.equal(fs.existsSync(path.join(out, 'units')), false, 'a dry run runs no unit');
  });
});
