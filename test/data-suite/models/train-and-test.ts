/**
 * What the model learning tests of the data suite share: the two small real benchmarks (MUSK1 with
 * its standard 5 × 10-fold split file; MNIST-bags, 100 training and 200 test bags, seed 1) built
 * once per test file, and one train-then-test run of a registered model with the normal trainer.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Cohort } from '../../../src/data';
import { mnistBags } from '../../../src/data/datasets/mnistBags';
import { musk1 } from '../../../src/data/datasets/musk1';
import { parseSplitFile, stratifiedKFold, type Split, type SplitBag } from '../../../src/data/splits';
import { Trainer, type TrainConfig } from '../../../src/train';
import { sharedData } from '../shared-data';

/** A cohort file and its split file. */
export interface Benchmark {
  cohort: string;
  splits: string;
}

/** MUSK1 (standard splits) and MNIST-bags (100 training / 200 test bags, seed 1), written under `dir`. */
export async function buildBenchmarks(dir: string): Promise<{ musk: Benchmark; mnist: Benchmark }> {
  const m = await musk1.build({ out: path.join(dir, 'musk1.arrow'), source: sharedData('musk1') });
  const b = await mnistBags.build({ out: path.join(dir, 'mnist.arrow'), trainBags: 100, testBags: 200, seed: 1 });
  return {
    musk: { cohort: m.cohort.instancePath, splits: m.splitsPath! },
    mnist: { cohort: b.cohort.instancePath, splits: b.splitsPath! },
  };
}

/** Folds 1-2 of the first repetition of MUSK1's 5 × 10-fold split. */
export const firstTwoFolds = (s: Split[][]): Split[][] => [s[0].slice(0, 2)];
/** Every split of the file (MNIST-bags: its one train/test split). */
export const allSplits = (s: Split[][]): Split[][] => s;
/**
 * Not the file's splits: one stratified split of the bags into 2/3 training and 1/3 test (seed 0; MUSK1: 61/31 bags).
 */
export const oneThirdTest = (_: Split[][], bags: readonly SplitBag[]): Split[][] => [
  [stratifiedKFold(bags, { k: 3, seed: 0 })[0]],
];

/**
 * Trains `model` on the picked splits of a benchmark and returns the run's summary (test metrics,
 * mean ± sd over the folds). Seed 2021 and the last epoch's weights unless `train` says otherwise.
 */
export async function trainAndTest(
  data: Benchmark,
  pick: (s: Split[][], bags: readonly SplitBag[]) => Split[][],
  model: { name: string; config: Record<string, unknown> },
  train: Partial<TrainConfig> & Pick<TrainConfig, 'epochs' | 'lr'>,
) {
  const cohort = await Cohort.open(data.cohort);
  try {
    const splits = pick(
      parseSplitFile(JSON.parse(fs.readFileSync(data.splits, 'utf8')), cohort.bags, data.splits),
      cohort.bags,
    );
    const trainer = new Trainer({ model, config: { selectOn: 'last', seed: 2021, standardize: false, ...train } });
    return (await trainer.crossValidate(cohort, splits)).summary;
  } finally {
    await cohort.close();
  }
}
