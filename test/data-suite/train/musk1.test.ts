/**
 * AB-MIL on real MUSK1 with the standard split file: the FIRST repetition of the 5 × 10-fold
 * protocol (10 folds), a small documented setting so the data suite stays short:
 * abmil with a 64-wide projection, no dropout, 20 epochs, lr 5e-4 (cosine), weight decay 1e-5,
 * per-fold standardisation with training statistics, the weights after the last epoch.
 * The full protocol (all 5 repetitions) is `npm run reproduce:musk1`.
 */
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Cohort } from '../../../src/data';
import { musk1 } from '../../../src/data/datasets/musk1';
import { parseSplitFile } from '../../../src/data/splits';
import { Trainer } from '../../../src/train';
import { tempDir } from '../../helpers/tmp';
import { sharedData } from '../shared-data';

describe('data-suite/train: AB-MIL on MUSK1 (first repetition of the standard 10-fold split)', function () {
  this.timeout(1_200_000);
  const dir = tempDir();

  it('beats chance clearly: mean test accuracy > 0.75 and AUC > 0.85 over the 10 folds', async () => {
    const built = await musk1.build({ out: path.join(dir, 'musk1.arrow'), source: sharedData('musk1') });
    const cohort = await Cohort.open(built.cohort.instancePath);
    try {
      const splits = parseSplitFile(
        JSON.parse(fs.readFileSync(built.splitsPath!, 'utf8')),
        cohort.bags,
        built.splitsPath,
      );
      assert.equal(splits.length, 5);
      const trainer = new Trainer({
        model: { name: 'abmil', config: { embedDim: 64, dropout: 0 } },
        config: { epochs: 20, lr: 5e-4, standardize: true, selectOn: 'last', seed: 2021 },
      });
      const run = await trainer.crossValidate(cohort, splits.slice(0, 1), { outDir: path.join(dir, 'run') });
      assert.equal(run.folds.length, 10);
      const { accuracy, auc } = run.summary;
      console.log(
        `      MUSK1 rep 1, AB-MIL: accuracy ${accuracy.mean.toFixed(3)} ± ${accuracy.sd.toFixed(3)}, ` +
          `AUC ${auc.mean.toFixed(3)} ± ${auc.sd.toFixed(3)} (published 5×10-fold accuracy 0.892)`,
      );
      assert.ok(accuracy.mean > 0.75, `accuracy ${accuracy.mean}`);
      assert.ok(auc.mean > 0.85, `AUC ${auc.mean}`);
    } finally {
      await cohort.close();
    }
  });
});
