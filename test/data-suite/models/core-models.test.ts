/**
 * Every model of the core set (issue 3) learns real data with the normal trainer: MUSK1 and
 * MNIST-bags. (AB-MIL on the full MUSK1 protocol: data-suite/train/musk1.test.ts; gated AB-MIL,
 * CLAM-SB, MI-Net on 3 MUSK1 folds: musk1-models.test.ts; this file adds the rest on MUSK1 and all
 * of them on MNIST-bags.) Small documented settings, 64-wide models, no dropout:
 *  - MUSK1: folds 1-2 of the first repetition of the standard 5 × 10-fold split, 10 epochs, lr 5e-4
 *    (cosine), per-fold standardisation, last-epoch weights; bar: mean test AUC > 0.7 (chance 0.5);
 *  - MNIST-bags (Ilse et al.; target 9, bag size N(10, 2)): 100 training bags, 200 test bags, raw
 *    pixels (no convolutional encoder), 8 epochs, lr 5e-4; bar: test AUC > 0.65 (chance 0.5; the
 *    standard error of an AUC near 0.7 on 200 bags is about 0.04). mean-mil is the weakest here
 *    (measured 0.687: a mean of instance logits dilutes the one 9 in a bag of ~10).
 * TransMIL runs 4 heads × 16 with 8 landmarks (MUSK1 bags hold 2-40 instances; 256 landmarks
 * would be mostly padding). max-mil keeps MHIM's per-class max (src/models/pooling.ts).
 * TransMIL is checked on MUSK1 only: from 100 MNIST-bags of raw pixels it does NOT learn (measured
 * test AUC 0.55-0.61 for lr 1e-4/2e-4/5e-4 and width 64/128; it memorises the training bags). That
 * is an open point of issue 3 (README Status), not something this test may hide behind a low bar.
 */
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Cohort } from '../../../src/data';
import { mnistBags } from '../../../src/data/datasets/mnistBags';
import { musk1 } from '../../../src/data/datasets/musk1';
import { parseSplitFile, type Split } from '../../../src/data/splits';
import { Trainer } from '../../../src/train';
import { tempDir } from '../../helpers/tmp';
import { sharedData } from '../shared-data';

const POOLING = { hidden: [64], dropout: 0 };
const PROJECTED = { embedDim: 64, dropout: 0 };
const MODELS: [string, Record<string, unknown>, { musk: boolean; mnist?: boolean }][] = [
  ['mean-mil', POOLING, { musk: true }],
  ['max-mil', POOLING, { musk: true }],
  ['mi-net', { dropout: 0 }, { musk: true }],
  ['MI-net', { dropout: 0 }, { musk: false }],
  ['abmil', { ...PROJECTED, attentionDim: 32 }, { musk: false }],
  ['gabmil', { ...PROJECTED, attentionDim: 32, attentionDropout: 0 }, { musk: false }],
  ['dsmil', { ...PROJECTED, queryDim: 32 }, { musk: true }],
  ['transmil', { ...PROJECTED, heads: 4, headDim: 16, landmarks: 8, residualKernel: 5, attentionDropout: 0 }, { musk: true, mnist: false }],
  ['clam-sb', { ...PROJECTED, attentionDim: 32, attentionDropout: 0 }, { musk: false }],
  ['clam-mb', { ...PROJECTED, attentionDim: 32, attentionDropout: 0 }, { musk: true }],
];

async function trainAndTest(cohortPath: string, splitsPath: string, pick: (s: Split[][]) => Split[][], model: string, config: Record<string, unknown>, epochs: number, standardize: boolean) {
  const cohort = await Cohort.open(cohortPath);
  try {
    const splits = pick(parseSplitFile(JSON.parse(fs.readFileSync(splitsPath, 'utf8')), cohort.bags, splitsPath));
    const trainer = new Trainer({ model: { name: model, config }, config: { epochs, lr: 5e-4, standardize, selectOn: 'last', seed: 2021 } });
    return (await trainer.crossValidate(cohort, splits)).summary;
  } finally {
    await cohort.close();
  }
}

describe('data-suite/models: the core models learn MUSK1 and MNIST-bags', function () {
  this.timeout(1_800_000);
  const dir = tempDir();
  let musk: { cohort: string; splits: string };
  let mnist: { cohort: string; splits: string };
  before(async () => {
    const m = await musk1.build({ out: path.join(dir, 'musk1.arrow'), source: sharedData('musk1') });
    musk = { cohort: m.cohort.instancePath, splits: m.splitsPath! };
    const b = await mnistBags.build({ out: path.join(dir, 'mnist.arrow'), trainBags: 100, testBags: 200, seed: 1 });
    mnist = { cohort: b.cohort.instancePath, splits: b.splitsPath! };
  });

  for (const [model, config, { musk: onMusk, mnist: onMnist = true }] of MODELS) {
    const on = [onMusk ? 'MUSK1 (2 folds) AUC > 0.7' : '', onMnist ? 'MNIST-bags (100 training bags) AUC > 0.65' : ''].filter(Boolean);
    it(`${model}: ${on.join(', ')}`, async () => {
      const parts: string[] = [];
      if (onMusk) {
        const m = await trainAndTest(musk.cohort, musk.splits, (s) => [s[0].slice(0, 2)], model, config, 10, true);
        parts.push(`MUSK1 2 folds accuracy ${m.accuracy.mean.toFixed(3)}, AUC ${m.auc.mean.toFixed(3)}`);
        assert.ok(m.auc.mean > 0.7, `${model}: MUSK1 AUC ${m.auc.mean}`);
      }
      if (onMnist) {
        const b = await trainAndTest(mnist.cohort, mnist.splits, (s) => s, model, config, 8, false);
        parts.push(`MNIST-bags 100/200 AUC ${b.auc.mean.toFixed(3)}`);
        assert.ok(b.auc.mean > 0.65, `${model}: MNIST-bags AUC ${b.auc.mean}`);
      }
      console.log(`      ${model}: ${parts.join('; ')}`);
    });
  }
});
