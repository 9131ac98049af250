/**
 * The catalogue table: every registered model on MUSK1 (standard 5 × 10-fold protocol, accuracy)
 * and on MNIST-bags (Ilse et al.: target 9, bag size N(10, 2), 100 training and 1000 test bags,
 * test AUC, a few repetitions with fresh bags and seeds), written to results/catalogue.{json,md}
 * with the published numbers beside ours. Resumable (finished folds are kept in the run folder) and
 * mergeable: `--only a,b` re-measures those rows and keeps the other rows of an existing table.
 *
 *   node dist/train/catalogue.js [--only abmil,dsmil] [--out runs/catalogue] [--results results]
 *     [--musk1-epochs 20] [--mnist-epochs 20] [--mnist-reps 3] [--musk1-repeats 5] [--data ../shared/data]
 *
 * One setting for every model (scripts/reproduce-musk1.sh's): each model's registered defaults, except
 * `embedDim` 64 where the model has one and every dropout option at 0 (tiny cohorts); Adam lr 5e-4 with
 * cosine decay, weight decay 1e-5, batch 1 bag, the weights after the last epoch (no selection on the
 * test fold), seed 2021 (MNIST-bags: bag seed r + 1, training seed 2021 + r for repetition r).
 * MUSK1 features are standardised with each training fold's statistics; MNIST-bags are raw pixels in [0, 1].
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { useBackend } from '../backend';
import { Cohort } from '../data/cohort';
import { musk1 } from '../data/datasets/musk1';
import { mnistBags } from '../data/datasets/mnistBags';
import { parseSplitFile, type Split } from '../data/splits';
import { listModels, type ModelInfo } from '../registry';
import { type ResultCell } from '../viz/results';
import { type TrainConfig } from './config';
import { readReproduction, writeReproduction } from './reproduction';
import { Trainer } from './trainer';

export interface CatalogueOptions {
  only?: string[];
  out: string;
  results: string;
  data: string;
  musk1Epochs: number;
  mnistEpochs: number;
  mnistReps: number;
  musk1Repeats: number;
  command: string;
  log?: (line: string) => void;
}

const COLUMNS = ['MUSK1 accuracy', 'MNIST-bags AUC (100 bags)'];
const NAME = 'catalogue';

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

export async function runCatalogue(o: CatalogueOptions): Promise<string> {
  const log = o.log ?? ((l: string) => console.log(l));
  const backend = await useBackend();
  const all = listModels();
  const unknown = (o.only ?? []).filter((n) => !all.some((m) => m.name === n));
  if (unknown.length)
    throw new Error(`catalogue: unknown model(s) ${unknown.join(', ')}; known: ${all.map((m) => m.name).join(', ')}`);
  // `--only` also sets the order (most wanted first), so a run cut short has measured those.
  const models = o.only ? o.only.map((n) => all.find((m) => m.name === n)!) : all;
  fs.mkdirSync(o.out, { recursive: true });

  const muskBuilt = path.join(o.out, 'musk1.arrow');
  if (!fs.existsSync(muskBuilt)) await musk1.build({ out: muskBuilt, source: path.join(o.data, 'musk1') });
  const mnistPaths: string[] = [];
  for (let r = 0; r < o.mnistReps; r++) {
    const p = path.join(o.out, `mnist-bags-100-seed${r + 1}.arrow`);
    if (!fs.existsSync(p))
      await mnistBags.build({
        out: p,
        trainBags: 100,
        testBags: 1000,
        meanBagSize: 10,
        sdBagSize: 2,
        target: 9,
        seed: r + 1,
      });
    mnistPaths.push(p);
  }

  const measured = new Map<string, (ResultCell | number[] | null)[]>();
  const file = path.join(o.results, `${NAME}.json`);
  const previous = fs.existsSync(file) ? readReproduction(file) : undefined;
  for (const info of models) {
    const config = catalogueModelConfig(info);
    const t0 = Date.now();
    // Image models (a convolutional encoder over `imageShape`) have no MUSK1 cell: its instances are 166 numbers, not images.
    const musk = takesImages(info)
      ? []
      : await crossValidate(
          muskBuilt,
          info.name,
          config,
          { ...TRAIN, epochs: o.musk1Epochs, standardize: true },
          path.join(o.out, info.name, 'musk1'),
          o.musk1Repeats,
        );
    // Several repetitions: mean over them ± sd across them (each = the mean of its 10 folds), as the
    // papers report; one repetition: mean ± sd over its 10 folds.
    const repeats =
      o.musk1Repeats === 1 || musk.length === 0
        ? musk.map((f) => f.metrics.accuracy)
        : Array.from({ length: o.musk1Repeats }, (_, r) =>
            mean(musk.filter((f) => f.repeat === r).map((f) => f.metrics.accuracy)),
          );
    const aucs: number[] = [];
    for (const [r, p] of mnistPaths.entries()) {
      const folds = await crossValidate(
        p,
        info.name,
        config,
        { ...TRAIN, seed: 2021 + r, epochs: o.mnistEpochs, standardize: false },
        path.join(o.out, info.name, `mnist-${r + 1}`),
      );
      aucs.push(folds[0].metrics.auc);
    }
    measured.set(info.name, [repeats.length ? repeats : null, aucs]);
    log(
      `${info.name}: MUSK1 accuracy ${repeats.length ? fmt(repeats) : 'n/a (image model)'}, MNIST-bags AUC ${fmt(aucs)} (${((Date.now() - t0) / 60000).toFixed(1)} min)`,
    );
    writeTable(o, all, measured, previous, backend.name);
  }
  return file;
}

/** Test metrics of every fold of one model on one cohort (resuming finished folds from `dir`). */
async function crossValidate(
  cohortPath: string,
  model: string,
  config: Record<string, unknown>,
  train: Partial<TrainConfig>,
  dir: string,
  repeats?: number,
) {
  const cohort = await Cohort.open(cohortPath);
  try {
    const splitsPath = cohortPath.replace(/\.arrow$/, '.splits.json');
    let splits: Split[][] = parseSplitFile(JSON.parse(fs.readFileSync(splitsPath, 'utf8')), cohort.bags, splitsPath);
    if (repeats) splits = splits.slice(0, repeats);
    const run = await new Trainer({ model: { name: model, config }, config: train }).crossValidate(cohort, splits, {
      outDir: dir,
      resume: true,
    });
    return run.folds;
  } finally {
    await cohort.close();
  }
}

function writeTable(
  o: CatalogueOptions,
  all: ModelInfo[],
  measured: Map<string, (ResultCell | number[] | null)[]>,
  previous: ReturnType<typeof readReproduction> | undefined,
  backend: string,
): void {
  const rows = all.map((info) => {
    const now = measured.get(info.name);
    const before = previous?.rows.find((r) => r.label === info.name)?.cells as (ResultCell | null)[] | undefined;
    return { label: info.name, cells: now ?? before ?? COLUMNS.map(() => null) };
  });
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
  const levels = all.map((m) => `${m.name} (${m.level ?? 'issue 3'})`).join(', ');
  writeReproduction(
    o.results,
    NAME,
    {
      title: 'The deep-MIL catalogue: MUSK1 and MNIST-bags',
      caption: `Every registered model. MUSK1: ${o.musk1Repeats === 1 ? 'the first repetition of the 10-fold protocol, mean ± sd over its 10 folds' : `mean over the ${o.musk1Repeats} repetitions of the 10-fold protocol ± sd across repetitions`}. MNIST-bags: test AUC, ${o.mnistReps === 1 ? 'one repetition' : `mean ± sd over ${o.mnistReps} repetitions (fresh bags and seeds)`}. Empty cells: not measured yet${
        all.some(takesImages)
          ? ` (MUSK1 of ${all
              .filter(takesImages)
              .map((m) => m.name)
              .join(', ')}: not applicable, the model takes images)`
          : ''
      }. Models (survey level): ${levels}.`,
      columns: COLUMNS,
      rows,
    },
    {
      command: o.command,
      protocol:
        `each model's registered defaults except embedDim 64 (where present; TransMIL's head width and landmarks follow it as in the reference, 64/8 and 64/2) and all dropout 0; Adam lr 5e-4, cosine decay, weight decay 1e-5 (L2), batch 1 bag, last-epoch weights, seed 2021. ` +
        `MUSK1: ${o.musk1Repeats} × 10-fold standard splits (musk1.folds.json), ${o.musk1Epochs} epochs, features standardised per training fold. ` +
        `MNIST-bags: target 9, bag size N(10, 2), 100 training bags (MNIST train) / 1000 test bags (MNIST test), raw 784 pixels through each model's own first layer (no convolutional encoder, unlike the papers), ${o.mnistEpochs} epochs, ${o.mnistReps === 1 ? 'one repetition' : `${o.mnistReps} repetitions`}.`,
      published: { source: [...sources].join('; '), values },
      // No wall time: the command resumes finished folds, so one invocation's time says nothing about the table's.
      backend,
    },
  );
}

const takesImages = (info: ModelInfo) => 'imageShape' in info.defaults;

const mean = (v: number[]) => v.reduce((a, b) => a + b, 0) / v.length;
const fmt = (v: number[]) => `${mean(v).toFixed(3)} (n = ${v.length})`;

function parseCli(argv: string[]): CatalogueOptions {
  const get = (flag: string, fallback: string) => {
    const i = argv.indexOf(flag);
    return i >= 0 && i + 1 < argv.length ? argv[i + 1] : fallback;
  };
  const int = (flag: string, fallback: number) => {
    const v = Number(get(flag, String(fallback)));
    if (!Number.isInteger(v) || v < 1) throw new Error(`${flag} must be a positive integer`);
    return v;
  };
  const only = get('--only', '');
  return {
    only: only
      ? only
          .split(',')
          .map((s) => s.trim())
          .filter(Boolean)
      : undefined,
    out: get('--out', 'runs/catalogue'),
    results: get('--results', 'results'),
    data: get('--data', process.env.MILKIT_DATA ?? '../shared/data'),
    musk1Epochs: int('--musk1-epochs', 20),
    mnistEpochs: int('--mnist-epochs', 20),
    mnistReps: int('--mnist-reps', 3),
    musk1Repeats: int('--musk1-repeats', 5),
    // The table holds every model, so the command that regenerates it drops `--only` (it only orders / limits work).
    command:
      `scripts/reproduce-catalogue.sh ${argv.filter((a, i) => a !== '--only' && argv[i - 1] !== '--only').join(' ')}`.trim(),
  };
}

if (require.main === module) {
  runCatalogue(parseCli(process.argv.slice(2))).then(
    (file) => console.log(`wrote ${file}`),
    (err: Error) => {
      console.error(`catalogue: ${err.message}`);
      process.exit(1);
    },
  );
}
