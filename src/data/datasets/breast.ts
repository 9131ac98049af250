/**
 * UCSB (Bisque) breast cancer H&E images (shared/data/breast-ucsb): 58 TIFFs of 896 × 768, label
 * from the file name (`benign` 32 → 0, `malignant` 26 → 1). Each image is one bag of 32 × 32 tiles
 * (stride 32 by default) with near-white, unsaturated background tiles dropped (DEFAULT_BACKGROUND
 * in ../images.ts documents the rule and the measured tile statistics). Coordinates are the tiles'
 * top-left pixels in the image.
 */
import * as path from 'node:path';
import { MilkitDataError } from '../errors';
import {
  type BackgroundFilter, type BuildProgress, type PatchBag, type PatchFeaturizer, DEFAULT_BACKGROUND,
  packTiles, rawPixelFeaturizer, readImages, tileImage, writePatchCohort,
} from '../images';
import type { WriteSummary } from '../writer';

export const BREAST_ARCHIVE = 'bisque_breast_58_tif.tar.gz';
export const BREAST_PATCH_SIZE = 32;

/** Class from the image name: 1 for `malignant`, 0 for `benign`. */
export function breastLabel(name: string): number {
  const base = path.posix.basename(name).toLowerCase();
  if (base.includes('malignant')) return 1;
  if (base.includes('benign')) return 0;
  throw new MilkitDataError('cannot tell the label from the name (expected "benign" or "malignant")', { file: name, field: 'label' });
}

export interface BreastOptions {
  /** The .tar.gz archive, or a folder of TIFFs (shared/data/breast-ucsb/bisque_breast_58_tif.tar.gz). */
  source: string;
  size?: number;
  stride?: number;
  background?: BackgroundFilter | false;
  /** Keep at most this many images (in archive order), e.g. for tests. */
  limit?: number;
}

/** Streams one tiled `PatchBag` per image (one decoded image in memory at a time). */
export async function* breastPatchBags(opts: BreastOptions): AsyncGenerator<PatchBag> {
  const size = opts.size ?? BREAST_PATCH_SIZE;
  let count = 0;
  for await (const { name, image } of readImages(opts.source)) {
    if (opts.limit !== undefined && count >= opts.limit) break;
    const id = path.posix.basename(name).replace(/\.tiff?$/i, '');
    const { tiles, dropped } = tileImage(image, { size, stride: opts.stride, background: opts.background ?? DEFAULT_BACKGROUND });
    if (tiles.length === 0) throw new MilkitDataError('every tile was rejected as background', { file: image.source, bag: id });
    const { pixels, coords } = packTiles(tiles, size);
    count++;
    yield { id, label: breastLabel(name), patientId: id, size, n: tiles.length, pixels, coords, meta: { background_dropped: dropped } };
  }
}

/** Builds the breast cohort at `out` (raw pixels D = 3072 by default, or e.g. colorStatsFeaturizer). */
export async function buildBreastCohort(
  out: string,
  opts: BreastOptions & { featurizer?: PatchFeaturizer; onBag?: BuildProgress },
): Promise<WriteSummary> {
  const size = opts.size ?? BREAST_PATCH_SIZE;
  const bg = opts.background ?? DEFAULT_BACKGROUND;
  return writePatchCohort(out, breastPatchBags(opts), opts.featurizer ?? rawPixelFeaturizer, {
    patchSize: size,
    onBag: opts.onBag,
    total: opts.limit ?? (opts.source.endsWith(BREAST_ARCHIVE) ? 58 : undefined),
    metadata: {
      'milkit.dataset': 'breast-ucsb',
      'milkit.source': opts.source,
      'milkit.background': bg ? JSON.stringify(bg) : 'none',
      'milkit.stride': String(opts.stride ?? size),
    },
  });
}
