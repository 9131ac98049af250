/**
 * experiments/mhim-wsi.ts end to end on its small documented setting (2 seeds, 3 epochs, bags of
 * 20–40 digits, 6 train / 6 validation / 6 test bags): the table has one row per setting over the same
 * seeds, every run selected its epoch on the validation bags (never the test bags), and a work
 * folder built with other data options is refused. (That a teacher loads the baseline of its own
 * fold and seed is tested in mhim.test.ts, on the same `modelFor`.)
 */
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { readReproduction } from 'milkit';
import { runExperiment } from '../../experiments/common/runner';
import { SETTINGS, experiment } from '../../experiments/mhim-wsi';
import { tempDir } from '../helpers/tmp';

const SMALL = [
  ...['--seeds', '2', '--epochs', '3', '--min-epochs', '2', '--patience', '1'],
  ...['--train-bags', '6', '--val-bags', '6', '--test-bags', '6'],
  ...['--min-bag-size', '20', '--max-bag-size', '40', '--project-dim', '8'],
];

describe('experiments/mhim-wsi: AB-MIL vs MHIM-v1/v2 on WSI-like MNIST bags', function () {
  this.timeout(600_000);
  const dir = tempDir();
  const out = path.join(dir, 'out');
  const results = path.join(dir, 'results');

  it('writes one row per setting over the same seeds, every run selected on the validation bags', async () => {
    const written = await runExperiment(experiment, ['--out', out, '--results', results, ...SMALL]);
    assert.deepEqual(written, [path.join(results, 'mhim-wsi.json')]);
    const table = readReproduction(written[0]);
    assert.deepEqual(
      table.rows.map((r) => r.label),
      SETTINGS.map((s) => s.label),
    );
    for (const row of table.rows)
      for (const cell of row.cells) assert.equal((cell as number[]).length, 2, `${row.label}: one value per seed`);
    assert.match(table.meta.protocol, /6 train \/ 6 validation bags .*20–40 digits per bag/);
    assert.match(table.meta.command, /reproduce:mhim-wsi .*--seeds 2/);
    for (const s of SETTINGS)
      for (const seed of [0, 1]) {
        const r = JSON.parse(
          fs.readFileSync(path.join(out, 'mhim-wsi', s.key, `rep${seed}-fold0`, 'result.json'), 'utf8'),
        );
        assert.equal(r.selection, 'val', `${s.key} seed ${seed} selects on the validation bags`);
        assert.deepEqual(r.sizes, { train: 6, val: 6, test: 6 });
      }
    const run = JSON.parse(fs.readFileSync(path.join(out, 'mhim-wsi', 'mhim-v2', 'run.json'), 'utf8'));
    assert.equal(run.fingerprint.parts.model.config.mhim.version, 'v2');
  });

  it('refuses a work folder whose data were built with other options', async () => {
    await assert.rejects(
      runExperiment(experiment, ['--out', out, '--results', results, ...SMALL.slice(0, -2), '--project-dim', '16']),
      /the data were built with .*"projectDim":8.*this run asks for .*"projectDim":16.*use another --out/,
    );
  });
});
