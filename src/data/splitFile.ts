/** Reading and writing split files on disk (the pure logic is in splits.ts). */
import * as fs from 'node:fs';
import { MilkitDataError, fileSystemError } from './errors';
import { type Split, type SplitBag, parseSplitFile, toSplitFile } from './splits';

/** Reads a split file of either format and checks it against the cohort's bags (ranges, duplicates, patient leaks). */
export function readSplitFile(file: string, bags: readonly SplitBag[]): Split[][] {
  if (!fs.existsSync(file)) throw new MilkitDataError('split file not found', { file }, 'check the path');
  let json: unknown;
  try {
    json = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (err) {
    throw new MilkitDataError(
      `not valid JSON: ${(err as Error).message}`,
      { file },
      'repair the JSON (docs/FORMAT.md shows the format), or write it again with milkit splits',
    );
  }
  return parseSplitFile(json, bags, file);
}

/** Writes splits as a milkit split file (bag ids). */
export function writeSplitFile(file: string, splits: Split[][], bagIds: readonly string[], description?: string): void {
  try {
    fs.writeFileSync(file, `${JSON.stringify(toSplitFile(splits, bagIds, description))}\n`);
  } catch (err) {
    throw fileSystemError(err, file, 'write the split file');
  }
}
