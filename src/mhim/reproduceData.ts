/**
 * The data sets of the MHIM reproduction (src/mhim/reproduce.ts), built once into `<out>/data/`:
 * - `musk1`: MUSK1 (92 molecules, 166 raw features) with the standard 5 × 10-fold split file, features
 *   standardised per training fold (`repeats` = how many of the 5 repetitions);
 * - `colon`: the colon-cancer nucleus patches (98 patient bags, 7–389 patches, 30 colour statistics
 *   per patch as in notebook 05), stratified 5-fold CV at patient level (split seed 1);
 * - `mnist50` / `mnist100`: MNIST-bags with mean bag size 50 (sd 10) / 100 (sd 20) and few witnesses
 *   (a positive bag holds 1–3 nines, half the bags positive), 200 training bags from MNIST train and
 *   500 test bags from MNIST test; one fixed train/test split, trained `repeats` times with different
 *   seeds (so mean ± sd is over training seeds, the MNIST-bags convention of Ilse et al.).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Cohort } from '../data/cohort';
import { buildColonCohort } from '../data/datasets/colon';
import { mnistBags } from '../data/datasets/mnistBags';
import { musk1 } from '../data/datasets/musk1';
import { dataRoot } from '../data/datasets/types';
import { colorStatsFeaturizer } from '../data/images';
import { parseSplitFile, stratifiedKFold, type Split } from '../data/splits';
import type { TrainConfig } from '../train/config';

export interface ReproDataset {
  name: string;
  cohortPath: string;
  splits: Split[][];
  /** One line for the protocol. */
  description: string;
  /** Training settings (the same for every MHIM setting and the baseline on this data set). */
  train: Partial<TrainConfig>;
}

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

export const REPRO_DATASETS = ['musk1', 'colon', 'mnist50', 'mnist100'] as const;
export type ReproDatasetName = (typeof REPRO_DATASETS)[number];

const MNIST = { mnist50: { meanBagSize: 50, sdBagSize: 10 }, mnist100: { meanBagSize: 100, sdBagSize: 20 } } as const;
const MNIST_BAGS = { trainBags: 200, testBags: 500, witnesses: 3, positiveFraction: 0.5, seed: 1 } as const;

/** Builds (once) and describes a data set; `repeats` = CV repetitions (colon) or training seeds (MNIST). */
export async function prepareDataset(name: ReproDatasetName, dir: string, repeats: number): Promise<ReproDataset> {
  fs.mkdirSync(dir, { recursive: true });
  const cohortPath = path.join(dir, `${name}.arrow`);
  if (name === 'musk1') {
    const built = fs.existsSync(cohortPath)
      ? undefined
      : await musk1.build({ out: cohortPath, source: path.join(dataRoot(), 'musk1') });
    const splitsPath = built?.splitsPath ?? path.join(dir, `${name}.splits.json`);
    const cohort = await Cohort.open(cohortPath);
    try {
      const all = parseSplitFile(JSON.parse(fs.readFileSync(splitsPath, 'utf8')), cohort.bags, splitsPath);
      const splits = all.slice(0, Math.min(repeats, all.length));
      return {
        name,
        cohortPath,
        splits,
        train: trainConfigFor(name),
        description: `musk1: MUSK1 (${cohort.size} bags, 166 raw features standardised per training fold), the standard 10-fold splits × ${splits.length} repetitions`,
      };
    } finally {
      await cohort.close();
    }
  }
  if (name === 'colon') {
    if (!fs.existsSync(cohortPath))
      await buildColonCohort(cohortPath, {
        dir: path.join(dataRoot(), 'colon-crchp'),
        featurizer: colorStatsFeaturizer,
      });
    const cohort = await Cohort.open(cohortPath);
    try {
      const splits = Array.from({ length: repeats }, (_, r) => stratifiedKFold(cohort.bags, { k: 5, seed: 1 + r }));
      return {
        name,
        cohortPath,
        splits,
        train: trainConfigFor(name),
        description: `colon: ${cohort.size} patient bags (${cohort.bags.reduce((a, b) => a + b.numInstances, 0)} patches, 30 colour statistics each), stratified 5-fold CV × ${repeats} (split seed 1${repeats > 1 ? `..${repeats}` : ''})`,
      };
    } finally {
      await cohort.close();
    }
  }
  const splitsPath = path.join(dir, `${name}.splits.json`);
  if (!fs.existsSync(splitsPath)) await mnistBags.build({ out: cohortPath, ...MNIST[name], ...MNIST_BAGS });
  const cohort = await Cohort.open(cohortPath);
  try {
    const [[split]] = parseSplitFile(JSON.parse(fs.readFileSync(splitsPath, 'utf8')), cohort.bags, splitsPath);
    const { meanBagSize, sdBagSize } = MNIST[name];
    return {
      name,
      cohortPath,
      splits: Array.from({ length: repeats }, () => [split]),
      train: trainConfigFor(name),
      description: `${name}: MNIST-bags, bag size N(${meanBagSize}, ${sdBagSize}), positive bags hold 1–${MNIST_BAGS.witnesses} nines, ${MNIST_BAGS.trainBags} train / ${MNIST_BAGS.testBags} test bags (raw 784 pixels), one split × ${repeats} training seeds`,
    };
  } finally {
    await cohort.close();
  }
}
