import { strict as assert } from 'node:assert';
import * as A from 'apache-arrow';
import * as path from 'node:path';
import { Cohort } from '../../../src/data';
import { convertCsv, convertTable } from '../../../src/data/convert';
import { tempDir } from '../../helpers/tmp';
import { arrowFile, bagTable, fsl, text } from '../../helpers/dataFiles';

describe('data/convert/table: any instance table with bag_id → cohort', () => {
  const dir = tempDir();
  const quiet = { onNotice: () => undefined };
  // Rows of three bags interleaved in one record batch, as pandas writes them.
  const fields: [string, A.DataType][] = [
    ['bag_id', new A.LargeUtf8()],
    ['x', new A.Int64()],
    ['y', new A.Int64()],
    ['features', fsl(2, new A.Float64())],
  ];
  const rows = {
    bag_id: ['b', 'a', 'b', 'c', 'a'],
    x: [0n, 1n, 2n, 3n, 4n],
    y: [5n, 6n, 7n, 8n, 9n],
    features: [
      [0, 0.5],
      [1, 1.5],
      [2, 2.5],
      [3, 3.5],
      [4, 4.5],
    ],
  };

  it('regroups rows by bag (bag-table order), converts types exactly, keeps patients', async () => {
    const file = arrowFile(path.join(dir, 't.arrow'), fields, [rows]);
    bagTable(path.join(dir, 't.bags.arrow'), { bag_id: ['a', 'b', 'c'], label: [0, 1, 1], case_id: ['P', 'P', 'Q'] });
    const out = path.join(dir, 'out.arrow');
    await convertTable(file, out, 'arrow', quiet);
    const c = await Cohort.open(out);
    assert.deepEqual(
      c.bags.map((b) => [b.id, b.label, b.patientId, b.numInstances]),
      [
        ['a', 0, 'P', 2],
        ['b', 1, 'P', 2],
        ['c', 1, 'Q', 1],
      ],
    );
    const b = await c.bag('b');
    assert.deepEqual(Array.from(b.features), [0, 0.5, 2, 2.5]);
    assert.deepEqual(Array.from(b.coords!), [0, 5, 2, 7]);
    await c.close();
    await convertTable(file, out, 'arrow', { ...quiet, patientColumn: 'bag_id' });
    const d = await Cohort.open(out);
    assert.deepEqual(
      d.bags.map((x) => x.patientId),
      ['a', 'b', 'c'],
    );
    await d.close();
    await assert.rejects(convertTable(file, out, 'arrow', { ...quiet, patientColumn: 'donor' }), /field "donor"/);
  });

  it('a labels CSV (CLAM style) names the classes and the patients', async () => {
    const file = arrowFile(path.join(dir, 'u.arrow'), fields, [rows]);
    const labels = text(dir, 'u.csv', 'case_id,slide_id,label\nP,a,normal\nP,b,tumor\nQ,c,tumor\n');
    const out = path.join(dir, 'u-out.arrow');
    const notices: string[] = [];
    await convertTable(file, out, 'arrow', { labels, onNotice: (n) => notices.push(n) });
    const c = await Cohort.open(out);
    assert.deepEqual(c.classes, ['normal', 'tumor']);
    assert.deepEqual(
      c.bags.map((b) => [b.id, b.label, b.patientId]),
      [
        ['b', 1, 'P'],
        ['a', 0, 'P'],
        ['c', 1, 'Q'],
      ],
    );
    assert.ok(notices.some((n) => /case_id/.test(n)));
    await c.close();
  });

  it('convert csv takes case_id as the patient when there is no patient_id', async () => {
    const csv = text(dir, 'i.csv', 'bag_id,bag_label,case_id,f1\na,0,P,1\nb,1,P,2\nc,1,Q,3\n');
    await convertCsv(csv, path.join(dir, 'i.arrow'));
    const c = await Cohort.open(path.join(dir, 'i.arrow'));
    assert.deepEqual(
      c.bags.map((b) => b.patientId),
      ['P', 'P', 'Q'],
    );
    await c.close();
  });
});
