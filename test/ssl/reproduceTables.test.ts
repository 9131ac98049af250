/**
 * The SSL result tables keep every measured cell: a run over a subset of bag sizes or data sets
 * rewrites the tables over the whole protocol, from the run folder's finished cells or the tables
 * already written. The cells here are small hand-written files of the format `reproduceSsl`
 * writes (the real experiment needs the shared data sets and hours of CPU); `--tables-only` runs
 * only the table assembly.
 */
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { cellSettingsFor, reproduceSsl } from '../../src/ssl/reproduce';
import { finishedCells, labelSizes, mergeRows, previousTable, unionSizes } from '../../src/ssl/reproduceTables';
import { readReproduction, writeReproduction } from '../../src/train/reproduction';
import { tempDir } from '../helpers/tmp';

const METHODS = ['random', 'both', 'contrastive', 'reconstruction', 'e2e'] as const;

/** Finished cells (and the random encoders' probes) of `sizes` in `out`, as `reproduceSsl` writes them; fold values depend on `base`. */
function writeCells(out: string, argv: string[], sizes: number[], base: number): void {
  fs.mkdirSync(path.join(out, 'cells'), { recursive: true });
  for (const dataset of ['mnist', 'colon']) {
    for (const method of METHODS) {
      for (const k of sizes) {
        const v = base + k / 1000;
        const cell = {
          dataset,
          method,
          k,
          settings: cellSettingsFor(argv, method),
          accuracy: [v, v + 0.01],
          f1: [v, v],
          auc: [v, v + 0.02],
          seconds: 1,
          load: [1, 1],
        };
        fs.writeFileSync(path.join(out, 'cells', `${dataset}-${method}-k${k}.json`), JSON.stringify(cell));
      }
    }
    fs.writeFileSync(
      path.join(out, 'cells', `${dataset}-random-probe.json`),
      JSON.stringify({ settings: cellSettingsFor(argv, 'random'), auc: [base, base] }),
    );
  }
}

const labels = (results: string, name: string) =>
  readReproduction(path.join(results, `${name}.json`)).rows.map((r) => r.label);
const rowsOf = (results: string, name: string) => readReproduction(path.join(results, `${name}.json`)).rows;
const row = (results: string, name: string, label: string) => rowsOf(results, name).find((r) => r.label === label);

describe('ssl/reproduceTables: a partial run never erases measured cells', function () {
  this.timeout(60_000);
  const dir = tempDir();
  const settings = ['--folds', '2', '--steps', '3'];
  const full = path.join(dir, 'full');
  writeCells(full, settings, [64, 128, 256], 0.6);

  it('a --bag-sizes or --datasets subset of a finished run folder writes the same full tables', async () => {
    const all = path.join(dir, 'results-all');
    await reproduceSsl(['--tables-only', '--out', full, '--results', all, ...settings]);
    assert.equal(labels(all, 'ssl-bagsize').length, 2 * 3 * 3, 'data sets × sizes × (random, both, e2e)');
    assert.equal(labels(all, 'ssl-objectives').length, 2 * 3 * 4);
    assert.deepEqual(labels(all, 'ssl-probe'), [
      'MNIST-bags: frozen random encoder (no SSL)',
      'colon: frozen random encoder (no SSL)',
    ]);
    for (const subset of [
      ['--bag-sizes', '64'],
      ['--bag-sizes', '256', '--datasets', 'colon'],
      ['--datasets', 'mnist'],
    ]) {
      const results = path.join(dir, `results-${subset.join('')}`);
      await reproduceSsl(['--tables-only', '--out', full, '--results', results, ...settings, ...subset]);
      for (const name of ['ssl-bagsize', 'ssl-objectives', 'ssl-probe'])
        assert.deepEqual(rowsOf(results, name), rowsOf(all, name), `${name} after ${subset.join(' ')}`);
      assert.doesNotMatch(readReproduction(path.join(results, 'ssl-bagsize.json')).caption!, /Not run/);
    }
  });

  it('a size outside the protocol adds rows; the standard sizes stay, and its missing cells are named', async () => {
    const results = path.join(dir, 'results-k32');
    const out = path.join(dir, 'with-k32');
    fs.cpSync(full, out, { recursive: true });
    writeCells(out, settings, [32], 0.6);
    fs.rmSync(path.join(out, 'cells', 'colon-e2e-k32.json'));
    await reproduceSsl(['--tables-only', '--out', out, '--results', results, ...settings, '--bag-sizes', '32']);
    const bagsize = readReproduction(path.join(results, 'ssl-bagsize.json'));
    assert.equal(bagsize.rows.length, 2 * 4 * 3 - 1);
    assert.equal(bagsize.rows[0].label, 'MNIST-bags, K = 32: frozen random encoder (no SSL)');
    assert.match(bagsize.caption!, /Not run \(budget\): colon\/e2e\/K32\.$/);
    // A later run of only K = 64 in the same folder keeps the K = 32 rows (they are finished cells there).
    await reproduceSsl(['--tables-only', '--out', out, '--results', results, ...settings, '--bag-sizes', '64']);
    assert.equal(labels(results, 'ssl-bagsize').length, 2 * 4 * 3 - 1);
  });

  it('a subset measured in a fresh run folder updates its cells and keeps the others from the existing tables', async () => {
    const results = path.join(dir, 'results-merged');
    await reproduceSsl(['--tables-only', '--out', full, '--results', results, ...settings]);
    const before = rowsOf(results, 'ssl-objectives');
    const fresh = path.join(dir, 'fresh');
    writeCells(fresh, settings, [64], 0.7);
    fs.rmSync(path.join(fresh, 'cells', 'mnist-random-probe.json'));
    await reproduceSsl([
      '--tables-only',
      '--out',
      fresh,
      '--results',
      results,
      ...settings,
      '--bag-sizes',
      '64',
      '--datasets',
      'colon',
    ]);
    const after = rowsOf(results, 'ssl-objectives');
    assert.deepEqual(
      after.map((r) => r.label),
      before.map((r) => r.label),
      'same rows, same order',
    );
    for (const [i, r] of after.entries()) {
      const remeasured = r.label.includes('K = 64:');
      assert.deepEqual(
        r.cells[0],
        remeasured ? [0.7 + 64 / 1000, 0.7 + 64 / 1000 + 0.01] : before[i].cells[0],
        r.label,
      );
    }
    assert.deepEqual(
      row(results, 'ssl-probe', 'MNIST-bags: frozen random encoder (no SSL)')!.cells,
      [[0.6, 0.6]],
      'probe kept',
    );
    assert.deepEqual(
      row(results, 'ssl-probe', 'colon: frozen random encoder (no SSL)')!.cells,
      [[0.7, 0.7]],
      'probe re-measured',
    );
    assert.match(
      readReproduction(path.join(results, 'ssl-objectives.json')).meta.protocol,
      /16 row\(s\) not measured in .*fresh kept from the table of/,
    );
  });

  it('refuses to mix rows measured under other settings, and leaves the tables as they were', async () => {
    const results = path.join(dir, 'results-other');
    await reproduceSsl(['--tables-only', '--out', full, '--results', results, ...settings]);
    const before = fs.readFileSync(path.join(results, 'ssl-bagsize.json'), 'utf8');
    const other = [...settings.slice(0, 2), '--steps', '4'];
    const out = path.join(dir, 'other');
    writeCells(out, other, [64], 0.8);
    await assert.rejects(
      reproduceSsl(['--tables-only', '--out', out, '--results', results, ...other, '--bag-sizes', '64']),
      /ssl-bagsize\.json holds rows measured under other settings/,
    );
    assert.equal(fs.readFileSync(path.join(results, 'ssl-bagsize.json'), 'utf8'), before);
    // Re-measuring every row under the new settings replaces the table.
    writeCells(out, other, [128, 256], 0.8);
    await reproduceSsl(['--tables-only', '--out', out, '--results', results, ...other]);
    assert.match(readReproduction(path.join(results, 'ssl-bagsize.json')).meta.protocol, /SSL: 4 Adam steps/);
  });

  it('mergeRows: fresh cells win, previous rows fill the gaps or are appended, unmeasured rows are named', () => {
    const results = path.join(dir, 'merge');
    writeReproduction(
      results,
      't',
      {
        columns: ['x'],
        rows: [
          { label: 'a, K = 8: m', cells: [[1]] },
          { label: 'b, K = 16: m', cells: [[2]] },
          { label: 'old', cells: [[3]] },
        ],
      },
      { command: 'c', protocol: 'P. budget' },
    );
    const previous = previousTable(results, 't');
    assert.deepEqual(labelSizes(previous!.rows), [8, 16]);
    const planned = [
      { id: 'a', label: 'a, K = 8: m', cells: [[9]] },
      { id: 'b', label: 'b, K = 16: m' },
      { id: 'c', label: 'c' },
    ];
    const merged = mergeRows(planned, previous, 'P.', 't.json');
    assert.deepEqual(merged.rows, [
      { label: 'a, K = 8: m', cells: [[9]] },
      { label: 'b, K = 16: m', cells: [[2]] },
      { label: 'old', cells: [[3]] },
    ]);
    assert.deepEqual(merged.kept, ['b, K = 16: m', 'old']);
    assert.deepEqual(merged.missing, ['c']);
    assert.throws(
      () => mergeRows(planned, previous, 'Q.', 't.json'),
      /t\.json holds rows measured under other settings .*b, K = 16: m; old/,
    );
    assert.deepEqual(
      mergeRows(
        [
          { id: 'a', label: 'b, K = 16: m', cells: [[5]] },
          { id: 'o', label: 'old', cells: [[6]] },
          { id: 'x', label: 'a, K = 8: m', cells: [[7]] },
        ],
        previous,
        'Q.',
        't.json',
      ).kept,
      [],
      'all re-measured: other settings are fine',
    );
    assert.equal(previousTable(results, 'absent'), undefined);
    assert.deepEqual(unionSizes([256, 64], [32, 64], []), [32, 64, 256]);
    assert.deepEqual(
      finishedCells(full)
        .filter((c) => c.dataset === 'colon' && c.method === 'e2e')
        .map((c) => c.k)
        .sort((a, b) => a - b),
      [64, 128, 256],
    );
  });
});
