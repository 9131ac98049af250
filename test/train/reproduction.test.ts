import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { readReproduction, writeReproduction } from '../../src/train/reproduction';
import { tempDir } from '../helpers/tmp';

describe('train/reproduction', () => {
  it('writes a results table as JSON and Markdown with its protocol and published numbers', () => {
    const dir = tempDir();
    const file = writeReproduction(
      dir,
      'musk1-demo',
      { title: 'MUSK1', columns: ['accuracy'], rows: [{ label: 'AB-MIL', cells: [[0.8, 0.9, 1.0]] }] },
      {
        command: 'scripts/x.sh',
        protocol: '5 × 10-fold',
        published: { source: 'Ilse 2018', values: { 'AB-MIL': { accuracy: 0.892 } } },
      },
    );
    const r = readReproduction(file);
    assert.equal(r.rows[0]!.label, 'AB-MIL');
    assert.equal(r.meta.protocol, '5 × 10-fold');
    assert.match(r.meta.date, /^\d{4}-\d\d-\d\d$/);
    const md = fs.readFileSync(path.join(dir, 'musk1-demo.md'), 'utf8');
    assert.match(md, /\| AB-MIL \| 0\.900 ± 0\.100 \/ 0\.892 \|/);
    assert.match(md, /Command: `scripts\/x\.sh`/);
  });

  it('refuses a malformed table before writing anything', () => {
    const dir = tempDir();
    assert.throws(
      () =>
        writeReproduction(
          dir,
          'bad',
          { columns: ['a', 'b'], rows: [{ label: 'x', cells: [[1]] }] },
          { command: 'c', protocol: 'p' },
        ),
      /1 cells for 2 columns/,
    );
    assert.deepEqual(fs.readdirSync(dir), []);
  });
});
