/**
 * The MHIM experiments' wiring (experiments/mhim.ts): the ablation switches do what the table
 * rows claim, the plans name the runs each table needs, and teacher initialisation loads the
 * baseline trained on the SAME fold (mapped through the fold seed). Small synthetic cohort, real tfjs.
 */
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import {
  Cohort,
  type FoldSetup,
  type MhimModel,
  createModel,
  foldSeed,
  loadTrainedModel,
  stratifiedKFold,
  trainStep,
  writeCohort,
} from 'milkit';
import {
  ABLATION,
  BASE_MODEL,
  EXPERIMENTS,
  SWEEP_HIGH_RATIOS,
  finishedFolds,
  modelFor,
  planOf,
  runSetting,
  tableRows,
} from '../../experiments/mhim';
import type { ReproDataset } from '../../experiments/common/mhimData';
import { tempDir } from '../helpers/tmp';
import { syntheticBags } from '../mhim/fixtures';

const small = { name: 'abmil', config: { attention: 'relu', embedDim: 8 } };
const init = { inputDim: 16, numClasses: 2, seed: 3 };

describe('experiments/mhim: ablation switches', () => {
  it(
    'consistencyWeight 0 trains on the classification loss ' + 'alone; grn null gives no GRN and no recycled tokens',
    async () => {
      const { bag, label } = syntheticBags(1, 40)[0];
      const target = { kind: 'class' as const, label, numClasses: 2 };
      const mhim = (overrides: Record<string, unknown>) =>
        createModel('mhim', {
          ...init,
          base: small.name,
          baseConfig: small.config,
          mhim: { version: 'v2', ...overrides },
        });
      const noCl = mhim({ consistencyWeight: 0, grn: null });
      const full = mhim({});
      try {
        assert.equal(noCl.grn, undefined);
        assert.ok(full.grn, 'the v2 preset has a GRN');
        const opt = tf.train.adam(1e-3);
        const a = await trainStep(noCl, bag, target, opt);
        assert.equal(a.loss, a.terms.cls, 'total = classification loss when α = 0');
        assert.equal(a.terms.consistency, 0, 'the consistency term is weighted by α = 0');
        // Without a GRN the student sees every kept instance (βh = 0.03 of n masked, nothing recycled).
        const n = bag.numInstances;
        assert.equal(a.seqLen, n - Math.ceil(n * 0.03));
        const b = await trainStep(full, bag, target, tf.train.adam(1e-3));
        assert.ok(Math.abs(b.loss - (b.terms.cls + b.terms.consistency)) < 1e-4, 'full: cls + 0.5·consistency');
        assert.equal(
          b.seqLen,
          Math.floor((n - Math.ceil(n * 0.03)) * 0.8) + 5,
          'full: 80 % of the kept instances + K = 5 tokens',
        );
      } finally {
        noCl.dispose();
        full.dispose();
      }
    },
  );

  it('Table-7 rows: baseline, then RHSM (r = 0.5) with GRN / CL toggled, all with the baseline teacher', () => {
    assert.deepEqual(
      ABLATION.map((s) => s.label),
      ['AB-MIL', '+RHSM', '+RHSM+GRN', '+RHSM+CL', '+RHSM+GRN+CL (full MHIM-v2)'],
    );
    assert.equal(ABLATION[0].preset, undefined);
    const built = ABLATION.slice(1).map((s) =>
      createModel('mhim', {
        ...init,
        inputDim: 30,
        base: BASE_MODEL.name,
        baseConfig: BASE_MODEL.config,
        mhim: { ...s.mhim, version: s.preset! },
      }),
    );
    try {
      assert.deepEqual(
        built.map((m) => m.mhim.mask.highRandomRatio),
        [0.5, 0.5, 0.5, 0.5],
      );
      assert.deepEqual(
        built.map((m) => m.grn !== undefined),
        [false, true, false, true],
      );
      assert.deepEqual(
        built.map((m) => m.mhim.consistencyWeight),
        [0, 0, 0.5, 0.5],
      );
      assert.ok(ABLATION.slice(1).every((s) => s.teacherInit));
    } finally {
      built.forEach((m) => m.dispose());
    }
  });

  it('plans: every table row is a distinct label; the sweep starts at the baseline and covers the βh grid', () => {
    for (const e of EXPERIMENTS) {
      const labels = planOf(e, ['colon', 'mnist50', 'mnist100'], 'colon').map((p) => p.label);
      assert.equal(new Set(labels).size, labels.length, e);
    }
    assert.equal(planOf('compare', ['colon', 'mnist50', 'mnist100'], 'colon').length, 12);
    const sweep = planOf('sweep', ['colon'], 'colon');
    assert.equal(sweep[0].setting.key, 'baseline');
    assert.deepEqual(
      sweep.slice(1).map((p) => p.setting.mhim?.mask?.highRatio ?? 0.03),
      SWEEP_HIGH_RATIOS,
    );
  });
});

describe('experiments/mhim: tables from partial runs', () => {
  it('every row of a data set uses the folds all its measured rows finished; a row with none stays empty', () => {
    const m = (auc: number) => ({ auc, accuracy: auc - 0.1, f1: auc - 0.2 });
    const { rows, common } = tableRows([
      {
        ds: 'a',
        label: 'base',
        folds: new Map([
          ['rep0-fold0', m(0.9)],
          ['rep1-fold0', m(0.8)],
          ['rep2-fold0', m(0.7)],
        ]),
      },
      {
        ds: 'a',
        label: 'mhim',
        folds: new Map([
          ['rep1-fold0', m(0.6)],
          ['rep0-fold0', m(0.5)],
        ]),
      },
      { ds: 'b', label: 'base', folds: new Map([['rep0-fold0', m(0.9)]]) },
      { ds: 'b', label: 'mhim', folds: new Map() },
    ]);
    assert.deepEqual(common.get('a'), ['rep0-fold0', 'rep1-fold0']);
    assert.deepEqual(rows[0].cells[0], [0.9, 0.8]);
    assert.deepEqual(rows[1].cells[0], [0.5, 0.6]);
    assert.ok(Math.abs((rows[1].cells[2] as number[])[0] - 0.3) < 1e-12);
    assert.deepEqual(common.get('b'), ['rep0-fold0'], 'the empty row does not empty the data set');
    assert.deepEqual(rows[2].cells[0], [0.9]);
    assert.deepEqual(rows[3].cells, [null, null, null]);
  });

  it('finishedFolds reads only folds with a result.json', () => {
    const dir = tempDir();
    fs.mkdirSync(path.join(dir, 'rep0-fold0'));
    fs.mkdirSync(path.join(dir, 'rep0-fold1')); // running: checkpoint only
    fs.writeFileSync(
      path.join(dir, 'rep0-fold0', 'result.json'),
      JSON.stringify({ repeat: 0, fold: 0, metrics: { auc: null, accuracy: 1 } }),
    );
    const f = finishedFolds(dir);
    assert.deepEqual([...f.keys()], ['rep0-fold0']);
    assert.ok(Number.isNaN(f.get('rep0-fold0')!.auc), 'null (a one-class fold) reads back as NaN');
    assert.equal(finishedFolds(path.join(dir, 'absent')).size, 0);
  });
});

describe('experiments/mhim: teacher initialisation from the same fold', () => {
  it(
    "fold f's teacher equals the baseline trained on fold " + 'f (not another fold), the student keeps its random init',
    async function () {
      this.timeout(60_000);
      const dir = tempDir();
      const file = path.join(dir, 'synthetic.arrow');
      await writeCohort(
        file,
        syntheticBags(12, 8).map(({ bag, label }) => ({ id: bag.id, features: bag.features, label })),
        { dim: 16 },
      );
      const cohort = await Cohort.open(file);
      try {
        const train = { epochs: 1, lr: 1e-2, selectOn: 'last' as const, seed: 5 };
        const ds: ReproDataset = {
          name: 'synthetic',
          cohortPath: file,
          splits: [stratifiedKFold(cohort.bags, { k: 2, seed: 1 })],
          description: 'synthetic',
          train,
        };
        const ctx = { out: path.join(dir, 'runs') };
        const setting = {
          key: 'ti',
          label: 'teacher init',
          preset: 'v2' as const,
          teacherInit: true,
          mhim: { grn: null },
        };
        const run = await runSetting(setting, ds, cohort, ctx); // trains the baseline first, then MHIM
        assert.equal(run.folds.length, 2);
        for (const f of [0, 1])
          assert.ok(fs.existsSync(path.join(ctx.out, 'synthetic', 'baseline', `rep0-fold${f}`, 'model.ckpt')));

        // The setting's model is MHIM's own teacher init (no hand-made loader): a fold's teacher
        // is set when the trainer prepares that fold.
        const choice = modelFor(setting, ds, ctx) as { name: string; config: Record<string, unknown> };
        assert.deepEqual(choice.config.init, { teacher: path.join(ctx.out, 'synthetic', 'baseline') });
        const baselineFile = (f: number) => path.join(ctx.out, 'synthetic', 'baseline', `rep0-fold${f}`, 'model.ckpt');
        const values = (vs: tf.Variable[]) => vs.map((v) => Array.from(v.dataSync()));
        const baselines = [0, 1].map((f) => loadTrainedModel(baselineFile(f)));
        try {
          for (const f of [0, 1]) {
            const m = createModel('mhim', {
              ...choice.config,
              inputDim: 16,
              numClasses: 2,
              seed: foldSeed(train.seed, 0, f),
            }) as MhimModel;
            const parts = baselines[f].fingerprint!.parts as { data: unknown; split: FoldSetup['split'] };
            m.prepareFold({
              repeat: 0,
              fold: f,
              split: parts.split,
              data: parts.data,
              standardize: false,
              loadTrainedModel,
            });
            assert.deepEqual(
              values(m.teacherVariables()),
              values(baselines[f].model.variables()),
              `fold ${f}: teacher = that fold's baseline`,
            );
            assert.notDeepEqual(values(m.teacherVariables()), values(baselines[1 - f].model.variables()));
            assert.notDeepEqual(
              values(m.student.variables()),
              values(baselines[f].model.variables()),
              'student starts from its own random init',
            );
            m.dispose();
          }
        } finally {
          baselines.forEach((b) => b.model.dispose());
        }
      } finally {
        await cohort.close();
      }
    },
  );
});
