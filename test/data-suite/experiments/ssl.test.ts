/**
 * The SSL experiments (experiments/ssl.ts) on real data at toy settings: colon bag plans from the
 * real patches, and the runner end to end (MNIST digits → SSL encoders / end-to-end conv MIL →
 * AB-MIL cross-validation → reproduction tables), including resume from finished cells.
 */
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { readReproduction } from 'milkit';
import { colonExperimentData } from '../../../experiments/common/sslData';
import { experiment } from '../../../experiments/ssl';
import { runExperiment } from '../../../experiments/common/runner';
import { tempDir } from '../../helpers/tmp';

const reproduceSsl = (argv: string[]) => runExperiment(experiment, argv);
import { sharedData } from '../shared-data';

describe('data-suite/experiments/ssl: SSL experiments (toy settings)', function () {
  this.timeout(600_000);
  const dir = tempDir();

  it("colon: one pool of 20,280 patches, 98 patient bags of min(n, K) of the patient's own patches", async () => {
    const data = await colonExperimentData({ dir: sharedData('colon-crchp'), seed: 0 });
    assert.deepEqual([data.pool.n, data.pool.size, data.channels], [20280, 27, 3]);
    const all = data.bags(1e9);
    assert.equal(all.length, 98);
    assert.equal(all.filter((b) => b.label === 1).length, 51);
    const k64 = data.bags(64);
    let positivesWithoutWitness = 0;
    for (const [b, plan] of k64.entries()) {
      const own = new Set(all[b].members);
      assert.equal(plan.members.length, Math.min(64, own.size));
      assert.ok(
        plan.members.every((m) => own.has(m)),
        `${plan.id}: only its own patches`,
      );
      assert.equal(new Set(plan.members).size, plan.members.length, 'no patch twice');
      assert.equal(plan.label, all[b].label);
      // The bag label is the patient's (any cancerous nucleus among ALL its patches).
      assert.equal(all[b].label, all[b].members.some((m) => data.instanceLabels[m] === 1) ? 1 : 0);
      if (plan.label === 1 && !plan.members.some((m) => data.instanceLabels[m] === 1)) positivesWithoutWitness++;
    }
    // Measured: subsampling to 64 keeps at least one cancerous nucleus in every positive bag.
    assert.equal(positivesWithoutWitness, 0);
    assert.deepEqual(data.bags(64), k64, 'seeded');
  });

  it('random / SSL / end-to-end rows into the tables, resumable', async () => {
    const out = path.join(dir, 'work');
    const results = path.join(dir, 'results');
    const argv = [
      '--out',
      out,
      '--results',
      results,
      '--only',
      'mnist/*/K8',
      '--bag-sizes',
      '8',
      '--folds',
      '2',
      '--steps',
      '2',
      '--batch-size',
      '8',
      '--width',
      '2',
      '--embed-dim',
      '8',
      '--head-dim',
      '8',
      '--epochs',
      '1',
      '--e2e-epochs',
      '1',
      '--mnist-bags',
      '8',
      '--mnist-pool',
      '300',
    ];
    const files = await reproduceSsl(argv);
    assert.deepEqual(
      files.map((f) => path.basename(f)),
      ['ssl-bagsize.json', 'ssl-objectives.json', 'ssl-probe.json'],
    );
    // One linear-probe instance AUC per half for each frozen encoder.
    const probe = readReproduction(path.join(results, 'ssl-probe.json'));
    assert.equal(probe.rows.length, 4);
    for (const row of probe.rows)
      assert.ok(Array.from(row.cells[0] as ArrayLike<number>).every((a) => a >= 0 && a <= 1));
    const bagsize = readReproduction(path.join(results, 'ssl-bagsize.json'));
    assert.deepEqual(
      bagsize.rows.map((r) => r.label),
      [
        'MNIST-bags, K = 8: frozen random encoder (no SSL)',
        'MNIST-bags, K = 8: SSL contrastive + reconstruction',
        'MNIST-bags, K = 8: end to end from a random encoder (no SSL)',
      ],
    );
    for (const row of bagsize.rows)
      for (const cell of row.cells) assert.equal((cell as ArrayLike<number>).length, 2, 'one value per fold');
    const objectives = readReproduction(path.join(results, 'ssl-objectives.json'));
    assert.equal(objectives.rows.length, 4);
    assert.match(bagsize.meta.protocol, /2 Adam steps/);
    // The tables cover the whole protocol (both data sets, K = 64 / 128 / 256 and the K asked for), naming what is not
    // measured.
    assert.match(
      bagsize.caption!,
      /Not run \(budget\): mnist\/random\/K64, .*mnist\/e2e\/K256, colon\/random\/K8, .*colon\/e2e\/K256\.$/,
    );
    assert.ok(
      fs
        .readFileSync(path.join(results, 'ssl-bagsize.md'), 'utf8')
        .includes('| MNIST-bags, K = 8: frozen random encoder (no SSL) |'),
    );
    // Everything is finished: a second run only reassembles (same numbers), and other settings are refused.
    const t0 = Date.now();
    await reproduceSsl(argv);
    assert.ok(Date.now() - t0 < 30_000);
    assert.deepEqual(readReproduction(path.join(results, 'ssl-bagsize.json')).rows, bagsize.rows);
    await assert.rejects(reproduceSsl([...argv, '--seed', '1']), /computed with other settings/);
  });

  it(
    '--table: one extra table for another setting, with each ' +
      "encoder's probe AUC, leaving the standard tables alone",
    async () => {
      const results = path.join(dir, 'results');
      const before = fs.readFileSync(path.join(results, 'ssl-bagsize.json'), 'utf8');
      const argv = [
        '--out',
        path.join(dir, 'extra'),
        '--results',
        results,
        '--table',
        'ssl-extra',
        '--datasets',
        'mnist',
        '--methods',
        'random,contrastive',
        '--bag-sizes',
        '8',
        '--folds',
        '2',
        '--steps',
        '3',
        '--batch-size',
        '8',
        '--width',
        '2',
        '--embed-dim',
        '8',
        '--head-dim',
        '8',
        '--epochs',
        '1',
        '--mnist-bags',
        '12',
        '--mnist-pool',
        '300',
      ];
      const files = await reproduceSsl(argv);
      assert.deepEqual(
        files.map((f) => path.basename(f)),
        ['ssl-extra.json'],
      );
      const extra = readReproduction(files[0]);
      assert.deepEqual(extra.columns, ['accuracy', 'F1', 'AUC', 'instance probe AUC']);
      assert.deepEqual(
        extra.rows.map((r) => r.label),
        ['MNIST-bags, K = 8: frozen random encoder (no SSL)', 'MNIST-bags, K = 8: SSL contrastive (3 steps)'],
      );
      for (const row of extra.rows) {
        assert.deepEqual(
          row.cells.map((c) => (c as ArrayLike<number>).length),
          [2, 2, 2, 2],
          'one value per fold, one probe AUC per half',
        );
      }
      assert.match(extra.title!, /12 MNIST bags, 3 SSL steps/);
      assert.match(extra.meta.command, /--table ssl-extra .*--mnist-bags 12/);
      assert.equal(
        fs.readFileSync(path.join(results, 'ssl-bagsize.json'), 'utf8'),
        before,
        'standard tables untouched',
      );
    },
  );
});
