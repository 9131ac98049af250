/**
 * The instance-level catalogue methods (adaptive, certainty and power pooling, MIVAE, CausalMIL,
 * Additive MIL, MILLET, MIREL, FocusMIL) learn real data with the normal trainer and their
 * registered defaults (dropout 0, as the catalogue's small-data setting). Small documented settings
 * so the whole file stays near a minute on an idle 2-core machine:
 *  - MUSK1: folds 1-2 of the first repetition of the standard 5 × 10-fold split, 8 epochs, lr 1e-3
 *    (cosine), per-fold standardisation, last-epoch weights; bar: mean test AUC > 0.75 (chance 0.5).
 *  - MNIST-bags (Ilse et al.; target 9, bag size N(10, 2)): 100 training bags, 200 test bags, raw
 *    pixels through each model's MLP (no convolutional encoder), 10 epochs, lr 1e-3; bar: test AUC
 *    > 0.65 (chance 0.5; AB-MIL reaches about 0.8 in this pixel setting after 20 epochs, the papers'
 *    CNN encoders 0.96).
 * The full protocols (MUSK1 5 × 10-fold, 1000 MNIST test bags) are the catalogue command's.
 */
import { strict as assert } from 'node:assert';
import { tempDir } from '../../helpers/tmp';
import { allSplits, buildBenchmarks, firstTwoFolds, trainAndTest, type Benchmark } from './train-and-test';

const MODELS = [
  'adaptive-pooling',
  'certainty-pooling',
  'power-pooling',
  'mivae',
  'causalmil',
  'additive-mil',
  'millet',
  'mirel',
  'focusmil',
];
const SMALL_DATA = { dropout: 0 };

describe('data-suite/models: the instance-level catalogue methods learn MUSK1 and MNIST-bags', function () {
  this.timeout(1_800_000);
  const dir = tempDir();
  let data: { musk: Benchmark; mnist: Benchmark };
  before(async () => {
    data = await buildBenchmarks(dir);
  });

  for (const model of MODELS) {
    it(`${model}: MUSK1 (2 folds) and MNIST-bags (100 training bags) test AUC clearly above chance`, async () => {
      const m = await trainAndTest(
        data.musk,
        firstTwoFolds,
        { name: model, config: SMALL_DATA },
        { epochs: 8, lr: 1e-3, standardize: true },
      );
      const b = await trainAndTest(
        data.mnist,
        allSplits,
        { name: model, config: SMALL_DATA },
        { epochs: 10, lr: 1e-3 },
      );
      console.log(
        `      ${model}: MUSK1 2 folds accuracy ${m.accuracy.mean.toFixed(3)}, ` +
          `AUC ${m.auc.mean.toFixed(3)}; MNIST-bags 100/200 AUC ${b.auc.mean.toFixed(3)}`,
      );
      assert.ok(m.auc.mean > 0.75, `${model}: MUSK1 AUC ${m.auc.mean}`);
      assert.ok(b.auc.mean > 0.65, `${model}: MNIST-bags AUC ${b.auc.mean}`);
    });
  }
});
