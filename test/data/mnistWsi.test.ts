import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Cohort, MilkitDataError } from '../../src/data';
import { parseSplitFile } from '../../src/core';
import { hardenDigit, loadMnist, mnistWsi } from '../../src/data/datasets';
import { Rng } from '../../src/random';
import { tempDir } from '../helpers/tmp';

/** Small documented setting: bags of 60–120 digits, 6 train / 3 val / 6 test bags. */
const SMALL = { minBagSize: 60, maxBagSize: 120, trainBags: 6, valBags: 3, testBags: 6, seed: 3 };

describe('data/datasets/mnistWsi: WSI-like MNIST bags (large bags, graded hard positives)', function () {
  this.timeout(120_000);
  const dir = tempDir();
  const digit = loadMnist('train');
  const nine = Float32Array.from(
    digit.pixels.subarray(digit.labels.indexOf(9) * 784, (digit.labels.indexOf(9) + 1) * 784),
    (v) => v / 255,
  );

  it('hard transforms: fade scales the contrast, occlusion zeroes a square, rotation by 90° moves pixels', () => {
    const faded = hardenDigit(nine, 'fade', 1, new Rng(1));
    faded.forEach((v, p) => assert.ok(Math.abs(v - 0.15 * nine[p]) < 1e-6));
    const occluded = hardenDigit(nine, 'occlude', 1, new Rng(1));
    const side = Math.round(28 * Math.sqrt(0.6));
    assert.ok(occluded.reduce((n, v, p) => n + (v === 0 && nine[p] > 0 ? 1 : 0), 0) > 0, 'ink is covered');
    assert.ok(occluded.every((v, p) => v === 0 || v === nine[p]));
    assert.ok(occluded.filter((v) => v === 0).length >= side * side);
    assert.deepEqual(hardenDigit(nine, 'rotate', 0, new Rng(1)), nine, 'd = 0 is the identity');
    // A quarter turn, either way: out(x, y) = src(y, 27 − x) or src(27 − y, x).
    const r = hardenDigit(nine, 'rotate', 1, new Rng(1));
    const turned = (f: (x: number, y: number) => number) =>
      r.every((v, p) => Math.abs(v - f(p % 28, Math.floor(p / 28))) < 1e-5);
    assert.ok(turned((x, y) => nine[(27 - x) * 28 + y]) || turned((x, y) => nine[x * 28 + (27 - y)]), 'a 90° rotation');
  });

  it('builds the structure: bag sizes, 5–20 % targets in positive bags only, most hard, one split', async () => {
    const out = path.join(dir, 'raw.arrow');
    const r = await mnistWsi.build({ out, ...SMALL, projectDim: 0 });
    const c = await Cohort.open(out);
    try {
      assert.equal(c.dim, 784);
      const [[split]] = parseSplitFile(JSON.parse(fs.readFileSync(r.splitsPath!, 'utf8')), c.bags);
      assert.deepEqual(
        [split.train, split.val, split.test].map((s) => s!.length),
        [6, 3, 6],
      );
      let hard = 0;
      let positives = 0;
      for (let i = 0; i < c.size; i++) {
        const bag = await c.bag(i);
        const n = bag.numInstances;
        assert.ok(n >= 60 && n <= 120, `bag ${bag.id}: ${n} instances`);
        const k = Array.from(bag.instanceLabels!).filter((l) => l === 1).length;
        assert.equal(k, bag.meta.positives);
        if (bag.label === 1) assert.ok(k >= Math.round(0.05 * n) && k <= Math.round(0.2 * n), `${bag.id}: ${k}/${n}`);
        else assert.equal(k, 0, `negative ${bag.id} holds no target`);
        assert.equal(bag.meta.split, bag.id.split('-')[0]);
        hard += Number(bag.meta.hardPositives);
        positives += k;
        assert.ok(bag.features.every((v) => v >= 0 && v <= 1));
      }
      assert.ok(c.bags.some((b) => b.label === 1) && c.bags.some((b) => b.label === 0), 'both classes');
      // Each bag's hard share is U(0.8, 1): most targets are hard.
      assert.ok(hard / positives > 0.8, `hard share of the targets ${hard}/${positives}`);
    } finally {
      await c.close();
    }
  });

  it('the features are the same digits through the documented fixed projection N(0, 1/k)', async () => {
    const k = 16;
    const raw = await Cohort.open(path.join(dir, 'raw.arrow'));
    const out = path.join(dir, 'proj.arrow');
    await mnistWsi.build({ out, ...SMALL, projectDim: k, projectionSeed: 7 });
    const proj = await Cohort.open(out);
    try {
      const rng = new Rng(7);
      const P = Float64Array.from({ length: 784 * k }, () => rng.normal(0, 1 / Math.sqrt(k)));
      const [a, b] = await Promise.all([raw.bag(4), proj.bag(4)]);
      assert.equal(b.features.length, a.numInstances * k);
      for (let r = 0; r < a.numInstances; r++)
        for (let j = 0; j < k; j++) {
          let want = 0;
          for (let p = 0; p < 784; p++) want += a.features[r * 784 + p] * P[p * k + j];
          assert.ok(Math.abs(b.features[r * k + j] - want) < 1e-4, `instance ${r} feature ${j}`);
        }
    } finally {
      await Promise.all([raw.close(), proj.close()]);
    }
  });

  it('refuses bad options with the field named', async () => {
    await assert.rejects(
      mnistWsi.build({ out: path.join(dir, 'bad.arrow'), minBagSize: 50, maxBagSize: 10 }),
      (e: Error) => e instanceof MilkitDataError && /maxBagSize: must be ≥ minBagSize, got 10/.test(e.message),
    );
    assert.equal(fs.existsSync(path.join(dir, 'bad.arrow')), false);
  });
});
