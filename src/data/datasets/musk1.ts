/**
 * MUSK1 (Dietterich et al. 1997) as a cohort plus a 5 × 10-fold split file, from either form users
 * have: the UCI repository's own `clean1.data` (or `clean1.data.Z`, read as downloaded; bags named
 * by molecule) or a `musk1.csv` (bag_id, bag_label, f1..f166). The folds are the standard
 * protocol's training masks (`musk1.folds.json`, from the MIDatasets collection) when given or found
 * next to the data; without them, seeded stratified folds, and the build says so.
 * Features stay RAW in the cohort: each fold standardises with its own training statistics
 * (`featureStats` + `standardize`), never with statistics that saw the test bags.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { convertCsv } from '../convert/csv';
import { Cohort } from '../cohort';
import { MilkitDataError, fileSystemError } from '../errors';
import { type Split, splitFilePath, splitsFromFoldMasks, toSplitFile, checkSplit, repeatedKFold } from '../splits';
import { writeCohort } from '../writer';
import { type DatasetBuilder, dataRoot, withDefaults } from './types';
import { UCI_MUSK_FEATURES, isUciMuskFile, readUciMusk } from './uciMusk';

export interface Musk1Options {
  /** Folder with the data: musk1.csv, or UCI's clean1.data / clean1.data.Z (default `<data root>/musk1`). */
  source: string;
  /** The data file itself (UCI clean1.data, clean1.data.Z, or musk1.csv); overrides `source`. */
  from: string;
  /** The standard folds (musk1.folds.json); default: that file next to the data, when there. */
  folds: string;
}

/** What MUSK1 is: a build from another file (MUSK2's clean2.data, a truncated download) is refused. */
const MOLECULES = 92;
const CONFORMATIONS = 476;
/** Data files looked for in `source`, in this order. */
const DATA_FILES = ['musk1.csv', 'clean1.data', 'clean1.data.Z'];
const UCI_PAGE = 'https://archive.ics.uci.edu/dataset/74/musk+version+1';

/** The data file to read: `from`, else the first of DATA_FILES in `source`. */
function dataFile(o: Musk1Options): string {
  if (o.from) {
    if (!fs.existsSync(o.from))
      throw new MilkitDataError('MUSK1 data file not found', { file: o.from }, 'check the path given to --from');
    return o.from;
  }
  const source = o.source || path.join(dataRoot(), 'musk1');
  const found = DATA_FILES.map((f) => path.join(source, f)).find((f) => fs.existsSync(f));
  if (!found)
    throw new MilkitDataError(
      `MUSK1 data not found: none of ${DATA_FILES.join(', ')} in the folder`,
      { file: path.join(source, DATA_FILES[0]) },
      `download clean1.data from ${UCI_PAGE} (\`milkit dataset list\` names the files), ` +
        'then pass --from <file> or point --source (or MILKIT_DATA) at its folder',
    );
  return found;
}

/** The fold masks (read before anything is written: a broken fold file must not leave a cohort behind). */
function readFolds(file: string): unknown {
  try {
    return (JSON.parse(fs.readFileSync(file, 'utf8')) as { folds?: unknown }).folds;
  } catch (err) {
    throw new MilkitDataError(
      `not valid JSON: ${(err as Error).message}`,
      { file },
      'restore the original musk1.folds.json (MIDatasets)',
    );
  }
}

/** UCI's clean1.data as a cohort, checked to be MUSK1 (92 molecules, 476 conformations). */
async function writeUci(file: string, out: string, onProgress?: (n: number, total: number) => void) {
  const bags = readUciMusk(file);
  const conformations = bags.reduce((a, b) => a + b.features.length / UCI_MUSK_FEATURES, 0);
  if (bags.length !== MOLECULES || conformations !== CONFORMATIONS)
    throw new MilkitDataError(
      `${bags.length} molecules and ${conformations} conformations; ` +
        `MUSK1 (clean1.data) has ${MOLECULES} and ${CONFORMATIONS}` +
        (bags.length === 102 ? ' (this looks like MUSK2, clean2.data)' : ''),
      { file },
      `give UCI's clean1.data of "Musk (Version 1)" (${UCI_PAGE}); a truncated copy must be downloaded again`,
    );
  let done = 0;
  return writeCohort(
    out,
    (function* () {
      for (const b of bags) {
        yield b;
        onProgress?.(++done, MOLECULES);
      }
    })(),
    {
      dim: UCI_MUSK_FEATURES,
      source: file,
      metadata: {
        'milkit.dataset': 'musk1',
        'milkit.source': file,
        'milkit.converter': 'uci-musk',
        'milkit.note': 'raw features: standardise per fold with training statistics',
      },
    },
  );
}

export const musk1: DatasetBuilder<Musk1Options> = {
  name: 'musk1',
  describe: 'MUSK1 (92 molecules, 476 conformations, 166 raw features) with its 5 × 10-fold split file',
  download:
    `clean1.data (or clean1.data.Z) of "Musk (Version 1)", ${UCI_PAGE} (CC BY 4.0), read as downloaded; ` +
    'for the standard 5 × 10 folds also musk1.folds.json (the training masks of the MIDatasets collection, ' +
    'github.com/komartom/MIDatasets.jl, as JSON: the README says how), else seeded folds; ' +
    'pass --from <file> or put them in $MILKIT_DATA/musk1/ (a musk1.csv with bag_id,bag_label,f1..f166 works too)',
  options: {
    source: {
      type: 'string',
      default: '',
      help: `folder with ${DATA_FILES.join(' or ')} (+ musk1.folds.json) (default: $MILKIT_DATA/musk1)`,
    },
    from: {
      type: 'string',
      default: '',
      help: "the data file itself: UCI's clean1.data or clean1.data.Z as downloaded, or musk1.csv",
    },
    folds: {
      type: 'string',
      default: '',
      help:
        'the standard folds, musk1.folds.json (default: next to the data file; ' +
        'without it, seeded stratified 5 × 10 folds)',
    },
  },
  async build(opts) {
    const o = withDefaults(musk1, opts);
    const file = dataFile(o);
    const foldFile = o.folds || path.join(path.dirname(file), 'musk1.folds.json');
    if (o.folds && !fs.existsSync(foldFile))
      throw new MilkitDataError('MUSK1 fold file not found', { file: foldFile }, 'check the path given to --folds');
    const folds = fs.existsSync(foldFile) ? readFolds(foldFile) : undefined;
    const summary = isUciMuskFile(file)
      ? await writeUci(file, opts.out, opts.onProgress)
      : await convertCsv(file, opts.out, {
          metadata: {
            'milkit.dataset': 'musk1',
            'milkit.note': 'raw features: standardise per fold with training statistics',
          },
          onBag: (n) => opts.onProgress?.(n, MOLECULES),
        });
    const cohort = await Cohort.open(summary.instancePath, { cacheBytes: 0 });
    try {
      let splits: Split[][];
      let origin: string;
      if (folds !== undefined) {
        splits = splitsFromFoldMasks(folds, cohort.size, foldFile);
        origin = `the standard folds of ${foldFile}`;
      } else {
        // Without the fold file: the same shape of protocol, not the same folds (said in the notes and the file).
        splits = repeatedKFold(cohort.bags, { k: 10, repeats: 5, seed: 0 });
        origin =
          `seeded stratified folds (seed 0): not the standard folds, ` +
          `no ${path.basename(foldFile)} next to the data (--folds)`;
      }
      splits.forEach((rep, r) => rep.forEach((s, f) => checkSplit(s, cohort.bags, `fold [${r}][${f}]`)));
      const splitsPath = splitFilePath(summary.instancePath);
      const ids = cohort.bags.map((b) => b.id);
      const text = JSON.stringify(
        toSplitFile(splits, ids, `MUSK1 ${splits.length} × ${splits[0].length}-fold CV, ${origin}`),
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
          `${pos} positive / ${cohort.size - pos} negative bags from ${path.basename(file)}`,
          `${splits.length} × ${splits[0].length}-fold split file: ${origin}`,
        ],
      };
    } finally {
      await cohort.close();
    }
  },
};
