/**
 * The catalogue table: every registered model on MUSK1 (standard 5 × 10-fold protocol, accuracy)
 * and on MNIST-bags (Ilse et al.: target 9, bag size N(10, 2), 100 training and 1000 test bags,
 * test AUC, a few repetitions with fresh bags and seeds) → results/catalogue.{json,md}, with the
 * published numbers beside ours.
 *
 *   npm run reproduce:catalogue [-- --only abmil,dsmil] [--musk1-epochs 20] [--mnist-epochs 20]
 *     [--mnist-reps 3] [--musk1-repeats 5]
 *
 * One setting for every model (reproduce:musk1's): each model's registered defaults, except `embedDim`
 * 64 where the model has one and every dropout option at 0 (tiny cohorts); Adam lr 5e-4 with cosine
 * decay, weight decay 1e-5, batch 1 bag, the weights after the last epoch (no selection on the test
 * fold), seed 2021 (MNIST-bags: bag seed r + 1, training seed 2021 + r for repetition r). MUSK1
 * features are standardised with each training fold's statistics; MNIST-bags are raw pixels in [0, 1].
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import {
  Cohort,
  type ModelInfo,
  type TrainConfig,
  Trainer,
  dataRoot,
  listModels,
  mnistBags,
  musk1,
  parseSplitFile,
  useBackend,
} from 'milkit';
import {
  type Context,
  type Experiment,
  type Job,
  type PlannedRow,
  keptNote,
  main,
  mergeRows,
  readTable,
  writeTable,
} from './common/runner';

const COLUMNS = ['MUSK1 accuracy', 'MNIST-bags AUC (100 bags)'];
const NAME = 'catalogue';

const settings = {
  'musk1-epochs': { type: 'number', default: 20, help: 'MUSK1 epochs per fold' },
  'mnist-epochs': { type: 'number', default: 20, help: 'MNIST-bags epochs per repetition' },
  'mnist-reps': { type: 'number', default: 3, help: 'MNIST-bags repetitions (fresh bags and seeds)' },
  'musk1-repeats': { type: 'number', default: 5, help: 'repetitions of the MUSK1 10-fold protocol' },
} as const;
type Ctx = Context<typeof settings>;

/** The one small-data setting: embedDim 64 where present, every dropout option 0. */
export function catalogueModelConfig(info: ModelInfo): Record<string, unknown> {
  const cfg: Record<string, unknown> = {};
  for (const key of Object.keys(info.defaults)) {
    if (key === 'embedDim') cfg[key] = 64;
    if (/dropout/i.test(key) && typeof info.defaults[key] === 'number') cfg[key] = 0;
  }
  return cfg;
}

const TRAIN: Partial<TrainConfig> = { lr: 5e-4, selectOn: 'last', seed: 2021 };

/**
 * Image models (a convolutional encoder over `imageShape`) have no MUSK1 cell: its instances are 166 numbers, not
 * images.
 */
const takesImages = (info: ModelInfo) => 'imageShape' in info.defaults;

const muskFile = (ctx: Ctx) => path.join(ctx.out, 'musk1.arrow');
const mnistFile = (ctx: Ctx, r: number) => path.join(ctx.out, `mnist-bags-100-seed${r + 1}.arrow`);
const splitsOf = (file: string) => file.replace(/\.arrow$/, '.splits.json');

/** Finished folds of one model on one cohort (`rep<r>-fold<f>/result.json`). */
function finishedFolds(dir: string): { repeat: number; metrics: Record<string, number> }[] {
  if (!fs.existsSync(dir)) return [];
  return fs
    .readdirSync(dir)
    .filter((d) => /^rep\d+-fold\d+$/.test(d))
    .sort()
    .map((d) => path.join(dir, d, 'result.json'))
    .filter((f) => fs.existsSync(f))
    .map(
      (f) =>
        JSON.parse(fs.readFileSync(f, 'utf8')) as {
          repeat: number;
          interrupted?: boolean;
          metrics: Record<string, number>;
        },
    )
    .filter((f) => !f.interrupted)
    .sort((a, b) => a.repeat - b.repeat);
}

/** The model's two cells when it has finished everything; undefined otherwise. */
function cellsOf(ctx: Ctx, info: ModelInfo): (number[] | null)[] | undefined {
  const { 'musk1-repeats': repeats, 'mnist-reps': reps } = ctx.settings;
  const musk = takesImages(info) ? [] : finishedFolds(path.join(ctx.out, info.name, 'musk1'));
  if (!takesImages(info) && musk.filter((f) => f.repeat < repeats).length < repeats * 10) return undefined;
  const aucs: number[] = [];
  for (let r = 0; r < reps; r++) {
    const [fold] = finishedFolds(path.join(ctx.out, info.name, `mnist-${r + 1}`));
    if (!fold) return undefined;
    aucs.push(fold.metrics.auc);
  }
  // Several repetitions: mean over them ± sd across them (each = the mean of its 10 folds), as the
  // papers report; one repetition: mean ± sd over its 10 folds.
  const used = musk.filter((f) => f.repeat < repeats);
  const accuracy =
    repeats === 1 || used.length === 0
      ? used.map((f) => f.metrics.accuracy)
      : Array.from({ length: repeats }, (_, r) =>
          mean(used.filter((f) => f.repeat === r).map((f) => f.metrics.accuracy)),
        );
  return [accuracy.length ? accuracy : null, aucs];
}

async function buildData(ctx: Ctx): Promise<void> {
  fs.mkdirSync(ctx.out, { recursive: true });
  if (!fs.existsSync(muskFile(ctx))) await musk1.build({ out: muskFile(ctx), source: path.join(dataRoot(), 'musk1') });
  for (let r = 0; r < ctx.settings['mnist-reps']; r++)
    if (!fs.existsSync(splitsOf(mnistFile(ctx, r))))
      await mnistBags.build({
        out: mnistFile(ctx, r),
        trainBags: 100,
        testBags: 1000,
        meanBagSize: 10,
        sdBagSize: 2,
        target: 9,
        seed: r + 1,
      });
}

/** Cross-validates one model on one cohort, resuming finished folds from `dir`. */
async function crossValidate(
  ctx: Ctx,
  cohortPath: string,
  info: ModelInfo,
  train: Partial<TrainConfig>,
  dir: string,
  repeats?: number,
): Promise<void> {
  const cohort = await Cohort.open(cohortPath);
  try {
    let splits = parseSplitFile(
      JSON.parse(fs.readFileSync(splitsOf(cohortPath), 'utf8')),
      cohort.bags,
      splitsOf(cohortPath),
    );
    if (repeats) splits = splits.slice(0, repeats);
    await new Trainer({ model: { name: info.name, config: catalogueModelConfig(info) }, config: train }).crossValidate(
      cohort,
      splits,
      { outDir: dir, resume: true, signal: ctx.signal },
    );
  } finally {
    await cohort.close();
  }
}

async function measure(ctx: Ctx, info: ModelInfo): Promise<void> {
  await useBackend();
  const s = ctx.settings;
  const t0 = Date.now();
  if (!takesImages(info))
    await crossValidate(
      ctx,
      muskFile(ctx),
      info,
      { ...TRAIN, epochs: s['musk1-epochs'], standardize: true },
      path.join(ctx.out, info.name, 'musk1'),
      s['musk1-repeats'],
    );
  for (let r = 0; r < s['mnist-reps'] && !ctx.signal.aborted; r++)
    await crossValidate(
      ctx,
      mnistFile(ctx, r),
      info,
      { ...TRAIN, seed: 2021 + r, epochs: s['mnist-epochs'], standardize: false },
      path.join(ctx.out, info.name, `mnist-${r + 1}`),
    );
  const cells = cellsOf(ctx, info);
  if (cells)
    ctx.log(
      `${info.name}: MUSK1 accuracy ${cells[0] ? fmt(cells[0]) : 'n/a (image model)'}, ` +
        `MNIST-bags AUC ${fmt(cells[1]!)} (${((Date.now() - t0) / 60000).toFixed(1)} min)`,
    );
}

async function assemble(ctx: Ctx): Promise<string[]> {
  const s = ctx.settings;
  const all = listModels();
  const planned: PlannedRow[] = all.map((info) => ({
    id: info.name,
    label: info.name,
    cells: cellsOf(ctx, info) ?? COLUMNS.map(() => undefined),
  }));
  const values: Record<string, Record<string, number>> = {};
  const sources = new Set<string>();
  for (const info of all) {
    const pub = info.published;
    if (!pub) continue;
    const v: Record<string, number> = {};
    if (pub.musk1Accuracy !== undefined) v[COLUMNS[0]] = pub.musk1Accuracy;
    if (pub.mnistBagsAuc?.[100] !== undefined) v[COLUMNS[1]] = pub.mnistBagsAuc[100];
    values[info.name] = v;
    sources.add(`${info.name}: ${pub.source}`);
  }
  const protocol =
    `each model's registered defaults except embedDim 64 (where present; TransMIL's head width ` +
    `and landmarks follow it as in the reference, 64/8 and 64/2) and all dropout 0; Adam lr ` +
    `5e-4, cosine decay, weight decay 1e-5 (L2), batch 1 bag, last-epoch weights, seed 2021. ` +
    (`MUSK1: ${s['musk1-repeats']} × 10-fold standard splits ` +
      `(musk1.folds.json), ${s['musk1-epochs']} epochs, features standardised per training fold. `) +
    (`MNIST-bags: target 9, bag size N(10, 2), 100 training bags (MNIST train) / ` +
      `1000 test bags (MNIST test), raw 784 pixels through each model's own first layer ` +
      `(no convolutional encoder, unlike the papers), ${s['mnist-epochs']} ` +
      `epochs, ${s['mnist-reps'] === 1 ? 'one repetition' : `${s['mnist-reps']} repetitions`}.`);
  const merged = mergeRows(
    planned,
    readTable(ctx.results, NAME),
    protocol,
    COLUMNS,
    path.join(ctx.results, `${NAME}.json`),
    true,
  );
  if (!merged.fresh) return [];
  const levels = all.map((m) => `${m.name} (${m.level ?? 'core'})`).join(', ');
  const images = all.filter(takesImages).map((m) => m.name);
  const muskCaption =
    s['musk1-repeats'] === 1
      ? 'the first repetition of the 10-fold protocol, mean ± sd over its 10 folds'
      : `mean over the ${s['musk1-repeats']} repetitions of the 10-fold protocol ± sd across repetitions`;
  const mnistCaption =
    s['mnist-reps'] === 1 ? 'one repetition' : `mean ± sd over ${s['mnist-reps']} repetitions (fresh bags and seeds)`;
  const notApplicable = images.length ? ` (MUSK1 of ${images.join(', ')}: not applicable, the model takes images)` : '';
  const backend = await useBackend();
  const file = writeTable(
    ctx.results,
    NAME,
    {
      title: 'The deep-MIL catalogue: MUSK1 and MNIST-bags',
      caption:
        `Every registered model. MUSK1: ${muskCaption}. MNIST-bags: test AUC, ${mnistCaption}. ` +
        `Empty cells: not measured yet${notApplicable}. Models (survey level): ${levels}.`,
      columns: COLUMNS,
      rows: merged.rows,
    },
    {
      command: ctx.command,
      protocol: protocol + keptNote(merged, ctx.out),
      published: { source: [...sources].join('; '), values },
      // No wall time: the command resumes finished folds, so one invocation's time says nothing about the table's.
      backend: backend.name,
    },
  );
  return [file];
}

const mean = (v: number[]) => v.reduce((a, b) => a + b, 0) / v.length;
const fmt = (v: number[]) => `${mean(v).toFixed(3)} (n = ${v.length})`;

export const experiment: Experiment<typeof settings> = {
  name: 'catalogue',
  title: 'Every registered model on MUSK1 and MNIST-bags → results/catalogue.{json,md}',
  out: 'runs/catalogue',
  settings,
  tables: () => [NAME],
  jobs: (ctx) => [
    {
      id: 'data',
      done: () =>
        fs.existsSync(muskFile(ctx)) &&
        Array.from({ length: ctx.settings['mnist-reps'] }, (_, r) => splitsOf(mnistFile(ctx, r))).every((f) =>
          fs.existsSync(f),
        ),
      run: () => buildData(ctx),
    },
    ...listModels().map((info): Job => ({
      id: info.name,
      needs: ['data'],
      done: () => cellsOf(ctx, info) !== undefined,
      run: () => measure(ctx, info),
    })),
  ],
  assemble,
};

main(experiment, module);
