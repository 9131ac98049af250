import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Cohort, MilkitDataError } from '../../../src/data';
import { convertCsv, splitCsvLine } from '../../../src/data/convert';
import { tempDir } from '../../helpers/tmp';

async function rejects(p: Promise<unknown>, ...parts: string[]): Promise<void> {
  await assert.rejects(p, (e: unknown) => {
    assert.ok(e instanceof MilkitDataError, `expected MilkitDataError, got ${e}`);
    for (const part of parts) assert.ok(e.message.includes(part), `"${e.message}" lacks "${part}"`);
    return true;
  });
}

describe('data/convert/csv: MUSK-style instance CSV → cohort', () => {
  const dir = tempDir();
  const write = (name: string, text: string) => {
    const file = path.join(dir, name);
    fs.writeFileSync(file, text);
    return file;
  };

  it('converts bags, labels, patients, instance labels and coordinates', async () => {
    const file = write(
      'ok.csv',
      [
        '\uFEFFbag_id,bag_label,patient_id,instance_label,x,y,f1,f2,f3',
        'a,1,P1,0,0,0,1,2,3',
        'a,1,P1,1,256,0,4,5,6',
        '',
        'b,0,P1,0,0,256,-1.5,2e-3,"7"',
        'c,1,P2,1,10,20,0,0,0',
      ].join('\r\n'),
    );
    const done: number[] = [];
    const summary = await convertCsv(file, path.join(dir, 'ok.arrow'), { onBag: (n) => done.push(n) });
    assert.deepEqual([summary.bags, summary.instances, summary.dim], [3, 4, 3]);
    assert.deepEqual(done, [1, 2, 3]);
    const c = await Cohort.open(path.join(dir, 'ok.arrow'));
    try {
      assert.deepEqual(
        c.bags.map((b) => [b.id, b.label, b.patientId, b.numInstances]),
        [
          ['a', 1, 'P1', 2],
          ['b', 0, 'P1', 1],
          ['c', 1, 'P2', 1],
        ],
      );
      const a = await c.bag('a');
      assert.deepEqual(Array.from(a.features), [1, 2, 3, 4, 5, 6]);
      assert.deepEqual(Array.from(a.coords!), [0, 0, 256, 0]);
      assert.deepEqual(Array.from(a.instanceLabels!), [0, 1]);
      assert.deepEqual(Array.from((await c.bag('b')).features), [-1.5, Math.fround(2e-3), 7]);
      assert.equal(c.metadata.get('milkit.converter'), 'csv');
    } finally {
      await c.close();
    }
  });

  it('uses the bag id as patient when there is no patient column, and honours renamed columns', async () => {
    const file = write('named.csv', 'slide,y_true,f1\ns1,0,1\ns1,0,2\ns2,1,3\n');
    await convertCsv(file, path.join(dir, 'named.arrow'), { bagColumn: 'slide', labelColumn: 'y_true' });
    const c = await Cohort.open(path.join(dir, 'named.arrow'));
    assert.deepEqual(
      c.bags.map((b) => [b.id, b.patientId, b.label]),
      [
        ['s1', 's1', 0],
        ['s2', 's2', 1],
      ],
    );
    await c.close();
  });

  it('splits quoted cells', () => {
    assert.deepEqual(splitCsvLine('a, "b,c" ,"say ""hi""",'), ['a', 'b,c', 'say "hi"', '']);
    assert.throws(() => splitCsvLine('a,"open', 'q.csv', 3), /q\.csv.*line 3: unterminated/);
  });

  describe('bad input names file, line, bag and column', () => {
    const header = 'bag_id,bag_label,f1,f2';
    const bad = (name: string, body: string) => write(name, `${header}\n${body}\n`);
    const out = () => path.join(dir, 'bad.arrow');
    it('a non-numeric feature', () =>
      rejects(
        convertCsv(bad('nn.csv', 'a,1,1,2\nb,0,3,abc'), out()),
        'nn.csv',
        'bag "b"',
        'field "f2"',
        'line 3',
        'non-numeric value "abc"',
      ));
    it('a non-finite feature', () =>
      rejects(
        convertCsv(bad('inf.csv', 'a,1,Infinity,2'), out()),
        'inf.csv',
        'bag "a"',
        'field "f1"',
        'line 2',
        'non-finite',
      ));
    it('an empty feature cell', () =>
      rejects(convertCsv(bad('empty.csv', 'a,1,,2'), out()), 'empty.csv', 'field "f1"', 'empty value'));
    it('a ragged row', () =>
      rejects(
        convertCsv(bad('rag.csv', 'a,1,1,2\na,1,1'), out()),
        'rag.csv',
        'bag "a"',
        'line 3',
        'ragged row with 3 cells',
        'header has 4',
      ));
    it('a missing label', () =>
      rejects(
        convertCsv(bad('nolab.csv', 'a,,1,2'), out()),
        'nolab.csv',
        'bag "a"',
        'field "bag_label"',
        'line 2',
        'missing label',
      ));
    it('a non-integer label', () =>
      rejects(convertCsv(bad('frac.csv', 'a,0.5,1,2'), out()), 'bag "a"', 'field "label"', 'non-negative integer'));
    it('a label that changes inside a bag', () =>
      rejects(
        convertCsv(bad('two.csv', 'a,1,1,2\na,0,1,2'), out()),
        'two.csv',
        'bag "a"',
        'line 3',
        'differs from 1 on line 2',
      ));
    it('non-contiguous bag rows', () =>
      rejects(
        convertCsv(bad('split.csv', 'a,1,1,2\nb,1,1,2\na,1,1,2'), out()),
        'split.csv',
        'bag "a"',
        'line 4',
        'not contiguous',
      ));
    it('no label column', () =>
      rejects(convertCsv(write('nocol.csv', 'bag_id,f1\na,1\n'), out()), 'nocol.csv', 'field "label"', 'line 1'));
    it('no bag id column', () =>
      rejects(convertCsv(write('nobag.csv', 'id,bag_label,f1\na,1,1\n'), out()), 'nobag.csv', 'field "bag_id"'));
    it('a requested column that does not exist', () =>
      rejects(
        convertCsv(bad('req.csv', 'a,1,1,2'), out(), { patientColumn: 'patient' }),
        'req.csv',
        'field "patient"',
      ));
    it('an empty file and a missing file', async () => {
      await rejects(convertCsv(write('blank.csv', ''), out()), 'blank.csv', 'empty file');
      await rejects(convertCsv(path.join(dir, 'nope.csv'), out()), 'nope.csv', 'not found');
    });
    it('a folder instead of a file', () => rejects(convertCsv(dir, out()), dir, 'is a folder', 'give the path'));
    it('leaves no partial cohort behind', () => assert.ok(!fs.existsSync(out())));
  });
});
