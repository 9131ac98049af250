import { strict as assert } from 'node:assert';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { Cohort, writeCohort } from '../../src/data';
import { stratifiedKFold } from '../../src/data/splits';
import { Trainer } from '../../src/train/trainer';
import { mhimModel } from '../../src/mhim/choice';
import { tempDir } from '../helpers/tmp';
import { syntheticBags } from './fixtures';

describe('mhim: through the trainer (the `--mhim v2` path)', () => {
  it('cross-validates MHIM-v2(AB-MIL) with its own trainStep and writes results', async function () {
    this.timeout(60_000);
    const dir = tempDir();
    const file = path.join(dir, 'synthetic.arrow');
    const bags = syntheticBags(20, 20);
    await writeCohort(file, bags.map(({ bag, label }) => ({ id: bag.id, features: bag.features, label })), { dim: 16 });
    const cohort = await Cohort.open(file);
    try {
      const splits = [stratifiedKFold(cohort.bags, { k: 2, seed: 1 })];
      const trainer = new Trainer({
        model: mhimModel({ name: 'abmil', config: { embedDim: 8, attention: 'relu' } }, 'v2', { grn: { numQueries: 2 } }),
        config: { epochs: 4, lr: 5e-3, selectOn: 'last' },
      });
      let steps = 0;
      trainer.events.on((e) => {
        if (e.type === 'step') steps++;
      });
      const before = tf.memory().numTensors;
      const run = await trainer.crossValidate(cohort, splits, { outDir: path.join(dir, 'run') });
      assert.equal(run.model.name, 'mhim-v2(abmil)');
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
