/**
 * Location of the real data sets (../shared/data in CI; override with MILKIT_DATA).
 * The data suite needs them; without them it fails with a message that says what to provide.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

export const DATA_ROOT = path.resolve(
  process.env.MILKIT_DATA ?? path.join(__dirname, '..', '..', '..', 'shared', 'data'),
);

/** Absolute path of a file or folder under the data root; throws a plain explanation when absent. */
export function sharedData(rel: string): string {
  const p = path.join(DATA_ROOT, rel);
  if (!fs.existsSync(p)) {
    throw new Error(
      `the data suite needs the real data sets: ${p} is missing. ` +
        `Put the project's shared data folder (musk1/, colon-crchp/, breast-ucsb/ with their README) at ${DATA_ROOT} ` +
        `or set MILKIT_DATA to its path. Unit tests that need no data: npm run test:unit.`,
    );
  }
  return p;
}
