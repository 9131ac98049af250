/**
 * Every cohort in ../shared/data/foreign/arrow (written by pyarrow and pandas, not by milkit) is
 * either read with exactly the values in the file, or refused with one error that names the file
 * and the command that fixes it. The reference values are read independently of milkit's reader:
 * with Arrow's generic table reader (`tableFromIPC`, row by row), for the uncompressed files, and
 * every variant must equal the `spec` cohort, from which they were all written.
 */
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as A from 'apache-arrow';
import { Cohort, MilkitDataError } from '../../../src/data';
import { convertTable } from '../../../src/data/convert';
import { tempDir } from '../../helpers/tmp';
import { sharedData } from '../shared-data';

interface RefBag {
  id: string;
  label: number;
  patient: string;
  features: number[];
  coords: number[];
  instanceLabels: number[];
}

const num = (v: unknown) => (v === null ? -1 : Number(v));
const equal = (a: unknown, b: unknown) => {
  try {
    assert.deepEqual(a, b);
    return true;
  } catch {
    return false;
  }
};

/** A cohort read with Arrow's generic reader only: batch i of the instance file is bag i. */
function referenceRead(dir: string): RefBag[] {
  const bags = A.tableFromIPC(fs.readFileSync(path.join(dir, 'cohort.bags.arrow')));
  const reader = A.RecordBatchReader.from(fs.readFileSync(path.join(dir, 'cohort.arrow')));
  const batches = [...reader];
  return batches.map((batch, i) => {
    const rows = batch.numRows;
    const features: number[] = [];
    const coords: number[] = [];
    const instanceLabels: number[] = [];
    for (let r = 0; r < rows; r++) {
      const f = batch.getChild('features')!.get(r) as A.Vector;
      for (const v of f) features.push(Math.fround(Number(v)));
      coords.push(num(batch.getChild('x')!.get(r)), num(batch.getChild('y')!.get(r)));
      instanceLabels.push(num(batch.getChild('instance_label')!.get(r)));
    }
    return {
      id: String(bags.getChild('bag_id')!.get(i)),
      label: Number(bags.getChild('label')!.get(i)),
      patient: String(bags.getChild('patient_id')!.get(i)),
      features,
      coords,
      instanceLabels,
    };
  });
}

/** Opens a cohort with milkit's reader and compares every value with `ref`, element by element. */
async function assertSameValues(file: string, ref: RefBag[], notices: string[] = []): Promise<void> {
  const c = await Cohort.open(file, { onNotice: (n) => notices.push(n) });
  try {
    assert.equal(c.size, ref.length);
    assert.equal(c.dim, 64);
    for (const [i, r] of ref.entries()) {
      const bag = await c.bag(i);
      assert.deepEqual([bag.id, bag.label, bag.patientId], [r.id, r.label, r.patient], `bag ${i}`);
      assert.equal(bag.features.length, r.features.length, `bag ${r.id}: feature count`);
      for (let k = 0; k < r.features.length; k++)
        if (bag.features[k] !== r.features[k])
          assert.fail(`bag ${r.id}: feature value ${k} is ${bag.features[k]}, the file holds ${r.features[k]}`);
      assert.deepEqual(Array.from(bag.coords!), r.coords, `bag ${r.id}: coords`);
      assert.deepEqual(Array.from(bag.instanceLabels!), r.instanceLabels, `bag ${r.id}: instance labels`);
    }
  } finally {
    await c.close();
  }
}

describe('data-suite: foreign Arrow and Parquet cohorts (pyarrow 25, pandas)', function () {
  this.timeout(120_000);
  const root = sharedData('foreign/arrow');
  const dir = tempDir();
  let spec: RefBag[];
  /** The spec cohort has one null instance label (-1); numpy-written variants store it as 0. */
  let specNoNulls: RefBag[];

  before(() => {
    spec = referenceRead(path.join(root, 'spec'));
    specNoNulls = spec.map((b) => ({ ...b, instanceLabels: b.instanceLabels.map((l) => Math.max(l, 0)) }));
    assert.equal(spec.flatMap((b) => b.instanceLabels).filter((l) => l === -1).length, 1);
    assert.equal(spec.length, 20);
    assert.equal(
      spec.reduce((s, b) => s + b.coords.length / 2, 0),
      377,
    );
  });

  it('spec: read as is, every value equal to the generic read, on the zero-copy path', async () => {
    const notices: string[] = [];
    await assertSameValues(path.join(root, 'spec', 'cohort.arrow'), spec, notices);
    assert.deepEqual(notices, []);
  });

  for (const name of [
    'coords_int64',
    'instance_label_int64',
    'large_string_bag_id',
    'fsl_nullable_item',
    'coords_float32',
  ]) {
    it(`${name}: read as is, values equal to its own generic read and to spec`, async () => {
      const own = referenceRead(path.join(root, name));
      assert.ok(
        [spec, specNoNulls].some((s) => equal(own, s)),
        'the fixture holds the spec values',
      );
      await assertSameValues(path.join(root, name, 'cohort.arrow'), own);
    });
  }

  it('pandas_per_bag_batches (large_string, int64, nullable fields) and pandas_bag_table: read as is', async () => {
    await assertSameValues(path.join(root, 'pandas_per_bag_batches', 'cohort.arrow'), specNoNulls);
    await assertSameValues(path.join(root, 'pandas_bag_table', 'cohort.arrow'), spec);
  });

  for (const name of ['float64', 'list_float32']) {
    it(
      `${name}: read with a per-bag conversion and a one-line ` + `notice; convert arrow writes the canonical layout`,
      async () => {
        const own = referenceRead(path.join(root, name));
        assert.ok(
          [spec, specNoNulls].some((s) => equal(own, s)),
          'the fixture holds the spec values',
        );
        const notices: string[] = [];
        await assertSameValues(path.join(root, name, 'cohort.arrow'), own, notices);
        assert.equal(notices.length, 1);
        assert.match(notices[0], /converted to float32 as it loads.*milkit convert arrow/);
        const out = path.join(dir, `${name}.arrow`);
        await convertTable(path.join(root, name, 'cohort.arrow'), out, 'arrow', { onNotice: () => undefined });
        const quiet: string[] = [];
        await assertSameValues(out, own, quiet);
        assert.deepEqual(quiet, [], 'the converted cohort reads zero-copy, without a notice');
      },
    );
  }

  for (const name of ['zstd', 'lz4', 'zstd_instances_only']) {
    it(`${name}: compressed IPC decodes to the spec values (notice: decompressed per bag)`, async () => {
      const notices: string[] = [];
      await assertSameValues(path.join(root, name, 'cohort.arrow'), spec, notices);
      assert.equal(notices.length, 1);
      assert.match(notices[0], /(zstd|lz4)-compressed/);
    });
  }

  const refusals: [string, string, RegExp][] = [
    ['stream', 'cohort.arrow', /IPC \*stream\* format.*Fix: milkit convert arrow .*stream\/cohort\.arrow/],
    ['pandas_one_batch', 'cohort.arrow', /1 record batch for the 20 bags.*Fix: milkit convert arrow/],
    ['pandas_spec_schema_one_batch', 'cohort.arrow', /1 record batch for the 20 bags.*Fix: milkit convert arrow/],
    ['parquet', 'cohort.arrow', /cohort\.parquet: this is a Parquet cohort.*Fix: milkit convert parquet/],
    [
      'parquet_named_arrow',
      'cohort.arrow',
      /this is a Parquet file, not an Arrow IPC file.*Fix: milkit convert parquet/,
    ],
  ];
  /** Values of the refused files, read independently (stream: Arrow's stream reader). */
  const expected: Record<string, () => RefBag[]> = {
    stream: () => referenceRead(path.join(root, 'stream')),
    pandas_one_batch: () => specNoNulls,
    pandas_spec_schema_one_batch: () => specNoNulls,
    parquet: () => spec,
    parquet_named_arrow: () => spec,
  };
  for (const [name, file, message] of refusals) {
    it(
      `${name}: refused with one error naming the file ` + `and the convert command; the command reads it right`,
      async () => {
        await assert.rejects(Cohort.open(path.join(root, name, file)), (e: unknown) => {
          assert.ok(e instanceof MilkitDataError);
          assert.match(e.message, message);
          assert.ok(e.message.includes(path.join(root, name)), e.message);
          assert.ok(!e.message.includes('\n'));
          return true;
        });
        const kind = name.startsWith('parquet') ? 'parquet' : 'arrow';
        const input = path.join(root, name, name === 'parquet' ? 'cohort.parquet' : file);
        const out = path.join(dir, `${name}.arrow`);
        const summary = await convertTable(input, out, kind, { onNotice: () => undefined });
        assert.deepEqual([summary.bags, summary.instances, summary.dim], [20, 377, 64]);
        await assertSameValues(out, expected[name]());
      },
    );
  }

  it('convert arrow keeps the class names and the bag table metadata', async () => {
    const out = path.join(dir, 'meta.arrow');
    await convertTable(path.join(root, 'pandas_spec_schema_one_batch', 'cohort.arrow'), out, 'arrow', {
      onNotice: () => undefined,
    });
    const c = await Cohort.open(out);
    const src = await Cohort.open(path.join(root, 'spec', 'cohort.arrow'));
    try {
      assert.deepEqual(c.classes, src.classes);
      assert.deepEqual(
        c.bags.map((b) => b.meta),
        src.bags.map((b) => b.meta),
      );
    } finally {
      await c.close();
      await src.close();
    }
  });
});
