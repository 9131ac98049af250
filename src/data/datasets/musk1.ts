/**
 * MUSK1 (Dietterich et al. 1997) from `<data>/musk1/`: `musk1.csv` (bag_id, bag_label, f1..f166)
 * and `musk1.folds.json` (the standard 5 × 10-fold protocol as training masks).
 * Features stay RAW in the cohort: each fold standardises with its own training statistics
 * (`featureStats` + `standardize`), never with statistics that saw the test bags.
 * The fold file is rewritten as a milkit split file (bag ids) next to the cohort.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { convertCsv } from '../convert/csv';
import { Cohort } from '../cohort';
import { MilkitDataError, fileSystemError } from '../errors';
import { splitFilePath, splitsFromFoldMasks, toSplitFile, checkSplit } from '../splits';
import { type DatasetBuilder, dataRoot, withDefaults } from './types';

export interface Musk1Options {
  /** Folder with musk1.csv and musk1.folds.json (default `<data root>/musk1`). */
  source: string;
}

export const musk1: DatasetBuilder<Musk1Options> = {
  name: 'musk1',
  describe: 'MUSK1 (92 molecules, 476 conformations, 166 raw features) with its 5 × 10-fold split file',
  download:
    'musk1.csv (bag_id, bag_label, f1..f166: clean1.data of "Musk (Version 1)", ' +
    'https://archive.ics.uci.edu/dataset/74/musk+version+1, CC BY 4.0, molecules numbered 1-92) and ' +
    'musk1.folds.json (the standard 5 × 10-fold training masks of the MIDatasets collection, ' +
    'github.com/komartom/MIDatasets.jl); the README says how; put them in $MILKIT_DATA/musk1/ or pass --source',
  options: {
    source: {
      type: 'string',
      default: '',
      help: 'folder with musk1.csv and musk1.folds.json (default: $MILKIT_DATA/musk1)',
    },
  },
  async build(opts) {
    const o = withDefaults(musk1, opts);
    const source = o.source || path.join(dataRoot(), 'musk1');
    const csv = path.join(source, 'musk1.csv');
    const foldFile = path.join(source, 'musk1.folds.json');
    if (!fs.existsSync(csv))
      throw new MilkitDataError(
        'MUSK1 CSV not found',
        { file: csv },
        'download it first (`milkit dataset list` names the source and ' +
          'files), then point --source (or MILKIT_DATA) at the musk1 folder',
      );
    if (!fs.existsSync(foldFile))
      throw new MilkitDataError('MUSK1 fold file not found', { file: foldFile }, 'point --source at the musk1 folder');
    // The fold file is read first: a broken one must not leave a cohort behind.
    let folds: unknown;
    try {
      folds = (JSON.parse(fs.readFileSync(foldFile, 'utf8')) as { folds?: unknown }).folds;
    } catch (err) {
      throw new MilkitDataError(
        `not valid JSON: ${(err as Error).message}`,
        { file: foldFile },
        'restore the original musk1.folds.json (MIDatasets)',
      );
    }
    const summary = await convertCsv(csv, opts.out, {
      metadata: {
        'milkit.dataset': 'musk1',
        'milkit.note': 'raw features: standardise per fold with training statistics',
      },
      onBag: (n) => opts.onProgress?.(n, 92),
    });
    const cohort = await Cohort.open(summary.instancePath, { cacheBytes: 0 });
    try {
      const splits = splitsFromFoldMasks(folds, cohort.size, foldFile);
      splits.forEach((rep, r) => rep.forEach((s, f) => checkSplit(s, cohort.bags, `fold [${r}][${f}]`)));
      const splitsPath = splitFilePath(summary.instancePath);
      const ids = cohort.bags.map((b) => b.id);
      const text = JSON.stringify(
        toSplitFile(splits, ids, `MUSK1 ${splits.length} × ${splits[0].length}-fold CV from ${foldFile}`),
      );
      try {
        fs.writeFileSync(splitsPath, text);
      } catch (err) {
        throw fileSystemError(err, splitsPath, 'write the split file');
      }
      const pos = cohort.bags.filter((b) => b.label === 1).length;
      return {
        cohort: summary,
        splitsPath,
        notes: [
          `${pos} positive / ${cohort.size - pos} negative bags`,
          `${splits.length} × ${splits[0].length}-fold split file`,
        ],
      };
    } finally {
      await cohort.close();
    }
  },
};
