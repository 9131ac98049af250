/**
 * SSL pipeline on the real data (shared/data): the colon and breast cohort builders, reconstruction
 * learning on real colon patches, and images → SSL encoder → feature bags → a trained MIL model.
 * Small documented settings (tiny network, few steps) so the whole file runs in a few minutes.
 */
import { strict as assert } from 'node:assert';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { Cohort } from '../../../src/data';
import { BREAST_ARCHIVE, breastPatchBags, buildBreastCohort } from '../../../src/data/datasets/breast';
import { buildColonCohort, colonPatchBags } from '../../../src/data/datasets/colon';
import { DEFAULT_BACKGROUND, colorStatsFeaturizer, isBackground } from '../../../src/data/images';
import { stratifiedKFold } from '../../../src/data/splits';
import { collectPatches, extractFeatureCohort } from '../../../src/ssl/extract';
import { pretrain } from '../../../src/ssl/pretrain';
import { Trainer } from '../../../src/train';
import { tempDir } from '../../helpers/tmp';
import { sharedData } from '../shared-data';

describe('data-suite/ssl: colon and breast builders, SSL on real patches', function () {
  this.timeout(900_000);
  const dir = tempDir();
  const colonDir = () => sharedData('colon-crchp');

  it('colon: 98 patient bags (51 positive / 47 negative), 20,280 patches of 27×27, instance labels', async () => {
    const out = path.join(dir, 'colon.arrow');
    const summary = await buildColonCohort(out, { dir: colonDir() });
    assert.deepEqual([summary.bags, summary.instances, summary.dim], [98, 20280, 27 * 27 * 3]);
    const cohort = await Cohort.open(out, { cacheBytes: 0 });
    assert.equal(cohort.bags.filter((b) => b.label === 1).length, 51);
    assert.equal(cohort.bags.filter((b) => b.label === 0).length, 47);
    // Bag label = any cancerous instance; features are pixels in [0, 1].
    for (const i of [0, 40, 97]) {
      const bag = await cohort.bag(i);
      assert.equal(bag.label, bag.instanceLabels!.some((v) => v === 1) ? 1 : 0);
      assert.ok(bag.features.every((v) => v >= 0 && v <= 1));
      assert.equal(bag.coords!.length, 2 * bag.numInstances);
    }
    await cohort.close();
  });

  it('breast: 58 image bags (26 malignant / 32 benign), tissue tiles inside the 896×768 image', async () => {
    const out = path.join(dir, 'breast.arrow');
    const summary = await buildBreastCohort(out, {
      source: sharedData(`breast-ucsb/${BREAST_ARCHIVE}`),
      featurizer: colorStatsFeaturizer,
    });
    assert.deepEqual([summary.bags, summary.dim], [58, 30]);
    const cohort = await Cohort.open(out, { cacheBytes: 0 });
    assert.equal(cohort.bags.filter((b) => b.label === 1).length, 26);
    const dropped = cohort.bags.reduce((s, b) => s + Number(b.meta.background_dropped), 0);
    // Every tile of the 28 × 24 grid is either kept or dropped as background.
    assert.equal(summary.instances + dropped, 58 * 28 * 24);
    assert.ok(dropped > 0.1 * 58 * 28 * 24 && dropped < 0.6 * 58 * 28 * 24, `dropped ${dropped}`);
    const bag = await cohort.bag(0);
    for (let i = 0; i < bag.numInstances; i++) {
      const [x, y] = [bag.coords![2 * i], bag.coords![2 * i + 1]];
      assert.ok(x % 32 === 0 && y % 32 === 0 && x + 32 <= 896 && y + 32 <= 768);
    }
    await cohort.close();
    // The tiles of one image really pass the background rule.
    for await (const b of breastPatchBags({ source: sharedData(`breast-ucsb/${BREAST_ARCHIVE}`), limit: 1 })) {
      const per = 32 * 32 * 3;
      for (let i = 0; i < b.n; i++)
        assert.equal(isBackground(b.pixels.subarray(i * per, (i + 1) * per), DEFAULT_BACKGROUND), false);
    }
  });

  it('reconstruction loss decreases on a small set of real colon patches', async () => {
    // 3 patients, 188 patches; tiny network (width 4, 32-d embedding), 40 Adam steps of 32 patches.
    const patches = await collectPatches(colonPatchBags({ dir: colonDir(), patients: ['1', '2', '3'] }));
    const r = await pretrain(patches, {
      net: { inputSize: 28, width: 4, embedDim: 32, projDim: 16 },
      contrastiveWeight: 0,
      reconstructionWeight: 1,
      batchSize: 32,
      steps: 40,
      learningRate: 3e-3,
      seed: 1,
    });
    const mean = (a: number[]) => a.reduce((s, v) => s + v, 0) / a.length;
    const first = mean(r.history.slice(0, 5).map((h) => h.reconstruction!));
    const last = mean(r.history.slice(-5).map((h) => h.reconstruction!));
    assert.ok(last < 0.7 * first, `reconstruction MSE ${first.toFixed(4)} → ${last.toFixed(4)}`);
    r.network.dispose();
  });

  it('end to end: colon patches → SSL pretraining → encoder feature bags → attention MIL trained on them', async () => {
    // 12 patients (both classes), contrastive + reconstruction for 10 steps, then ABMIL, 2 folds × 5 epochs.
    const patients = ['1', '2', '3', '4', '5', '6', '7', '8', '9', '10', '11', '12'];
    const bags = () => colonPatchBags({ dir: colonDir(), patients });
    const before = tf.memory().numTensors;
    const patches = await collectPatches(bags(), { maxPatches: 600, seed: 1 });
    const pre = await pretrain(patches, {
      net: { inputSize: 28, width: 4, embedDim: 16, projDim: 8 },
      batchSize: 16,
      steps: 10,
      seed: 2,
    });
    const out = path.join(dir, 'colon-ssl.arrow');
    const summary = await extractFeatureCohort(out, bags(), pre.network, { patchSize: 27 });
    pre.network.dispose();
    assert.equal(summary.dim, 16);
    const cohort = await Cohort.open(out);
    const labels = cohort.bags.map((b) => b.label);
    assert.ok(labels.includes(0) && labels.includes(1), 'both classes present');
    const splits = stratifiedKFold(cohort.bags, { k: 2, seed: 0 });
    const run = await new Trainer({
      model: { name: 'abmil' },
      config: { epochs: 5, lr: 1e-3, seed: 0, standardize: true, selectOn: 'last' },
    }).crossValidate(cohort, [splits]);
    assert.equal(run.folds.length, 2);
    for (const f of run.folds) {
      assert.ok(Number.isFinite(f.metrics.auc) && Number.isFinite(f.metrics.accuracy));
      assert.ok(f.history.every((h) => Number.isFinite(h.trainLoss)));
    }
    await cohort.close();
    assert.equal(tf.memory().numTensors, before, 'no tensors leaked across the pipeline');
  });
});
