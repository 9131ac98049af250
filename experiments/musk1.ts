/**
 * MUSK1, the standard 5 × 10-fold protocol, for AB-MIL and gated AB-MIL (Ilse et al. 2018, Table 1)
 * → results/musk1.{json,md}.
 *
 *   npm run reproduce:musk1 [-- --only abmil] [--out runs/musk1-reproduce]
 *
 * Setting: projection 166 → 64 (GELU), no dropout, Adam lr 5e-4 with cosine decay, weight decay 1e-5
 * (L2), 20 epochs, batch 1 bag, features standardised with each fold's training statistics, the
 * weights after the last epoch (no model selection on the test fold), seed 2021. A cell is the mean
 * across repetitions of each repetition's 10-fold mean ± the sd across repetitions (Ilse et al.'s
 * convention); a model with unfinished repetitions is listed with those it has.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Cohort, Trainer, dataRoot, listModels, musk1, parseSplitFile, useBackend } from 'milkit';
import {
  type Context,
  type Experiment,
  type PlannedRow,
  keptNote,
  main,
  mergeRows,
  readTable,
  writeTable,
} from './common/runner';

const MODELS = { abmil: 'AB-MIL', gabmil: 'gated AB-MIL' } as const;
type ModelName = keyof typeof MODELS;
const METRICS = ['accuracy', 'auc', 'f1'];
const REPEATS = 5;
const FOLDS = 10;
/** Published MUSK1 accuracy of a row's model, from the model table (the row label names the model). */
function published(label: string): Record<string, number> | undefined {
  const model = (Object.keys(MODELS) as ModelName[]).find((k) => MODELS[k] === label.replace(/ \(.*$/, ''));
  const accuracy = listModels().find((m) => m.name === model)?.published?.musk1Accuracy;
  return accuracy === undefined ? undefined : { accuracy };
}
/** "0.892 ± 0.040": a model's published MUSK1 accuracy and sd, from the model table. */
function publishedText(model: ModelName): string {
  const p = listModels().find((m) => m.name === model)?.published;
  return `${p?.musk1Accuracy?.toFixed(3)} ± ${p?.musk1AccuracySd?.toFixed(3)}`;
}
const PROTOCOL =
  'MUSK1 (92 bags, 476 instances, 166 features), the standard 5 × 10-fold split masks (musk1.folds.json); ' +
  'AB-MIL and gated AB-MIL with a 166 → 64 GELU projection, no dropout; Adam lr 5e-4 with cosine ' +
  'decay, weight decay 1e-5 (L2), ' +
  "20 epochs, batch 1 bag; features standardised with each training fold's statistics; weights after the last epoch " +
  '(no model selection on the test fold); seed 2021. Seconds: first to last fold result, an ' +
  'estimate of the training wall time on a heavily shared machine.';

const settings = {};
type Ctx = Context<typeof settings>;

interface FoldResult {
  repeat: number;
  interrupted?: boolean;
  metrics: Record<string, number>;
}

/** The finished folds of a model (`<out>/<model>/rep<r>-fold<f>/result.json`) and their files. */
function finishedFolds(out: string, model: ModelName): { folds: FoldResult[]; files: string[] } {
  const dir = path.join(out, model);
  const files = fs.existsSync(dir)
    ? fs
        .readdirSync(dir)
        .filter((d) => /^rep\d+-fold\d+$/.test(d))
        .sort()
        .map((d) => path.join(dir, d, 'result.json'))
        .filter((f) => fs.existsSync(f))
    : [];
  const folds = files.map((f) => JSON.parse(fs.readFileSync(f, 'utf8')) as FoldResult).filter((f) => !f.interrupted);
  return { folds, files };
}

const cohortFile = (out: string) => path.join(out, 'musk1.arrow');
const splitsFile = (out: string) => path.join(out, 'musk1.splits.json');

async function buildData(ctx: Ctx): Promise<void> {
  await musk1.build({ out: cohortFile(ctx.out), source: path.join(dataRoot(), 'musk1') });
}

async function train(ctx: Ctx, model: ModelName): Promise<void> {
  await useBackend();
  const cohort = await Cohort.open(cohortFile(ctx.out));
  try {
    const splitsPath = splitsFile(ctx.out);
    const splits = parseSplitFile(JSON.parse(fs.readFileSync(splitsPath, 'utf8')), cohort.bags, splitsPath);
    const trainer = new Trainer({
      model: { name: model, config: { embedDim: 64, dropout: 0 } },
      config: { epochs: 20, lr: 5e-4, standardize: true, selectOn: 'last', seed: 2021 },
    });
    trainer.events.on((e) => {
      if (e.type === 'fold-end' && !e.interrupted)
        ctx.log(`${model} rep${e.repeat} fold${e.fold}: accuracy ${e.metrics.accuracy.toFixed(3)}`);
    });
    await trainer.crossValidate(cohort, splits, {
      outDir: path.join(ctx.out, model),
      resume: true,
      signal: ctx.signal,
    });
  } finally {
    await cohort.close();
  }
}

const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;

async function assemble(ctx: Ctx): Promise<string[]> {
  const planned: PlannedRow[] = [];
  const notes: string[] = [];
  let seconds = 0;
  for (const [key, name] of Object.entries(MODELS) as [ModelName, string][]) {
    const { folds, files } = finishedFolds(ctx.out, key);
    const complete = [...Array(REPEATS).keys()].filter((r) => folds.filter((f) => f.repeat === r).length === FOLDS);
    if (complete.length === 0) {
      planned.push({ id: key, label: name, cells: METRICS.map(() => undefined) });
      continue;
    }
    const label = complete.length === REPEATS ? name : `${name} (${complete.length} of ${REPEATS} repetitions so far)`;
    planned.push({
      id: key,
      label,
      cells: METRICS.map((m) =>
        complete.map((r) => mean(folds.filter((f) => f.repeat === r).map((f) => f.metrics[m]))),
      ),
    });
    const used = folds.filter((f) => complete.includes(f.repeat));
    notes.push(
      `${name} accuracy over its ${used.length} folds: ${mean(used.map((f) => f.metrics.accuracy)).toFixed(3)}`,
    );
    // Wall time from the fold result files: first to last, scaled by n/(n−1) for the first fold (an uninterrupted run).
    const times = files.map((f) => fs.statSync(f).mtimeMs);
    if (times.length > 1)
      seconds += ((Math.max(...times) - Math.min(...times)) / 1000) * (times.length / (times.length - 1));
  }
  const merged = mergeRows(
    planned,
    readTable(ctx.results, 'musk1'),
    PROTOCOL,
    METRICS,
    path.join(ctx.results, 'musk1.json'),
  );
  for (const id of merged.missing) notes.push(`${MODELS[id as ModelName]}: no finished repetition yet`);
  if (!merged.fresh) return [];
  const backend = await useBackend();
  const file = writeTable(
    ctx.results,
    'musk1',
    {
      title: 'MUSK1, 5 × 10-fold cross-validation',
      caption:
        `Cells: mean ± sd across repetitions of each repetition's 10-fold mean (the ` +
        `convention of Ilse et al.); accuracy at the 0.5 threshold. ${notes.join('; ')}.`,
      columns: METRICS,
      rows: merged.rows,
    },
    {
      command: ctx.command,
      protocol: PROTOCOL + keptNote(merged, ctx.out),
      published: {
        source:
          'Ilse, Tomczak & Welling, Attention-based Deep Multiple Instance Learning, ICML 2018, Table 1 ' +
          `(5 × 10-fold accuracy: attention ${publishedText('abmil')}, gated attention ${publishedText('gabmil')})`,
        values: Object.fromEntries(
          merged.rows.flatMap((r) => (published(r.label) ? [[r.label, published(r.label)!]] : [])),
        ),
      },
      seconds: Math.round(seconds),
      backend: backend.name,
    },
  );
  return [file];
}

export const experiment: Experiment<typeof settings> = {
  name: 'musk1',
  title: 'MUSK1, 5 × 10-fold CV: AB-MIL and gated AB-MIL → results/musk1.{json,md}',
  out: 'runs/musk1-reproduce',
  settings,
  tables: () => ['musk1'],
  jobs: (ctx) => [
    { id: 'data', done: () => fs.existsSync(splitsFile(ctx.out)), run: () => buildData(ctx) },
    ...(Object.keys(MODELS) as ModelName[]).map((model) => ({
      id: model,
      needs: ['data'],
      done: () => finishedFolds(ctx.out, model).folds.length === REPEATS * FOLDS,
      run: () => train(ctx, model),
    })),
  ],
  assemble,
};

main(experiment, module);
