import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { listModels } from '../../src/registry';
import {
  SweepFolder,
  SweepPlanError,
  type TrainManifest,
  type UnitResult,
  collectSweep,
  planSweep,
  readPlan,
  runUnit,
  tableMarkdown,
  unitTrainConfig,
} from '../../src/sweep';
import { resolvePlan } from '../../src/sweep/plan';
import { tempDir } from '../helpers/tmp';
import { writeToyCohort } from '../train/fixtures';

const models = listModels().map((m) => m.name);

/** The problems resolvePlan reports for `plan` (none: []). */
function problems(plan: unknown, baseDir: string): string[] {
  try {
    resolvePlan(plan, { baseDir, models });
    return [];
  } catch (err) {
    assert.ok(err instanceof SweepPlanError, String(err));
    return err.problems;
  }
}

describe('sweep/plan: checked before anything runs, every problem naming its field', function () {
  this.timeout(120_000);
  const dir = tempDir();
  let cohort: string;
  before(async () => {
    cohort = path.basename(await writeToyCohort(dir, { bags: 24, dim: 6 }));
  });

  it('names an unknown model with a suggestion', () => {
    const p = problems({ cohort, models: [{ model: 'abmil' }, { model: 'abmill' }] }, dir);
    assert.deepEqual(p, ['models[1].model: unknown model "abmill" (did you mean "abmil"?); see milkit info --models']);
  });

  it('names a missing cohort, a bad grid value, a typo in a field and a seed problem, all at once', () => {
    const p = problems({ models: [{ model: 'abmil', grid: { lr: [1e-3, 'fast'] } }], epoch: 3, seeds: [1, 1] }, dir);
    assert.ok(p.includes('cohort: missing (the cohort file, e.g. cohort: musk1.arrow)'), p.join('\n'));
    assert.ok(p.includes('models[0].grid.lr[1]: must be a number, got "fast"'), p.join('\n'));
    assert.ok(p.includes('epoch: unknown field (did you mean "epochs"?)'), p.join('\n'));
    assert.ok(p.includes('seeds: a seed appears twice'), p.join('\n'));
    assert.equal(p.length, 4, p.join('\n'));
  });

  it('refuses a cohort that does not exist, a grid over seeds and an empty model list', () => {
    const p = problems({ cohort: 'nope.arrow', models: [], grid: { seed: [1, 2] } }, dir);
    assert.ok(p.some((x) => x.startsWith('cohort: file not found: ') && x.endsWith('nope.arrow')));
    assert.ok(p.includes(`grid.seed: seeds are the plan's own axis: set "seeds" instead`));
    assert.ok(p.some((x) => x.startsWith('models: missing')));
  });

  it('expands grids (plan × entry) into labelled configs, MHIM through the registry', () => {
    const plan = resolvePlan(
      {
        cohort,
        folds: 3,
        seeds: [1, 2],
        epochs: 2,
        grid: { lr: [1e-3, 5e-4] },
        models: [
          { model: 'abmil', config: { dropout: 0 }, grid: { 'config.gated': [false, true] } },
          { model: 'abmil', mhim: 'v2', name: 'mhim-abmil' },
        ],
      },
      { baseDir: dir, models },
    );
    assert.deepEqual(
      plan.configs.map((c) => c.label),
      [
        'abmil lr=0.001 gated=false',
        'abmil lr=0.001 gated=true',
        'abmil lr=0.0005 gated=false',
        'abmil lr=0.0005 gated=true',
        'mhim-abmil lr=0.001',
        'mhim-abmil lr=0.0005',
      ],
    );
    assert.deepEqual(plan.configs[1].model, { name: 'abmil', config: { dropout: 0, gated: true } });
    assert.deepEqual(plan.configs[1].train, { lr: 1e-3 });
    assert.deepEqual(plan.train, { epochs: 2 });
    // MHIM's AB-MIL is its ReLU variant, as `milkit train --mhim` builds it.
    assert.deepEqual(plan.configs[4].model, {
      name: 'mhim',
      config: { base: 'abmil', baseConfig: { attention: 'relu' }, mhim: { version: 'v2' } },
    });
    assert.deepEqual(plan.cohorts, [
      { name: 'toy', path: path.join(dir, cohort), folds: 3, valFraction: 0, seeds: [1, 2], train: {} },
    ]);
  });

  it('a duplicate configuration is refused (it would mix two rows of the table)', () => {
    const p = problems({ cohort, models: [{ model: 'mean-mil' }, { model: 'mean-mil' }] }, dir);
    assert.ok(
      p.some((x) => x.startsWith('models[1]: the same model and settings as models[0]')),
      p.join('\n'),
    );
  });

  it('reads YAML and JSON plans; a syntax error names the file', () => {
    const yaml = path.join(dir, 'p.yaml');
    fs.writeFileSync(yaml, `cohort: ${cohort}\nmodels:\n  - model: abmil\n    config: { dropout: 0 }\n`);
    assert.deepEqual(readPlan(yaml), { cohort, models: [{ model: 'abmil', config: { dropout: 0 } }] });
    const json = path.join(dir, 'p.json');
    fs.writeFileSync(json, JSON.stringify({ cohort, models: [{ model: 'abmil' }] }));
    assert.deepEqual(readPlan(json), { cohort, models: [{ model: 'abmil' }] });
    const broken = path.join(dir, 'broken.yaml');
    fs.writeFileSync(broken, 'cohort: [unclosed\nmodels: x\n');
    assert.throws(
      () => readPlan(broken),
      (e: Error) => e.message.startsWith(`plan ${broken}: not valid YAML`),
    );
  });

  it('planSweep builds every model once: an unknown model option fails before any file is written', async () => {
    const out = path.join(dir, 'bad-option');
    await assert.rejects(
      planSweep({ cohort: path.join(dir, cohort), models: [{ model: 'abmil', config: { dropuot: 0 } }] }, out),
      (e: Error) =>
        /models\[0\]: unknown option "dropuot" for model "abmil" \(did you mean "dropout"\?\)/.test(e.message),
    );
    assert.equal(new SweepFolder(out).exists(), false);
  });

  it('writes one unit per config × seed × fold, with the split files and a fingerprint', async () => {
    const out = path.join(dir, 'ok');
    const folder = await planSweep(
      {
        cohort: path.join(dir, cohort),
        folds: 3,
        seeds: [1, 2],
        models: [{ model: 'mean-mil' }, { model: 'max-mil' }],
      },
      out,
    );
    const m = folder.manifest();
    assert.equal(m.units.length, 2 * 2 * 3);
    assert.deepEqual(m.units[4], {
      index: 4,
      id: 'c0-s2-r0-f1',
      config: 'c0',
      cohort: 0,
      seed: 2,
      repeat: 0,
      fold: 1,
    });
    assert.match(m.fingerprint, /^[0-9a-f]{64}$/);
    assert.ok(fs.existsSync(folder.splitsPath(1)) && fs.existsSync(folder.splitsPath(2)));
    // The same plan again, or another plan: refused, and nothing in the folder changes.
    const before = fs.readFileSync(folder.manifestPath, 'utf8');
    await assert.rejects(
      planSweep(
        {
          cohort: path.join(dir, cohort),
          folds: 3,
          seeds: [1, 2],
          models: [{ model: 'mean-mil' }, { model: 'max-mil' }],
        },
        out,
      ),
      /already holds this sweep .*resubmit/,
    );
    await assert.rejects(
      planSweep({ cohort: path.join(dir, cohort), models: [{ model: 'abmil' }] }, out),
      /holds another sweep .*choose another --out/,
    );
    assert.equal(fs.readFileSync(folder.manifestPath, 'utf8'), before);
  });

  it('a unit refuses a cohort whose features changed under the same bag ids and labels', async () => {
    const file = await writeToyCohort(dir, { name: 'drift' });
    const folder = await planSweep(
      { cohort: file, folds: 3, models: [{ model: 'mean-mil' }] },
      path.join(dir, 'drift'),
    );
    await writeToyCohort(dir, { name: 'drift', offset: 1 }); // re-extracted: same bags, other features
    const lines: string[] = [];
    assert.equal(await runUnit(folder, 0, { log: (l) => lines.push(l) }), 'failed');
    const error = JSON.parse(fs.readFileSync(folder.errorPath(folder.manifest().units[0]), 'utf8')) as Error;
    assert.match(error.message, /the cohort changed since the sweep was planned \(content: saved "sha256:/);
    assert.match(error.message, /plan a new sweep into a new folder/);
  });

  it('cohorts: a list, each with its own splits, seeds and trainer options; problems name the field', () => {
    const p = problems(
      {
        cohorts: [
          'nope.arrow',
          { path: cohort, foldz: 3, seeds: [1, 1], epochs: 0 },
          5,
          { path: cohort, name: 'again' },
          { path: 'other.arrow', name: 'x' },
        ],
        models: [
          { model: 'mean-mil', cohorts: ['toy', 'tooy'] },
          { model: 'max-mil', cohorts: 'toy' },
        ],
      },
      dir,
    );
    const nope = path.join(dir, 'nope.arrow');
    assert.deepEqual(p.sort(), [
      `cohorts[0].path: file not found: ${nope}`,
      'cohorts[1].epochs: must be a positive integer, got 0',
      'cohorts[1].foldz: unknown field (did you mean "folds"?)',
      'cohorts[1].seeds: a seed appears twice',
      'cohorts[2]: must be a file path or a map like { path: musk1.arrow }, got 5',
      'cohorts[3].path: the same file as cohort "toy" before it; list each file once',
      `cohorts[4].path: file not found: ${path.join(dir, 'other.arrow')}`,
      'models[0].cohorts[1]: unknown cohort "tooy" (did you mean "toy"?); ' + "the plan's cohorts: nope, toy, again, x",
      'models[1].cohorts: must be a non-empty list of cohort names (nope, toy, again, x)',
    ]);
    assert.deepEqual(problems({ cohort, cohorts: [cohort], models: [{ model: 'abmil' }] }, dir), [
      'cohorts: give either cohort (one file) or cohorts (a list), not both',
    ]);
  });

  it('a plan over several cohorts: units per cohort, each trained as its entry says; one row per name', async () => {
    const files = await Promise.all(
      ['k-a', 'k-b', 'k-c'].map((name, i) => writeToyCohort(dir, { name, bags: 12 + 4 * i, dim: 6 })),
    );
    const plan = {
      name: 'several',
      folds: 3,
      seeds: [1, 2],
      epochs: 2,
      lr: 1e-2,
      cohorts: [
        files[0],
        { path: files[1], name: 'b', folds: 2, seeds: [7], epochs: 3 },
        { path: files[2], name: 'b', folds: 2, seeds: [8] },
      ],
      models: [{ model: 'mean-mil' }, { model: 'max-mil', cohorts: ['b'], epochs: 1 }],
    };
    const resolved = resolvePlan(plan, { baseDir: dir, models });
    assert.deepEqual(
      resolved.cohorts.map((k) => [k.name, k.folds, k.seeds, k.train]),
      [
        ['k-a', 3, [1, 2], {}],
        ['b', 2, [7], { epochs: 3 }],
        ['b', 2, [8], {}],
      ],
    );
    // Trainer options: the plan's, then the cohort's, then the model entry's.
    const [mean, max] = resolved.configs;
    assert.deepEqual(unitTrainConfig(resolved, mean, resolved.cohorts[1]), { epochs: 3, lr: 1e-2 });
    assert.deepEqual(unitTrainConfig(resolved, max, resolved.cohorts[1]), { epochs: 1, lr: 1e-2 });

    const folder = await planSweep(plan, path.join(dir, 'several'));
    const m = folder.manifest() as TrainManifest;
    // mean-mil: 2 seeds × 3 folds on k-a, 2 folds on each b; max-mil: only the two b cohorts.
    assert.equal(m.units.length, 6 + 2 + 2 + 2 + 2);
    assert.deepEqual(
      m.units.filter((u) => u.config === 'c1').map((u) => u.id),
      ['c1-k1-s7-r0-f0', 'c1-k1-s7-r0-f1', 'c1-k2-s8-r0-f0', 'c1-k2-s8-r0-f1'],
    );
    assert.deepEqual(
      m.cohorts.map((k) => [k.name, k.path]),
      [
        ['k-a', files[0]],
        ['b', files[1]],
        ['b', files[2]],
      ],
    );
    for (const [seed, tag] of [
      [1, 'k0-'],
      [2, 'k0-'],
      [7, 'k1-'],
      [8, 'k2-'],
    ] as const)
      assert.ok(fs.existsSync(folder.splitsPath(seed, tag)), `${tag}seed-${seed}`);

    for (const u of m.units) assert.equal(await runUnit(folder, u.index, { log: () => undefined }), 'done', u.id);
    const epochs = (id: string) =>
      (JSON.parse(fs.readFileSync(folder.resultPath({ index: 0, id }), 'utf8')) as UnitResult).epochsRun;
    assert.deepEqual(
      ['c0-k0-s1-r0-f0', 'c0-k1-s7-r0-f0', 'c0-k2-s8-r0-f0', 'c1-k1-s7-r0-f0'].map(epochs),
      [2, 3, 2, 1],
    );
    const table = collectSweep(folder);
    assert.deepEqual(
      table.rows.map((r) => [r.cohort, r.label, r.done, r.total]),
      [
        ['k-a', 'mean-mil', 6, 6],
        ['b', 'mean-mil', 4, 4],
        ['b', 'max-mil', 4, 4],
      ],
    );
    // The pooled row is the mean over the units of both b cohorts.
    const results = m.units
      .filter((u) => u.config === 'c0' && u.cohort > 0)
      .map((u) => (JSON.parse(fs.readFileSync(folder.resultPath(u), 'utf8')) as UnitResult).metrics.accuracy);
    const mean4 = results.reduce((a, b) => a + b, 0) / results.length;
    assert.ok(Math.abs(table.rows[1].metrics.accuracy.mean - mean4) < 1e-12);
    assert.match(tableMarkdown(table), /^\| cohort \| config \| units \|/);
  });

  it('a sweep folder of the earlier format is named as such', () => {
    const out = path.join(dir, 'old');
    fs.mkdirSync(out);
    fs.writeFileSync(path.join(out, 'sweep.json'), JSON.stringify({ format: 'milkit-sweep', version: 1 }));
    assert.throws(() => new SweepFolder(out).manifest(), /planned by an earlier milkit \(sweep version 1\); plan the/);
  });

  it('an embed plan: every bad field named before any encoder loads, and nothing is written', async () => {
    const dir = tempDir();
    const out = path.join(dir, 'sweep');
    await assert.rejects(
      planSweep(
        {
          kind: 'embed',
          tiles: path.join(dir, 'no-tiles'),
          encoder: 'torch:model.pt',
          labels: path.join(dir, 'labels.csv'),
          out: 'c.arrow',
          slidesPerUnit: 0,
          onCorrupt: 'ignore',
        } as never,
        out,
      ),
      (e: Error) =>
        e instanceof SweepPlanError &&
        /tiles: not found: .*no-tiles/.test(e.message) &&
        /labels: not found/.test(e.message) &&
        /encoder: must be ssl:CHECKPOINT or onnx:MODEL\.onnx, got "torch:model\.pt"/.test(e.message) &&
        /slidesPerUnit: must be a positive integer, got 0/.test(e.message) &&
        /onCorrupt: must be one of fail, skip, got "ignore"/.test(e.message),
    );
    assert.equal(fs.existsSync(out), false);
  });
});
