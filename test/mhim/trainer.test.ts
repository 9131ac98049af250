import { strict as assert } from 'node:assert';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { Cohort, writeCohort } from '../../src/data';
import { stratifiedKFold } from '../../src/data/splits';
import { Trainer } from '../../src/train/trainer';
import { MhimModel } from '../../src/mhim/mhim';
import { createModel } from '../../src/registry';
import { loadModel, saveModel } from '../../src/persist';
import { tempDir } from '../helpers/tmp';
import { syntheticBags } from './fixtures';
import { trainStep } from '../../src/train/step';

describe('mhim: through the trainer (the `--mhim v2` path)', () => {
  it('cross-validates MHIM-v2(AB-MIL) with its own trainStep and writes results', async function () {
    this.timeout(60_000);
    const dir = tempDir();
    const file = path.join(dir, 'synthetic.arrow');
    const bags = syntheticBags(20, 20);
    await writeCohort(
      file,
      bags.map(({ bag, label }) => ({ id: bag.id, features: bag.features, label })),
      { dim: 16 },
    );
    const cohort = await Cohort.open(file);
    try {
      const splits = [stratifiedKFold(cohort.bags, { k: 2, seed: 1 })];
      const trainer = new Trainer({
        model: {
          name: 'mhim',
          config: { base: 'abmil', baseConfig: { embedDim: 8 }, mhim: { version: 'v2', grn: { numQueries: 2 } } },
        },
        config: { epochs: 4, lr: 5e-3, selectOn: 'last' },
      });
      let steps = 0;
      trainer.events.on((e) => {
        if (e.type === 'step') steps++;
      });
      const before = tf.memory().numTensors;
      const run = await trainer.crossValidate(cohort, splits, { outDir: path.join(dir, 'run') });
      assert.equal(run.model.name, 'mhim');
      assert.equal(run.model.config.base, 'abmil');
      assert.deepEqual(run.model.config.baseConfig, { attention: 'relu', embedDim: 8 });
      assert.equal((run.model.config.mhim as { version: string }).version, 'v2');
      assert.equal(run.folds.length, 2);
      assert.equal(steps, 4 * 20);
      assert.ok(run.folds.every((f) => Number.isFinite(f.history.at(-1)!.trainLoss)));
      assert.ok(run.summary.auc.mean > 0.5, `AUC ${run.summary.auc.mean}`);
      assert.equal(tf.memory().numTensors, before, 'no tensors left behind by two folds');
    } finally {
      await cohort.close();
    }
  });
});

describe('mhim: registry and saved models', () => {
  it("createModel('mhim', ...) builds MHIM; saveModel/loadModel round-trips student, GRN and teacher", async () => {
    const dir = tempDir();
    const config = {
      inputDim: 16,
      numClasses: 2,
      seed: 4,
      base: 'abmil',
      baseConfig: { embedDim: 8, attention: 'relu' },
      mhim: { version: 'v2' as const, grn: { numQueries: 2 } },
    };
    const m = createModel('mhim', config) as MhimModel;
    assert.ok(m instanceof MhimModel);
    assert.equal(m.label, 'mhim-v2(abmil)');
    const opt = tf.train.adam(1e-2);
    const [{ bag, label }] = syntheticBags(1, 30);
    await trainStep(m, bag, { kind: 'class', label, numClasses: 2 }, opt); // teacher ≠ student after a step
    await saveModel(m, path.join(dir, 'mhim'));
    const back = (await loadModel(path.join(dir, 'mhim'))) as MhimModel;
    assert.equal(back.name, 'mhim');
    assert.deepEqual(back.config.mhim, m.config.mhim);
    const names = [...m.namedVariables().keys()];
    assert.ok(names.some((n) => n.startsWith('teacher/')) && names.some((n) => n.startsWith('grn/')));
    m.variables().forEach((v, i) =>
      assert.deepEqual(Array.from(back.variables()[i].dataSync()), Array.from(v.dataSync())),
    );
    const x = tf.tensor2d(bag.features, [bag.numInstances, 16]);
    const [a, b] = [m, back].map((model) =>
      tf.tidy(() => Array.from(model.forward(x, { training: false }).logits.dataSync())),
    );
    assert.deepEqual(a, b);
    tf.dispose([x]);
    m.dispose();
    back.dispose();
    opt.dispose();
    assert.throws(() => createModel('mhim', { ...config, base: 'abmill' }), /unknown model "abmill"/);
  });
});

describe('mhim: teacher init from a saved baseline', () => {
  it('initTeacherFrom copies a saved AB-MIL into the teacher only, and rejects another architecture', async () => {
    const dir = tempDir();
    const baseline = createModel('abmil', { inputDim: 16, numClasses: 2, embedDim: 8, attention: 'relu', seed: 99 });
    await saveModel(baseline, path.join(dir, 'baseline'));
    const m = createModel('mhim', {
      inputDim: 16,
      numClasses: 2,
      seed: 1,
      base: 'abmil',
      baseConfig: { embedDim: 8, attention: 'relu' },
      mhim: { version: 'v2' },
    }) as MhimModel;
    const student0 = m.student.variables().map((v) => Array.from(v.dataSync()));
    const loaded = await loadModel(path.join(dir, 'baseline'));
    m.initTeacherFrom(loaded);
    loaded.dispose();
    m.teacherVariables().forEach((t, i) =>
      assert.deepEqual(Array.from(t.dataSync()), Array.from(baseline.variables()[i].dataSync())),
    );
    m.student.variables().forEach((v, i) => assert.deepEqual(Array.from(v.dataSync()), student0[i]));
    const other = createModel('transmil', {
      inputDim: 16,
      numClasses: 2,
      embedDim: 16,
      heads: 2,
      headDim: 8,
      landmarks: 8,
    });
    await saveModel(other, path.join(dir, 'other'));
    const otherLoaded = await loadModel(path.join(dir, 'other'));
    assert.throws(() => m.initTeacherFrom(otherLoaded), /baseline is a "transmil" model, MHIM wraps "abmil"/);
    otherLoaded.dispose();
    [baseline, other, m].forEach((x) => x.dispose());
  });
});
