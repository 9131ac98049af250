import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as A from 'apache-arrow';
import { Cohort, MilkitDataError, writeCohort, type BagRecord } from '../../src/data';
import { randomFloats, tempDir } from '../helpers/tmp';
import { killedWriter } from '../persist/helpers';

function bags(count: number, dim: number, withCoords = true): BagRecord[] {
  return Array.from({ length: count }, (_, b) => {
    const n = 3 + b;
    return {
      id: `bag-${b}`,
      features: randomFloats(n * dim, b + 1),
      coords: withCoords ? Int32Array.from({ length: 2 * n }, (_, i) => i * 10 + b) : undefined,
      instanceLabels: Array.from({ length: n }, (_, i) => (i === 0 && b % 2 ? 1 : 0)),
      label: b % 2,
      patientId: `p${Math.floor(b / 2)}`,
      meta: { site: b < 2 ? 'A' : 'B', slide_mpp: 0.5 },
    };
  });
}

async function rejects(p: Promise<unknown>, ...fragments: string[]): Promise<MilkitDataError> {
  try {
    await p;
  } catch (err) {
    assert.ok(err instanceof MilkitDataError, `expected MilkitDataError, got ${err}`);
    for (const f of fragments) assert.ok(err.message.includes(f), `message "${err.message}" lacks "${f}"`);
    return err;
  }
  assert.fail('expected an error');
}

describe('data/cohort: the Arrow feature-bag format', () => {
  const dir = tempDir();

  it('round-trips bags, coordinates, instance labels, labels, patients and metadata', async () => {
    const src = bags(5, 7);
    const file = path.join(dir, 'round.arrow');
    const summary = await writeCohort(file, src, { dim: 7, metadata: { source: 'unit-test' } });
    assert.deepEqual([summary.bags, summary.instances, summary.dim], [5, 3 + 4 + 5 + 6 + 7, 7]);
    assert.ok(fs.existsSync(path.join(dir, 'round.bags.arrow')));
    const cohort = await Cohort.open(file);
    try {
      assert.equal(cohort.size, 5);
      assert.equal(cohort.dim, 7);
      assert.equal(cohort.numClasses, 2);
      assert.equal(cohort.metadata.get('source'), 'unit-test');
      for (let b = 4; b >= 0; b--) {
        const bag = await cohort.bag(b);
        assert.equal(bag.id, src[b].id);
        assert.equal(bag.numInstances, 3 + b);
        assert.deepEqual(Array.from(bag.features), Array.from(src[b].features));
        assert.deepEqual(Array.from(bag.coords!), Array.from(src[b].coords!));
        assert.deepEqual(Array.from(bag.instanceLabels!), src[b].instanceLabels);
        assert.equal(bag.label, b % 2);
        assert.equal(bag.patientId, `p${Math.floor(b / 2)}`);
        assert.deepEqual(bag.meta, { site: b < 2 ? 'A' : 'B', slide_mpp: 0.5 });
      }
      const byId = await cohort.bag('bag-3');
      assert.equal(byId.index, 3);
    } finally {
      await cohort.close();
    }
  });

  it('stores survival time and event, and opens via the bag-table path too', async () => {
    const file = path.join(dir, 'surv.arrow');
    await writeCohort(
      file,
      bags(3, 2, false).map((b, i) => ({ ...b, label: undefined, time: 10 + i, event: i % 2 })),
      { dim: 2 },
    );
    const cohort = await Cohort.open(path.join(dir, 'surv.bags.arrow'));
    assert.ok(cohort.isSurvival);
    assert.deepEqual(
      cohort.bags.map((b) => [b.time, b.event]),
      [
        [10, 0],
        [11, 1],
        [12, 0],
      ],
    );
    assert.equal((await cohort.bag(0)).coords, undefined);
    await cohort.close();
  });

  it('streams a cohort larger than its cache while holding at most the cache', async () => {
    const file = path.join(dir, 'stream.arrow');
    const dim = 64;
    await writeCohort(
      file,
      (function* () {
        for (let b = 0; b < 40; b++) yield { id: `s${b}`, features: randomFloats(200 * dim, b), label: b % 2 };
      })(),
      { dim },
    );
    const bagBytes = 200 * dim * 4;
    const cohort = await Cohort.open(file, { cacheBytes: 4 * bagBytes });
    let count = 0;
    let maxCached = 0;
    for await (const bag of cohort.iterate()) {
      count += bag.numInstances;
      maxCached = Math.max(maxCached, cohort.cachedBytes);
    }
    assert.equal(count, 40 * 200);
    assert.ok(maxCached <= 4 * bagBytes, `cache grew to ${maxCached}`);
    await cohort.close();
  });

  it('reads the next bag ahead: the same bags, a damaged one reported when claimed, none at 0', async () => {
    const src = bags(4, 5);
    const file = path.join(dir, 'ahead.arrow');
    await writeCohort(file, src, { dim: 5 });
    for (const readAhead of [1, 0] as const) {
      const cohort = await Cohort.open(file, { cacheBytes: 0, readAhead });
      try {
        const seen: string[] = [];
        for await (const bag of cohort.iterate([3, 1, 2, 0])) {
          assert.deepEqual(Array.from(bag.features), Array.from(src[bag.index].features));
          assert.deepEqual(Array.from(bag.coords!), Array.from(src[bag.index].coords!));
          seen.push(bag.id);
          // With read-ahead the next bag is being read now (one at a time); without, nothing is.
          const ahead = (cohort as unknown as { ahead?: { index: number } }).ahead;
          const next = [3, 1, 2, 0][seen.length];
          assert.equal(ahead?.index, readAhead && next !== undefined ? next : undefined);
        }
        assert.deepEqual(seen, ['bag-3', 'bag-1', 'bag-2', 'bag-0']);
        cohort.prefetch(99); // out of range: ignored here, reported by bag(99)
        await rejects(cohort.bag(99), 'out of range');
      } finally {
        await cohort.close();
      }
    }
    // A file cut short after opening: the read ahead fails, and the claim reports it with file and bag.
    const cut = path.join(dir, 'cut.arrow');
    await writeCohort(cut, src, { dim: 5 });
    const cohort = await Cohort.open(cut, { cacheBytes: 0 });
    try {
      fs.truncateSync(cut, 64);
      cohort.prefetch(2);
      const err = await rejects(cohort.bag(2), 'cannot read the record batch', 'bag-2');
      assert.ok(err.message.includes(cut), err.message);
    } finally {
      await cohort.close();
    }
  });

  it("writes through temp files: a failed write leaves none, a killed writer's are removed", async () => {
    const sub = path.join(dir, 'temps');
    fs.mkdirSync(sub);
    const file = path.join(sub, 'c.arrow');
    killedWriter(file); // a writer killed mid-write leaves c.arrow.tmp-<host>-<pid>-0
    const bad = [...bags(2, 4), { id: 'bag-0', features: randomFloats(12, 9), label: 0 }]; // duplicate id
    await rejects(writeCohort(file, bad, { dim: 4 }), 'duplicate bag id');
    assert.deepEqual(fs.readdirSync(sub), [], "the killed writer's and the failed write's temp files are gone");
    await writeCohort(file, bags(2, 4), { dim: 4 });
    assert.deepEqual(fs.readdirSync(sub).sort(), ['c.arrow', 'c.bags.arrow']);
  });

  describe('bad input gives one clear error naming file, bag and field', () => {
    it('a bag with 0 instances', async () => {
      const e = await rejects(
        writeCohort(path.join(dir, 'e.arrow'), [{ id: 'empty', features: new Float32Array(0), label: 0 }], { dim: 4 }),
        'bag "empty"',
        '0 instances',
        'features',
      );
      assert.equal(e.where.bag, 'empty');
      assert.ok(!fs.existsSync(path.join(dir, 'e.arrow')), 'no half-written file is left behind');
    });
    it('NaN and Inf features', async () => {
      const f = randomFloats(8, 3);
      f[5] = NaN;
      await rejects(
        writeCohort(path.join(dir, 'n.arrow'), [{ id: 'nan', features: f, label: 0 }], { dim: 4 }),
        'bag "nan"',
        'NaN',
        'instance 1, dimension 1',
        '"features"',
      );
      f[5] = -Infinity;
      await rejects(
        writeCohort(path.join(dir, 'n.arrow'), [{ id: 'inf', features: f, label: 0 }], { dim: 4 }),
        'bag "inf"',
        '-Infinity',
      );
    });
    it('a feature width that differs between bags', async () => {
      await rejects(
        writeCohort(
          path.join(dir, 'w.arrow'),
          [
            { id: 'ok', features: randomFloats(8), label: 0 },
            { id: 'wide', features: randomFloats(10), label: 0 },
          ],
          { dim: 4 },
        ),
        'bag "wide"',
        'width',
        'features',
      );
    });
    it('a missing label', async () => {
      await rejects(
        writeCohort(path.join(dir, 'l.arrow'), [{ id: 'nolabel', features: randomFloats(4) }], { dim: 4 }),
        'bag "nolabel"',
        'missing label',
        '"label"',
      );
    });
    it('duplicate bag ids', async () => {
      await rejects(
        writeCohort(
          path.join(dir, 'd.arrow'),
          [
            { id: 'twice', features: randomFloats(4), label: 0 },
            { id: 'twice', features: randomFloats(4), label: 1 },
          ],
          { dim: 4 },
        ),
        'bag "twice"',
        'duplicate',
        'bag_id',
      );
    });
    it('a truncated Arrow file', async () => {
      const file = path.join(dir, 'trunc.arrow');
      await writeCohort(file, bags(3, 4), { dim: 4 });
      const bytes = fs.readFileSync(file);
      fs.writeFileSync(file, bytes.subarray(0, Math.floor(bytes.length * 0.6)));
      await rejects(Cohort.open(file), 'trunc.arrow', 'truncated');
    });
    it('a corrupt (non-Arrow) file', async () => {
      const file = path.join(dir, 'junk.arrow');
      await writeCohort(file, bags(2, 4), { dim: 4 });
      fs.writeFileSync(file, Buffer.from('this is not an arrow file at all, just text'));
      await rejects(Cohort.open(file), 'junk.arrow', 'not an Arrow IPC file');
    });
    it('a corrupt record batch inside an intact frame', async () => {
      const file = path.join(dir, 'flip.arrow');
      await writeCohort(file, bags(2, 4), { dim: 4 });
      const bytes = fs.readFileSync(file);
      bytes.fill(0xff, 8, bytes.length - 64); // keep the magic, destroy messages and footer
      fs.writeFileSync(file, bytes);
      await rejects(Cohort.open(file), 'flip.arrow');
    });
    it('an unknown column in either table, with a hint', async () => {
      const inst = path.join(dir, 'unk.arrow');
      const schema = new A.Schema([new A.Field('bag_id', new A.Utf8()), new A.Field('featurs', new A.Float32())]);
      const t = new A.Table(
        schema,
        new A.RecordBatch(
          schema,
          A.makeData({
            type: new A.Struct(schema.fields),
            length: 1,
            children: [
              A.vectorFromArray(['a'], new A.Utf8()).data[0],
              A.makeData({ type: new A.Float32(), length: 1, data: new Float32Array([1]) }),
            ],
          }),
        ),
      );
      fs.writeFileSync(inst, A.tableToIPC(t, 'file'));
      fs.writeFileSync(
        path.join(dir, 'unk.bags.arrow'),
        A.tableToIPC(A.tableFromArrays({ bag_id: ['a'], label: Int32Array.from([0]) }), 'file'),
      );
      await rejects(Cohort.open(inst), 'unk.arrow', 'unknown column', '"featurs"', 'did you mean "features"');
      fs.writeFileSync(
        path.join(dir, 'unk.bags.arrow'),
        A.tableToIPC(A.tableFromArrays({ bag_id: ['a'], lable: Int32Array.from([0]) }), 'file'),
      );
      await rejects(Cohort.open(inst), 'unk.bags.arrow', '"lable"', 'did you mean "label"');
    });
    it('a bag table that disagrees with the instance file', async () => {
      const file = path.join(dir, 'mis.arrow');
      await writeCohort(file, bags(3, 4), { dim: 4 });
      fs.writeFileSync(
        path.join(dir, 'mis.bags.arrow'),
        A.tableToIPC(
          A.tableFromArrays({ bag_id: ['bag-0', 'bag-2', 'bag-1'], label: Int32Array.from([0, 1, 0]) }),
          'file',
        ),
      );
      const cohort = await Cohort.open(file);
      await rejects(cohort.bag(1), 'bag "bag-2"', 'holds bag "bag-1"', 'bag_id');
      await cohort.close();
    });
    it('NaN features written by another tool are caught on load', async () => {
      const file = path.join(dir, 'ext.arrow');
      await writeCohort(file, bags(2, 4), { dim: 4 });
      const bytes = fs.readFileSync(file);
      // Overwrite the first float of bag-1's features with NaN, found by its exact byte pattern.
      const cohort = await Cohort.open(file);
      const target = Buffer.from((await cohort.bag(1)).features.slice(0, 2).buffer);
      await cohort.close();
      const at = bytes.indexOf(target);
      assert.ok(at > 0);
      bytes.writeFloatLE(NaN, at);
      fs.writeFileSync(file, bytes);
      const reopened = await Cohort.open(file);
      await rejects(reopened.bag(1), 'ext.arrow', 'bag "bag-1"', 'NaN', '"features"');
      await reopened.close();
    });
  });
});
