/**
 * The data sets of the MHIM experiments (experiments/mhim.ts), built once into `<out>/data/`:
 * - `musk1`: MUSK1 (92 molecules, 166 raw features) with the standard 5 × 10-fold split file, features
 *   standardised per training fold;
 * - `colon`: the colon-cancer nucleus patches (98 patient bags, 7–389 patches, 30 colour statistics
 *   per patch as in notebook 05), stratified 5-fold CV at patient level (split seed 1);
 * - `mnist50` / `mnist100`: MNIST-bags with mean bag size 50 (sd 10) / 100 (sd 20) and few witnesses
 *   (a positive bag holds 1–3 nines, half the bags positive), 200 training bags from MNIST train and
 *   500 test bags from MNIST test; one fixed train/test split, trained several times with different
 *   seeds (so mean ± sd is over training seeds, the MNIST-bags convention of Ilse et al.).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import {
  Cohort,
  type Split,
  type TrainConfig,
  buildColonCohort,
  colorStatsFeaturizer,
  dataRoot,
  mnistBags,
  musk1,
  parseSplitFile,
  stratifiedKFold,
} from 'milkit';

export const REPRO_DATASETS = ['musk1', 'colon', 'mnist50', 'mnist100'] as const;
export type ReproDatasetName = (typeof REPRO_DATASETS)[number];

export interface ReproDataset {
  name: string;
  cohortPath: string;
  splits: Split[][];
  /** One line for the protocol. */
  description: string;
  /** Training settings (the same for every MHIM setting and the baseline on this data set). */
  train: Partial<TrainConfig>;
}

/**
 * CV repetitions (MUSK1: of its standard 5 × 10-fold file; colon: new 5-fold splits) or training seeds (MNIST-bags).
 */
export const REPEATS: Record<ReproDatasetName, number> = { musk1: 5, colon: 1, mnist50: 3, mnist100: 3 };

const MNIST = { mnist50: { meanBagSize: 50, sdBagSize: 10 }, mnist100: { meanBagSize: 100, sdBagSize: 20 } } as const;
const MNIST_BAGS = { trainBags: 200, testBags: 500, witnesses: 3, positiveFraction: 0.5, seed: 1 } as const;
/** What the built cohorts hold (checked when they are opened, so the protocol text stays true). */
const MUSK1_BAGS = 92;
const COLON = { bags: 98, patches: 20280 };

export function trainConfigFor(dataset: ReproDatasetName): Partial<TrainConfig> {
  // MUSK1's raw features and colon's colour statistics span different ranges (standardised with the
  // training fold's statistics); MNIST pixels are already in [0, 1].
  return {
    epochs: 20,
    lr: 5e-4,
    standardize: dataset === 'colon' || dataset === 'musk1',
    selectOn: 'last',
    seed: 2021,
  };
}

/** The protocol line of a data set (without building it). */
export function describeDataset(name: ReproDatasetName): string {
  const repeats = REPEATS[name];
  if (name === 'musk1')
    return (
      `musk1: MUSK1 (${MUSK1_BAGS} bags, 166 raw features standardised per ` +
      `training fold), the standard 10-fold splits × ${repeats} repetitions`
    );
  if (name === 'colon')
    return (
      `colon: ${COLON.bags} patient bags (${COLON.patches} patches, 30 colour statistics each), ` +
      `stratified 5-fold CV × ${repeats} (split seed 1${repeats > 1 ? `..${repeats}` : ''})`
    );
  const { meanBagSize, sdBagSize } = MNIST[name];
  return (
    `${name}: MNIST-bags, bag size N(${meanBagSize}, ${sdBagSize}), positive bags ` +
    `hold 1–${MNIST_BAGS.witnesses} nines, ${MNIST_BAGS.trainBags} train ` +
    `/ ${MNIST_BAGS.testBags} test bags (raw 784 pixels), one split × ${repeats} training seeds`
  );
}

/** Folds (MNIST-bags: training seeds) of a data set's full protocol. */
export const expectedFolds = (name: ReproDatasetName): number =>
  REPEATS[name] * (name === 'musk1' ? 10 : name === 'colon' ? 5 : 1);

const cohortPathOf = (dir: string, name: ReproDatasetName) => path.join(dir, `${name}.arrow`);
const splitsPathOf = (dir: string, name: ReproDatasetName) => path.join(dir, `${name}.splits.json`);

/** Whether `prepareDataset` has built the data set in `dir`. */
export function isBuilt(dir: string, name: ReproDatasetName): boolean {
  return name === 'colon' ? fs.existsSync(cohortPathOf(dir, name)) : fs.existsSync(splitsPathOf(dir, name));
}

/** Builds (once) and describes a data set with its `REPEATS` CV repetitions or training seeds. */
export async function prepareDataset(name: ReproDatasetName, dir: string): Promise<ReproDataset> {
  const repeats = REPEATS[name];
  fs.mkdirSync(dir, { recursive: true });
  const cohortPath = cohortPathOf(dir, name);
  const splitsPath = splitsPathOf(dir, name);
  const base = { name, cohortPath, train: trainConfigFor(name), description: describeDataset(name) };
  if (!isBuilt(dir, name)) {
    if (name === 'musk1') await musk1.build({ out: cohortPath, source: path.join(dataRoot(), 'musk1') });
    else if (name === 'colon')
      await buildColonCohort(cohortPath, {
        dir: path.join(dataRoot(), 'colon-crchp'),
        featurizer: colorStatsFeaturizer,
      });
    else await mnistBags.build({ out: cohortPath, ...MNIST[name], ...MNIST_BAGS });
  }
  const cohort = await Cohort.open(cohortPath);
  try {
    const expect = (what: string, got: number, want: number) => {
      if (got !== want)
        throw new Error(`${cohortPath}: ${got} ${what}, the protocol expects ${want}; rebuild it (delete the file)`);
    };
    if (name === 'colon') {
      expect('bags', cohort.size, COLON.bags);
      expect(
        'patches',
        cohort.bags.reduce((a, b) => a + b.numInstances, 0),
        COLON.patches,
      );
      const splits = Array.from({ length: repeats }, (_, r) => stratifiedKFold(cohort.bags, { k: 5, seed: 1 + r }));
      return { ...base, splits };
    }
    const all = parseSplitFile(JSON.parse(fs.readFileSync(splitsPath, 'utf8')), cohort.bags, splitsPath);
    if (name === 'musk1') {
      expect('bags', cohort.size, MUSK1_BAGS);
      return { ...base, splits: all.slice(0, Math.min(repeats, all.length)) };
    }
    const [[split]] = all;
    return { ...base, splits: Array.from({ length: repeats }, () => [split]) };
  } finally {
    await cohort.close();
  }
}
