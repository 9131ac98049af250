/**
 * The opt-in bf16 inference path on real data: AB-MIL (published defaults: 512-wide GELU projection,
 * tanh attention) trained in float32, then every bag predicted twice, in float32 and inside
 * `withPrecision('bf16')`. The bf16 outputs must equal float32's to 3 decimals: each bag's
 * probability within 5e-4, the same predicted classes, the same test AUC to 3 decimals. (A single
 * bfloat16 product per multiply moved probabilities by up to 1e-3 here, which is why the products
 * are split into high and low parts: measured now ~1e-6.)
 *  - MUSK1 (166 raw features, per-fold standardisation): the first fold of the standard split file,
 *    20 epochs, lr 5e-4;
 *  - colon (98 patient bags of 27×27 nuclei, 30 colour statistics as in results/colon): fold 1 of
 *    the stratified patient-level 5-fold split (seed 1), 4 epochs, lr 1e-3.
 */
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { bf16Available, blasStatus, withPrecision } from '../../../src/backend/blasKernels';
import { Cohort } from '../../../src/data';
import { buildColonCohort } from '../../../src/data/datasets/colon';
import { musk1 } from '../../../src/data/datasets/musk1';
import { colorStatsFeaturizer } from '../../../src/data/images';
import { parseSplitFile, type Split, stratifiedKFold } from '../../../src/data/splits';
import { binaryAuc } from '../../../src/metrics/auc';
import { loadTrainedModel } from '../../../src/persist';
import { predictInstances, softmax, Trainer } from '../../../src/train';
import { skipBecause } from '../../helpers/skip';
import { tempDir } from '../../helpers/tmp';
import { sharedData } from '../shared-data';

/** p(class 1) of every bag of `cohort`, in float32 and in bf16, from the model trained on `split`. */
async function bothPrecisions(cohort: Cohort, split: Split, epochs: number, lr: number, out: string) {
  await new Trainer({
    model: { name: 'abmil', config: {} },
    config: { epochs, lr, standardize: true, selectOn: 'last', seed: 2021 },
  }).fit(cohort, split, { outDir: out });
  const { model, stats } = loadTrainedModel(path.join(out, 'rep0-fold0', 'model.ckpt'));
  const p32: number[] = [];
  const p16: number[] = [];
  try {
    for (let i = 0; i < cohort.size; i++) {
      const bag = await cohort.bag(i);
      p32.push(softmax((await predictInstances(model, bag, stats)).logits)[1]);
      p16.push(softmax((await withPrecision('bf16', () => predictInstances(model, bag, stats))).logits)[1]);
    }
  } finally {
    model.dispose();
  }
  return { p32, p16 };
}

function compare(name: string, cohort: Cohort, test: number[], p32: number[], p16: number[]): void {
  const gaps = p32.map((p, i) => Math.abs(p - p16[i]));
  const worst = Math.max(...gaps);
  const labels = test.map((i) => cohort.bags[i].label!);
  const auc32 = binaryAuc(
    labels,
    test.map((i) => p32[i]),
  );
  const auc16 = binaryAuc(
    labels,
    test.map((i) => p16[i]),
  );
  console.log(
    `      ${name}: ${cohort.size} bags, max |p_bf16 − p_float32| ${worst.toExponential(2)}, ` +
      `test AUC ${auc32.toFixed(3)} (float32) / ${auc16.toFixed(3)} (bf16)`,
  );
  assert.ok(worst > 0, 'bf16 outputs equal float32 bit for bit: the bf16 path did not run');
  assert.ok(worst < 5e-4, `${name}: a probability differs by ${worst}`);
  assert.deepEqual(
    p16.map((p) => p > 0.5),
    p32.map((p) => p > 0.5),
    `${name}: predicted classes differ`,
  );
  assert.equal(auc16.toFixed(3), auc32.toFixed(3));
}

describe('data-suite/train: bf16 inference equals float32 to 3 decimals (AB-MIL on MUSK1 and colon)', function () {
  this.timeout(1_200_000);
  const dir = tempDir();

  before(function () {
    if (!blasStatus().active) return skipBecause(this, `the native path is off: ${blasStatus().reason}`);
    if (!bf16Available()) return skipBecause(this, 'this CPU has no AVX-512 BF16');
  });

  it('MUSK1, fold 1 of the standard split', async () => {
    const built = await musk1.build({ out: path.join(dir, 'musk1.arrow'), source: sharedData('musk1') });
    const cohort = await Cohort.open(built.cohort.instancePath);
    try {
      const split = parseSplitFile(JSON.parse(fs.readFileSync(built.splitsPath!, 'utf8')), cohort.bags)[0][0];
      const { p32, p16 } = await bothPrecisions(cohort, split, 20, 5e-4, path.join(dir, 'musk1-run'));
      compare('MUSK1', cohort, split.test, p32, p16);
    } finally {
      await cohort.close();
    }
  });

  it('colon, fold 1 of the patient-level 5-fold split', async () => {
    const built = await buildColonCohort(path.join(dir, 'colon.arrow'), {
      dir: sharedData('colon-crchp'),
      featurizer: colorStatsFeaturizer,
    });
    const cohort = await Cohort.open(built.instancePath);
    try {
      const split = stratifiedKFold(cohort.bags, { k: 5, seed: 1 })[0];
      const { p32, p16 } = await bothPrecisions(cohort, split, 4, 1e-3, path.join(dir, 'colon-run'));
      compare('colon', cohort, split.test, p32, p16);
    } finally {
      await cohort.close();
    }
  });
});
