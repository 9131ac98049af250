import { strict as assert } from 'node:assert';
import * as path from 'node:path';
import * as fs from 'node:fs';
import * as A from 'apache-arrow';
import { Cohort, MilkitDataError, writeCohort } from '../../src/data';
import { randomFloats, tempDir } from '../helpers/tmp';

describe('data/cohort: reading patterns', () => {
  const dir = tempDir();

  it('concurrent loads (Promise.all, prefetch) return the right bags', async () => {
    const file = path.join(dir, 'conc.arrow');
    const src = Array.from({ length: 12 }, (_, b) => ({
      id: `c${b}`,
      label: b % 2,
      features: randomFloats(5 * (b + 1) * 8, b + 1),
    }));
    await writeCohort(file, src, { dim: 8 });
    const c = await Cohort.open(file, { cacheBytes: 0 });
    const order = [5, 0, 11, 3, 3, 7, 1, 10, 2, 9, 4, 8, 6];
    const bags = await Promise.all(order.map((i) => c.bag(i)));
    bags.forEach((bag, k) => {
      assert.equal(bag.id, `c${order[k]}`);
      assert.deepEqual(Array.from(bag.features), Array.from(src[order[k]].features));
    });
    await c.close();
  });

  it('refuses the Arrow IPC stream format with a message that names the fix', async () => {
    const file = path.join(dir, 'stream.arrow');
    await writeCohort(file, [{ id: 'a', label: 0, features: randomFloats(8) }], { dim: 4 });
    const table = A.tableFromIPC(fs.readFileSync(file));
    fs.writeFileSync(file, A.tableToIPC(table, 'stream'));
    await assert.rejects(
      Cohort.open(file),
      (e: unknown) =>
        e instanceof MilkitDataError &&
        /stream\.arrow.*IPC \*stream\* format.*Fix: milkit convert arrow/.test(e.message),
    );
  });

  /** A one-bag instance file written with Arrow directly: instance labels [1, null, 0] of `labelType`. */
  function foreignFile(name: string, labelType: A.Int8 | A.Int32): { file: string; features: Float32Array } {
    const dim = 2;
    const features = new Float32Array([1, 2, 3, 4, 5, 6]);
    const featureType = new A.FixedSizeList(dim, new A.Field('item', new A.Float32(), false));
    const fields = [
      new A.Field('bag_id', new A.Utf8(), false),
      new A.Field('instance_label', labelType, true),
      new A.Field('features', featureType, false),
    ];
    const schema = new A.Schema(fields);
    const labels = A.makeData({
      type: labelType,
      length: 3,
      nullCount: 1,
      nullBitmap: new Uint8Array([0b101]),
      data: labelType instanceof A.Int8 ? new Int8Array([1, 0, 0]) : new Int32Array([1, 0, 0]),
    });
    const columns = [
      A.vectorFromArray(['only', 'only', 'only'], new A.Utf8()).data[0],
      labels,
      A.makeData({
        type: featureType,
        length: 3,
        nullCount: 0,
        child: A.makeData({ type: new A.Float32(), length: 6, data: features }),
      }),
    ];
    const batch = new A.RecordBatch(schema, A.makeData({ type: new A.Struct(fields), length: 3, children: columns }));
    const file = path.join(dir, `${name}.arrow`);
    fs.writeFileSync(file, A.tableToIPC(new A.Table([batch]), 'file'));
    fs.writeFileSync(
      path.join(dir, `${name}.bags.arrow`),
      A.tableToIPC(A.tableFromArrays({ bag_id: ['only'], label: Int32Array.from([1]) }), 'file'),
    );
    return { file, features };
  }

  it("reads files in milkit's layout (fast path) and other layouts (Arrow reader) alike, nulls as -1", async () => {
    for (const [name, type] of [
      ['fast', new A.Int32()],
      ['generic', new A.Int8()],
    ] as const) {
      const { file, features } = foreignFile(name, type);
      const c = await Cohort.open(file);
      assert.equal(c.bags[0].numInstances, 3, 'counted from the batch header (the bag table has no num_instances)');
      const bag = await c.bag(0);
      assert.deepEqual(Array.from(bag.features), Array.from(features), name);
      assert.deepEqual(Array.from(bag.instanceLabels!), [1, -1, 0], name);
      assert.equal(
        (c as unknown as { layout?: unknown }).layout !== undefined,
        name === 'fast',
        `${name}: fast path ${name === 'fast' ? 'used' : 'not used'}`,
      );
      await c.close();
    }
  });
});
