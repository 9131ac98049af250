/**
 * Named patch sources for pretraining and extraction (CLI `--dataset`): each opens a stream of
 * `PatchBag`s from the real data, by default under the data root (MILKIT_DATA or ../shared/data).
 */
import * as path from 'node:path';
import { BREAST_ARCHIVE, BREAST_PATCH_SIZE, breastPatchBags } from '../data/datasets/breast';
import { COLON_PATCH_SIZE, colonPatchBags } from '../data/datasets/colon';
import { dataRoot } from '../data/datasets/types';
import type { PatchBag } from '../data/images';

export interface PatchSource {
  name: string;
  describe: string;
  patchSize: number;
  /** Number of bags, for progress bars. */
  bags: number;
  /** `source` overrides the default location (folder or archive). */
  open(source?: string): AsyncGenerator<PatchBag>;
}

export const PATCH_SOURCES: Record<string, PatchSource> = {
  colon: {
    name: 'colon',
    describe: 'colon-crchp: 98 patients, 20,280 nucleus patches of 27 × 27',
    patchSize: COLON_PATCH_SIZE,
    bags: 98,
    open: (source) => colonPatchBags({ dir: source || path.join(dataRoot(), 'colon-crchp') }),
  },
  breast: {
    name: 'breast',
    describe: 'breast-ucsb: 58 images, 32 × 32 tissue tiles (background dropped)',
    patchSize: BREAST_PATCH_SIZE,
    bags: 58,
    open: (source) => breastPatchBags({ source: source || path.join(dataRoot(), 'breast-ucsb', BREAST_ARCHIVE) }),
  },
};

export function patchSource(name: string): PatchSource {
  const s = PATCH_SOURCES[name];
  if (!s) throw new Error(`unknown patch data set "${name}"; known: ${Object.keys(PATCH_SOURCES).join(', ')}`);
  return s;
}
