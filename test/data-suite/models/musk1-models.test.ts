/**
 * Learning on real data for the models beyond AB-MIL (AB-MIL itself: data-suite/train/musk1.test.ts).
 * Small documented setting so the data suite stays short: MUSK1, the first 3 folds of the first
 * repetition of the standard 5 × 10-fold split, 64-wide projections, no dropout, 20 epochs,
 * lr 5e-4, per-fold standardisation, last-epoch weights. Bar: mean test AUC > 0.75 (chance 0.5).
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

const MODELS: [string, Record<string, unknown>][] = [
  ['gabmil', { embedDim: 64, dropout: 0, attentionDropout: 0 }],
  ['clam-sb', { embedDim: 64, dropout: 0, attentionDropout: 0, attentionDim: 32 }],
  ['MI-net', { dropout: 0 }],
];

describe('data-suite/models: gated AB-MIL, CLAM-SB and MI-Net learn MUSK1 (3 folds)', function () {
  this.timeout(1_800_000);
  const dir = tempDir();
  for (const [name, config] of MODELS) {
    it(`${name}: mean test AUC over 3 folds > 0.75`, async () => {
      const built = await musk1.build({ out: path.join(dir, `${name}.arrow`), source: sharedData('musk1') });
      const cohort = await Cohort.open(built.cohort.instancePath);
      try {
        const splits = parseSplitFile(
          JSON.parse(fs.readFileSync(built.splitsPath!, 'utf8')),
          cohort.bags,
          built.splitsPath,
        );
        const trainer = new Trainer({
          model: { name, config },
          config: { epochs: 20, lr: 5e-4, standardize: true, selectOn: 'last', seed: 2021 },
        });
        const run = await trainer.crossValidate(cohort, [splits[0].slice(0, 3)], {
          outDir: path.join(dir, `run-${name}`),
        });
        const { accuracy, auc } = run.summary;
        console.log(`      MUSK1 3 folds, ${name}: accuracy ${accuracy.mean.toFixed(3)}, AUC ${auc.mean.toFixed(3)}`);
        assert.ok(auc.mean > 0.75, `${name}: AUC ${auc.mean}`);
      } finally {
        await cohort.close();
      }
    });
  }
});
