/**
 * Learning on real data for the bag-level catalogue models (issue 9). Small documented setting so the
 * data suite stays short: MUSK1, one stratified split into 2/3 training (61 bags) and 1/3 test
 * (31 bags) (seed 0), the catalogue's setting (registered defaults, embedDim 64, dropout 0,
 * src/train/catalogue.ts), 15 epochs, lr 5e-4 (cosine), per-fold standardisation, last-epoch
 * weights, seed 2021. Bar: test AUC > 0.75 (chance 0.5). IBMIL runs its two stages inside the run
 * (dictionary built after half of the steps). The full 5 × 10-fold numbers: scripts/reproduce-catalogue.sh.
 */
import { strict as assert } from 'node:assert';
import * as path from 'node:path';
import { Cohort } from '../../../src/data';
import { musk1 } from '../../../src/data/datasets/musk1';
import { stratifiedKFold, type Split } from '../../../src/data/splits';
import { listModels } from '../../../src/models';
import { catalogueModelConfig } from '../../../src/train/catalogue';
import { Trainer } from '../../../src/train';
import { tempDir } from '../../helpers/tmp';
import { sharedData } from '../shared-data';

const MODELS = ['dp-minn', 'gnn-mil', 'loss-attention', 'sa-abmilp', 'dtfd-mil', 'ibmil', 'das-mil', 'extreme-mil', 'r2t-mil'];

describe('data-suite/models: the bag-level catalogue models learn MUSK1 (one 2/3 : 1/3 split)', function () {
  this.timeout(1_800_000);
  const dir = tempDir();
  let cohort: Cohort;
  let split: Split;

  before(async () => {
    const built = await musk1.build({ out: path.join(dir, 'musk1.arrow'), source: sharedData('musk1') });
    cohort = await Cohort.open(built.cohort.instancePath);
    split = stratifiedKFold(cohort.bags, { k: 3, seed: 0 })[0];
  });
  after(async () => cohort?.close());

  for (const name of MODELS) {
    it(`${name}: test AUC > 0.75`, async () => {
      const info = listModels().find((m) => m.name === name)!;
      const trainer = new Trainer({ model: { name, config: catalogueModelConfig(info) }, config: { epochs: 15, lr: 5e-4, standardize: true, selectOn: 'last', seed: 2021 } });
      const t0 = Date.now();
      const run = await trainer.fit(cohort, split);
      const { accuracy, auc } = run.folds[0].metrics;
      console.log(`      MUSK1 ${split.train.length}/${split.test.length} bags, ${name}: accuracy ${accuracy.toFixed(3)}, AUC ${auc.toFixed(3)} (${((Date.now() - t0) / 1000).toFixed(1)} s)`);
      assert.ok(auc > 0.75, `${name}: AUC ${auc}`);
    });
  }
});
