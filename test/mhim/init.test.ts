/**
 * `milkit train --mhim` hyperparameter flags and the authors' initialisation protocol: each fold's
 * teacher (`--teacher-init`) or student projection (`--student-init`) starts from the baseline run's
 * model of that very fold, and a baseline of another split, cohort or architecture is refused.
 */
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { train } from '../../src/cli/commands/train';
import type { CliContext } from '../../src/cli/command';
import { Progress } from '../../src/cli/progress';
import { loadModel } from '../../src/persist/model';
import { MHIM_V2 } from '../../src/mhim';
import type { MhimModel } from '../../src/mhim/mhim';
import { tempDir } from '../helpers/tmp';
import { writeToyCohort } from '../train/fixtures';

const quiet = (out: unknown[] = []): CliContext => ({
  print: () => undefined,
  json: (v) => out.push(v),
  warn: () => undefined,
  progress: (l, t) => new Progress(l, t, { enabled: false }),
});

/** `milkit train` in process; returns its --json summary. */
async function milkitTrain(args: string[]): Promise<{ model: { config: Record<string, unknown> } }> {
  const out: unknown[] = [];
  const code = await train.run([...args, '--json', '--quiet'], quiet(out));
  assert.equal(code, 0);
  return out[0] as { model: { config: Record<string, unknown> } };
}

const values = (m: { namedVariables(): Map<string, { dataSync(): ArrayLike<number> }> }) =>
  new Map([...m.namedVariables()].map(([k, v]) => [k, Array.from(v.dataSync())]));

describe('mhim: CLI hyperparameters and baseline initialisation', function () {
  this.timeout(120_000);
  const dir = tempDir();
  let data: string;
  const base = ['--model', 'abmil', '--model-config', '{"embedDim":8,"attention":"relu"}', '--folds', '2'];
  const fast = ['--epochs', '1', '--select', 'last', '--seed', '5'];
  let baselineRun: string;

  before(async () => {
    data = await writeToyCohort(dir, { bags: 16, dim: 6 });
    baselineRun = path.join(dir, 'baseline');
    await milkitTrain([...base, ...fast, '--data', data, '--lr', '5e-3', '--out', baselineRun]);
  });

  it(
    'every MHIM hyperparameter flag reaches the model ' + 'config; flags left out keep the published defaults',
    async () => {
      const run = await milkitTrain([
        ...base,
        ...fast,
        '--data',
        data,
        '--out',
        path.join(dir, 'flags'),
        '--mhim',
        'v2',
        '--mhim-mask-high',
        '0.05',
        '--mhim-mask-high-random',
        '0.5',
        '--mhim-mask-low',
        '0.1',
        '--mhim-decay',
        '--mhim-alpha',
        '0.3',
        '--mhim-tau',
        '0.2',
        '--mhim-momentum',
        '0.999',
        '--mhim-momentum-schedule',
        '--mhim-grn-queries',
        '3',
        '--mhim-grn-keep',
        '0.9',
      ]);
      const m = run.model.config.mhim as typeof MHIM_V2;
      assert.deepEqual(m.mask, { highRatio: 0.05, highRandomRatio: 0.5, lowRatio: 0.1, randomRatio: 0 });
      assert.equal(m.decayHighRatio, true);
      assert.equal(m.consistencyWeight, 0.3);
      assert.equal(m.temperature, 0.2);
      assert.equal(m.teacherMomentum, 0.999);
      assert.equal(m.momentumSchedule, true);
      assert.deepEqual(m.grn, { ...MHIM_V2.grn, numQueries: 3, keepFraction: 0.9 });
      assert.equal(m.score, MHIM_V2.score, 'not given: the v2 default');
      assert.equal(m.studentTemperature, MHIM_V2.studentTemperature);
    },
  );

  it('refuses MHIM flags without --mhim and values out of range, naming the flag', async () => {
    const run = (extra: string[]) => train.run([...base, '--data', data, ...extra], quiet());
    await assert.rejects(run(['--mhim-alpha', '0.3']), /--mhim-alpha needs --mhim v1 or --mhim v2/);
    await assert.rejects(run(['--mhim', 'v2', '--mhim-mask-high', '1.5']), /--mhim-mask-high must be in \[0, 1\]/);
    await assert.rejects(
      run(['--mhim', 'v2', '--mhim-grn-queries', '2.5']),
      /--mhim-grn-queries must be a positive integer/,
    );
    await assert.rejects(run(['--mhim', 'v1', '--no-mhim-grn', '--mhim-grn-keep', '0.5']), /needs the GRN/);
  });

  it(
    '--teacher-init: each fold’s teacher is the baseline’s ' + 'model of that fold (momentum 1 keeps it there)',
    async () => {
      const out = path.join(dir, 'teacher');
      await milkitTrain([
        ...base,
        ...fast,
        '--data',
        data,
        '--out',
        out,
        '--mhim',
        'v2',
        '--mhim-momentum',
        '1',
        '--teacher-init',
        baselineRun,
      ]);
      for (const fold of ['rep0-fold0', 'rep0-fold1']) {
        const mhim = loadModel(path.join(out, fold, 'model.ckpt')) as MhimModel;
        const baseline = loadModel(path.join(baselineRun, fold, 'model.ckpt'));
        assert.deepEqual(values(mhim.teacher), values(baseline), `${fold}: teacher = the baseline of ${fold}`);
        assert.notDeepEqual(values(mhim.student), values(baseline), 'the student starts from its own random init');
        mhim.dispose();
        baseline.dispose();
      }
    },
  );

  it(
    '--student-init: the student’s projection starts from ' +
      'the baseline fold (lr 1e-30 keeps it), the rest does not',
    async () => {
      const out = path.join(dir, 'student');
      await milkitTrain([
        ...base,
        ...fast,
        '--data',
        data,
        '--out',
        out,
        // An update of ~1e-30 is below float32's resolution of these weights: they stay as initialised.
        '--lr',
        '1e-30',
        '--weight-decay',
        '0',
        '--mhim',
        'v2',
        '--student-init',
        baselineRun,
      ]);
      const mhim = loadModel(path.join(out, 'rep0-fold1', 'model.ckpt')) as MhimModel;
      const baseline = values(loadModel(path.join(baselineRun, 'rep0-fold1', 'model.ckpt')));
      const student = values(mhim.student);
      for (const [name, v] of student) {
        if (name.startsWith('projection/')) assert.deepEqual(v, baseline.get(name), name);
        else assert.notDeepEqual(v, baseline.get(name), `${name} keeps the student's own init`);
      }
      mhim.dispose();
    },
  );

  it('refuses a baseline of other splits or another architecture, naming what differs and the fix', async () => {
    const mhimRun = (extra: string[], out: string) =>
      train.run(
        [...base, ...fast, '--data', data, '--out', path.join(dir, out), '--mhim', 'v2', '--quiet', ...extra],
        quiet(),
      );
    // Another seed draws other folds: fold 1 of this run is not fold 1 of the baseline.
    await assert.rejects(
      mhimRun(['--teacher-init', baselineRun, '--seed', '6'], 'other-split'),
      /field "fingerprint.split": MHIM teacher init: the baseline's repetition 1, fold 1 has another split/,
    );
    const tanh = path.join(dir, 'baseline-tanh');
    await milkitTrain([
      '--model',
      'abmil',
      '--model-config',
      '{"embedDim":8}',
      '--folds',
      '2',
      ...fast,
      '--data',
      data,
      '--out',
      tanh,
    ]);
    await assert.rejects(
      mhimRun(['--teacher-init', tanh], 'other-model'),
      (err: Error) =>
        /attention: "tanh" vs "relu"/.test(err.message) && /--model-config '\{.*"attention":"relu"/.test(err.message),
    );
    await assert.rejects(
      mhimRun(['--teacher-init', path.join(dir, 'nowhere')], 'missing'),
      /no trained abmil model for repetition 1, fold 1/,
    );
    assert.ok(!fs.existsSync(path.join(dir, 'missing', 'results.json')));
  });
});
