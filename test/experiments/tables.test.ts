/**
 * The tables of the MUSK1, MNIST-bags, colon and catalogue runners, assembled from hand-written run
 * folders in the layout their jobs leave (`rep<r>-fold<f>/result.json` as the trainer writes it):
 * what a cell holds, how a partial run reads, and that re-measuring some cells keeps the others.
 * The protocols themselves are the commands (`npm run reproduce:<name>`), not tests.
 */
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import {
  Cohort,
  type Split,
  type TrainManifest,
  type Unit,
  listModels,
  planSweep,
  readReproduction,
  stratifiedKFold,
  toSplitFile,
} from 'milkit';
import { catalogueProtocol, catalogueSweepPlan, experiment as catalogue } from '../../experiments/catalogue';
import { experiment as colon } from '../../experiments/colon';
import { contextOf } from '../../experiments/common/runner';
import { experiment as mnistBags } from '../../experiments/mnist-bags';
import { experiment as musk1 } from '../../experiments/musk1';
import { tempDir } from '../helpers/tmp';
import { writeToyCohort } from '../train/fixtures';

/** A finished fold as the trainer writes it. */
function fold(dir: string, repeat: number, f: number, metrics: Record<string, number>): void {
  fs.mkdirSync(path.join(dir, `rep${repeat}-fold${f}`), { recursive: true });
  fs.writeFileSync(
    path.join(dir, `rep${repeat}-fold${f}`, 'result.json'),
    JSON.stringify({ repeat, fold: f, metrics }),
  );
}

const REPO = path.resolve(__dirname, '..', '..');
const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;

describe('experiments: the tables of musk1, mnist-bags, colon and catalogue', function () {
  this.timeout(60_000);
  const dir = tempDir();

  it('musk1: a cell per metric holds the repetition means; unfinished repetitions are named in the label', async () => {
    const out = path.join(dir, 'musk1');
    const results = path.join(dir, 'results-musk1');
    for (let r = 0; r < 5; r++)
      for (let f = 0; f < 10; f++) fold(path.join(out, 'abmil'), r, f, { accuracy: 0.5 + r / 8, auc: 0.9, f1: 0.7 });
    for (let f = 0; f < 10; f++) fold(path.join(out, 'gabmil'), 0, f, { accuracy: f < 5 ? 1 : 0.5, auc: 0.9, f1: 0.7 });
    fold(path.join(out, 'gabmil'), 1, 0, { accuracy: 1, auc: 1, f1: 1 }); // repetition 1 not finished
    const [file] = await musk1.assemble(contextOf(musk1, ['--out', out, '--results', results]));
    const t = readReproduction(file);
    assert.deepEqual(
      t.rows.map((r) => r.label),
      ['AB-MIL', 'gated AB-MIL (1 of 5 repetitions so far)'],
    );
    assert.deepEqual(t.rows[0].cells[0], [0.5, 0.625, 0.75, 0.875, 1]);
    assert.deepEqual(t.rows[1].cells[0], [0.75]);
    assert.match(
      t.caption!,
      /AB-MIL accuracy over its 50 folds: 0\.750; gated AB-MIL accuracy over its 10 folds: 0\.750/,
    );
    assert.deepEqual(t.meta.published!.values['AB-MIL'], { accuracy: 0.892 });
    // Read from the model table, the published numbers are those of the committed table.
    const committed = readReproduction(path.join(REPO, 'results', 'musk1.json')).meta.published!;
    assert.equal(t.meta.published!.source, committed.source);
    assert.deepEqual(t.meta.published!.values['AB-MIL'], committed.values['AB-MIL']);
    assert.equal(t.meta.command, `npm run reproduce:musk1 -- --out ${out}`);
  });

  it('mnist-bags: a cell lists the finished repetitions; one re-measured cell keeps every other', async () => {
    const out = path.join(dir, 'mnist');
    const results = path.join(dir, 'results-mnist');
    const argv = ['--results', results, '--sizes', '50,100', '--reps', '2', '--epochs', '20'];
    for (const m of ['attention', 'gated'])
      for (const n of [50, 100])
        for (const r of [1, 2])
          if (!(m === 'gated' && n === 100 && r === 2))
            fold(path.join(out, `${m}-${n}-r${r}`), 0, 0, { auc: (n === 50 ? 0.5 : 0.25) + r / 8 });
    const [file] = await mnistBags.assemble(contextOf(mnistBags, ['--out', out, ...argv]));
    const t = readReproduction(file);
    assert.deepEqual(t.columns, ['50 bags', '100 bags']);
    assert.deepEqual(t.rows[1].cells, [[0.625, 0.75], [0.375]]);
    assert.match(t.caption!, /50 bags 2, 100 bags 1; 1000 test bags$/);
    assert.deepEqual(t.meta.published!.values.attention, { '50 bags': 0.914, '100 bags': 0.963 });
    assert.equal(t.meta.command, `npm run reproduce:mnist-bags -- --out ${out} --sizes 50,100 --reps 2 --epochs 20`);

    // attention/50 re-measured in a fresh folder: that cell changes, the other three are kept.
    const fresh = path.join(dir, 'mnist-fresh');
    for (const r of [1, 2]) fold(path.join(fresh, `attention-50-r${r}`), 0, 0, { auc: 0.5 });
    await mnistBags.assemble(contextOf(mnistBags, ['--out', fresh, ...argv]));
    const after = readReproduction(file);
    assert.deepEqual(after.rows[0].cells, [[0.5, 0.5], t.rows[0].cells[1]]);
    assert.deepEqual(after.rows[1].cells, t.rows[1].cells);
    assert.match(after.meta.protocol, /2 row\(s\) not measured in .*mnist-fresh kept from the table of/);
  });

  it('colon: one value per repetition (its 5-fold mean), or per fold with one repetition', async () => {
    const out = path.join(dir, 'colon');
    const results = path.join(dir, 'results-colon');
    const folds = (reps: number) =>
      Object.fromEntries(
        Array.from({ length: reps * 5 }, (_, i) => [
          `rep${Math.floor(i / 5)}-fold${i % 5}`,
          { accuracy: 0.5 + (i % 5) / 8, auc: 0.9, instanceAuc: 0.5 + Math.floor(i / 5) / 8 },
        ]),
      );
    for (const row of ['attention', 'gated']) {
      fs.mkdirSync(path.join(out, row), { recursive: true });
      fs.writeFileSync(path.join(out, row, 'colon-row.json'), JSON.stringify({ folds: folds(2) }));
    }
    const [file] = await colon.assemble(contextOf(colon, ['--out', out, '--results', results, '--reps', '2']));
    const t = readReproduction(file);
    assert.deepEqual(
      t.rows.map((r) => r.label),
      ['attention', 'gated'],
    );
    assert.deepEqual(t.rows[0].cells[2], [0.5, 0.625]);
    assert.ok(Math.abs((t.rows[0].cells[0] as number[])[0] - mean([0.5, 0.625, 0.75, 0.875, 1])) < 1e-12);
    assert.match(t.caption!, /^mean ± sd over 2 repetitions of 5-fold CV/);
    assert.deepEqual(t.meta.published, readReproduction(path.join(REPO, 'results', 'colon.json')).meta.published);
    // One repetition: the table is by fold; it may not keep cells measured with two.
    const one = path.join(dir, 'colon-one');
    fs.mkdirSync(path.join(one, 'attention'), { recursive: true });
    fs.writeFileSync(path.join(one, 'attention', 'colon-row.json'), JSON.stringify({ folds: folds(1) }));
    await assert.rejects(
      Promise.resolve().then(() =>
        colon.assemble(contextOf(colon, ['--out', one, '--results', results, '--reps', '1'])),
      ),
      /colon\.json holds rows measured under other settings .*\(gated\)/,
    );
  });

  it('catalogue: a row per registered model, empty until measured; an image model has no MUSK1 cell', async () => {
    // The runner's own steps on small toy cohorts: a plan (one MUSK1 repetition, two MNIST-bags
    // draws, three models), its sweep, and unit results as `milkit sweep run` writes them.
    const out = path.join(dir, 'catalogue');
    const results = path.join(dir, 'results-catalogue');
    fs.mkdirSync(out, { recursive: true });
    const cohort = async (name: string, dim: number, splits: (bags: Cohort['bags']) => Split[][]) => {
      const file = await writeToyCohort(out, { name, dim });
      const opened = await Cohort.open(file);
      const bags = opened.bags;
      await opened.close();
      const ids = bags.map((b) => b.id);
      fs.writeFileSync(file.replace(/\.arrow$/, '.splits.json'), JSON.stringify(toSplitFile(splits(bags), ids)));
    };
    await cohort('musk1', 6, (bags) => [stratifiedKFold(bags, { k: 10, seed: 1 })]);
    for (const s of [1, 2])
      await cohort(`mnist-bags-100-seed${s}`, 28 * 28, (bags) => [
        [{ train: bags.map((_, i) => i).slice(0, 16), test: bags.map((_, i) => i).slice(16) }],
      ]);
    const planFile = path.join(dir, 'catalogue.plan.yaml');
    fs.writeFileSync(
      planFile,
      [
        'name: catalogue',
        'epochs: 20',
        'cohorts:',
        '  - { path: musk1.arrow, splits: musk1.splits.json, repeats: 1, seeds: [2021], standardize: true }',
        '  - { path: mnist-bags-100-seed1.arrow, name: mnist-bags, splits: mnist-bags-100-seed1.splits.json }',
        '  - { path: mnist-bags-100-seed2.arrow, name: mnist-bags, splits: mnist-bags-100-seed2.splits.json }',
        'models: [{ model: abmil }, { model: gabmil }, { model: image-mil, cohorts: [mnist-bags] }]',
      ].join('\n'),
    );
    const folder = await planSweep(catalogueSweepPlan(planFile, out), path.join(out, 'sweep'));
    const manifest = folder.manifest() as TrainManifest;
    const finish = (config: string, cohort: number, metrics: (u: Unit) => Record<string, number>) => {
      for (const u of manifest.units.filter((x) => x.config === config && x.cohort === cohort)) {
        fs.mkdirSync(folder.unitDir(u), { recursive: true });
        const name = manifest.plan.cohorts[u.cohort].name;
        fs.writeFileSync(folder.resultPath(u), JSON.stringify({ unit: u, cohort: name, metrics: metrics(u) }));
      }
    };
    finish('c0', 0, (u) => ({ accuracy: u.fold < 8 ? 1 : 0 }));
    for (const c of ['c0', 'c2']) for (const k of [1, 2]) finish(c, k, () => ({ auc: 0.5 + k / 8 }));
    finish('c1', 1, () => ({ auc: 0.9 })); // unfinished: no cell yet
    const argv = ['--out', out, '--results', results, '--plan', planFile];
    const [file] = await catalogue.assemble(contextOf(catalogue, argv));
    const t = readReproduction(file);
    assert.deepEqual(
      t.rows.map((r) => r.label),
      listModels().map((m) => m.name),
    );
    const row = (label: string) => t.rows.find((r) => r.label === label)!;
    assert.deepEqual(row('abmil').cells, [
      [1, 1, 1, 1, 1, 1, 1, 1, 0, 0],
      [0.625, 0.75],
    ]);
    assert.deepEqual(row('image-mil').cells, [null, [0.625, 0.75]]);
    assert.deepEqual(row('gabmil').cells, [null, null]);
    assert.deepEqual(row('dsmil').cells, [null, null], 'not in this plan');
    assert.match(t.caption!, /the first repetition of the 10-fold protocol.*MUSK1 of image-mil: not applicable/);
    assert.match(
      t.meta.protocol,
      /MUSK1: 1 × 10-fold standard splits \(musk1\.folds\.json\), 20 epochs.* 2 repetitions/,
    );
    assert.equal(t.meta.published!.values.abmil['MUSK1 accuracy'], 0.892);
  });

  it('catalogue: the committed plan is the protocol of the committed table', () => {
    const committed = readReproduction(path.join(REPO, 'results', 'catalogue.json'));
    const protocol = catalogueProtocol(path.join(REPO, 'experiments', 'catalogue.plan.yaml'));
    assert.ok(committed.meta.protocol.startsWith(protocol), `${committed.meta.protocol}\n  vs\n${protocol}`);
  });
});
