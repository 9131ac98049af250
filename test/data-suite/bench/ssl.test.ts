/**
 * The SSL cost benchmark (`npm run bench:ssl`) on real breast tiles at a toy size: it measures
 * every objective and feature extraction, and writes them as a reproduction table.
 */
import { strict as assert } from 'node:assert';
import * as path from 'node:path';
import { readReproduction } from 'milkit';
import { benchSsl } from '../../../bench/ssl';
import { tempDir } from '../../helpers/tmp';
import { sharedData } from '../shared-data';

describe('data-suite/bench: SSL pretraining benchmark', function () {
  this.timeout(300_000);

  it('times each objective per 10,000 patches and writes ssl-bench.{json,md}', async () => {
    sharedData('breast-ucsb');
    const dir = tempDir();
    const out = await benchSsl([
      '--steps',
      '1',
      '--batch-size',
      '8',
      '--width',
      '2',
      '--embed-dim',
      '8',
      '--images',
      '1',
      '--results',
      dir,
    ]);
    assert.ok(out, 'measured');
    assert.equal(out.pretraining.length, 3);
    for (const r of out.pretraining as { cpuSecPer10k: number; secPer10k: number }[]) {
      assert.ok(r.cpuSecPer10k > 0 && r.secPer10k > 0, 'measured, positive');
    }
    assert.ok(out.peakRssMiB > 50 && out.extractSecPer10k > 0);
    const table = readReproduction(path.join(dir, 'ssl-bench.json'));
    assert.deepEqual(
      table.rows.map((r) => r.label),
      [
        'pretraining, contrastive',
        'pretraining, reconstruction',
        'pretraining, both',
        'feature extraction (encoder forward)',
      ],
    );
    assert.equal(table.columns.length, 3);
    assert.match(table.meta.command, /bench:ssl -- --steps 1/);
  });
});
