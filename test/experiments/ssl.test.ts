/**
 * The SSL result tables keep every measured cell: a run over a subset of bag sizes or data sets
 * rewrites the tables over the whole protocol, from the run folder's finished cells or the tables
 * already written. The cells (and the encoders' probes) here are small hand-written files of the
 * format experiments/ssl.ts writes (the real experiment needs the shared data sets and hours of
 * CPU): every job is finished, so a run only assembles the tables.
 */
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { readReproduction, writeReproduction } from 'milkit';
import { cellSettingsFor, experiment, finishedCells, labelSizes, unionSizes } from '../../experiments/ssl';
import { readTable, runExperiment } from '../../experiments/common/runner';
import { tempDir } from '../helpers/tmp';

const reproduceSsl = (argv: string[]) => runExperiment(experiment, argv);

const METHODS = ['random', 'both', 'contrastive', 'reconstruction', 'e2e'] as const;

/**
 * Finished cells (and the encoders' probes) of `sizes` in `out`, as experiments/ssl.ts writes them; fold values depend
 * on `base`.
 */
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
    for (const method of ['random', 'both', 'contrastive', 'reconstruction'] as const)
      fs.writeFileSync(
        path.join(out, 'cells', `${dataset}-${method}-probe.json`),
        JSON.stringify({ settings: cellSettingsFor(argv, method), auc: [base, base] }),
      );
  }
}

const labels = (results: string, name: string) =>
  readReproduction(path.join(results, `${name}.json`)).rows.map((r) => r.label);
const rowsOf = (results: string, name: string) => readReproduction(path.join(results, `${name}.json`)).rows;
const row = (results: string, name: string, label: string) => rowsOf(results, name).find((r) => r.label === label);

describe('experiments/ssl: a partial run never erases measured cells', function () {
  this.timeout(60_000);
  const dir = tempDir();
  const settings = ['--folds', '2', '--steps', '3'];
  const full = path.join(dir, 'full');
  writeCells(full, settings, [64, 128, 256], 0.6);

  it('an --only subset (bag sizes, data sets) of a finished run folder writes the same full tables', async () => {
    const all = path.join(dir, 'results-all');
    const files = await reproduceSsl(['--out', full, '--results', all, ...settings]);
    assert.deepEqual(
      files.map((f) => path.basename(f)),
      ['ssl-bagsize.json', 'ssl-objectives.json', 'ssl-probe.json'],
    );
    assert.equal(labels(all, 'ssl-bagsize').length, 2 * 3 * 3, 'data sets × sizes × (random, both, e2e)');
    assert.equal(labels(all, 'ssl-objectives').length, 2 * 3 * 4);
    assert.equal(labels(all, 'ssl-probe').length, 2 * 4, 'data sets × frozen encoders');
    assert.equal(labels(all, 'ssl-probe')[0], 'MNIST-bags: frozen random encoder (no SSL)');
    for (const subset of [['*/*/K64'], ['colon/*/K256'], ['mnist']]) {
      const results = path.join(dir, `results-${subset.join('').replace(/\W/g, '')}`);
      await reproduceSsl(['--out', full, '--results', results, ...settings, '--only', ...subset]);
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
    await reproduceSsl(['--out', out, '--results', results, ...settings, '--bag-sizes', '32', '--only', 'mnist/*/K32']);
    const bagsize = readReproduction(path.join(results, 'ssl-bagsize.json'));
    assert.equal(bagsize.rows.length, 2 * 4 * 3 - 1);
    assert.equal(bagsize.rows[0].label, 'MNIST-bags, K = 32: frozen random encoder (no SSL)');
    assert.match(bagsize.caption!, /Not run \(budget\): colon\/e2e\/K32\.$/);
    // A later run of only K = 64 in the same folder keeps the K = 32 rows (they are finished cells there).
    await reproduceSsl(['--out', out, '--results', results, ...settings, '--only', '*/*/K64']);
    assert.equal(labels(results, 'ssl-bagsize').length, 2 * 4 * 3 - 1);
  });

  it(
    'a subset measured in a fresh run folder updates its ' + 'cells and keeps the others from the existing tables',
    async () => {
      const results = path.join(dir, 'results-merged');
      await reproduceSsl(['--out', full, '--results', results, ...settings]);
      const before = rowsOf(results, 'ssl-objectives');
      const fresh = path.join(dir, 'fresh');
      writeCells(fresh, settings, [64], 0.7);
      fs.rmSync(path.join(fresh, 'cells', 'mnist-random-probe.json'));
      await reproduceSsl(['--out', fresh, '--results', results, ...settings, '--only', 'colon/*/K64']);
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
    },
  );

  it('refuses to mix rows measured under other settings, and leaves the tables as they were', async () => {
    const results = path.join(dir, 'results-other');
    await reproduceSsl(['--out', full, '--results', results, ...settings]);
    const before = fs.readFileSync(path.join(results, 'ssl-bagsize.json'), 'utf8');
    const other = [...settings.slice(0, 2), '--steps', '4'];
    const out = path.join(dir, 'other');
    writeCells(out, other, [64], 0.8);
    await assert.rejects(
      reproduceSsl(['--out', out, '--results', results, ...other, '--only', '*/*/K64']),
      /ssl-bagsize\.json holds rows measured under other settings/,
    );
    assert.equal(fs.readFileSync(path.join(results, 'ssl-bagsize.json'), 'utf8'), before);
    // Re-measuring every row under the new settings replaces the table.
    writeCells(out, other, [128, 256], 0.8);
    await reproduceSsl(['--out', out, '--results', results, ...other]);
    assert.match(readReproduction(path.join(results, 'ssl-bagsize.json')).meta.protocol, /SSL: 4 Adam steps/);
  });

  it('--tables-only rewrites the Markdown from the JSON; --datasets without --table is refused', async () => {
    const results = path.join(dir, 'results-md');
    await reproduceSsl(['--out', full, '--results', results, ...settings]);
    const md = path.join(results, 'ssl-probe.md');
    const before = fs.readFileSync(md, 'utf8');
    fs.writeFileSync(md, 'stale');
    await reproduceSsl(['--out', path.join(dir, 'absent'), '--results', results, ...settings, '--tables-only']);
    assert.equal(fs.readFileSync(md, 'utf8'), before);
    await assert.rejects(reproduceSsl(['--out', full, '--results', results, '--datasets', 'mnist']), /use --only/);
  });

  it('bag sizes named in labels, size unions and finished cells by name', () => {
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
    assert.deepEqual(labelSizes(readTable(results, 't')!.rows), [8, 16]);
    assert.equal(readTable(results, 'absent'), undefined);
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
