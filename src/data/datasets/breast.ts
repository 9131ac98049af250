/**
 * UCSB (Bisque) breast cancer H&E images (shared/data/breast-ucsb): 58 TIFFs of 896 × 768, label
 * from the file name (`benign` 32 → 0, `malignant` 26 → 1). Each image is one bag of 32 × 32 tiles
 * (stride 32 by default) with near-white, unsaturated background tiles dropped (DEFAULT_BACKGROUND
 * in ../images.ts documents the rule and the measured tile statistics). Coordinates are the tiles'
 * top-left pixels in the image.
 */
import * as path from 'node:path';
import { Cohort } from '../cohort';
import { MilkitDataError } from '../errors';
import {
  type BackgroundFilter,
  type BuildProgress,
  type PatchBag,
  type PatchFeaturizer,
  DEFAULT_BACKGROUND,
  PATCH_FEATURIZERS,
  packTiles,
  rawPixelFeaturizer,
  readImages,
  tileImage,
  writePatchCohort,
} from '../images';
import type { WriteSummary } from '../writer';
import { type DatasetBuilder, dataRoot, withDefaults } from './types';

export const BREAST_ARCHIVE = 'bisque_breast_58_tif.tar.gz';
export const BREAST_PATCH_SIZE = 32;

/** Class from the image name: 1 for `malignant`, 0 for `benign`. */
export function breastLabel(name: string): number {
  const base = path.posix.basename(name).toLowerCase();
  if (base.includes('malignant')) return 1;
  if (base.includes('benign')) return 0;
  throw new MilkitDataError('cannot tell the label from the name (expected "benign" or "malignant")', {
    file: name,
    field: 'label',
  });
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
    const id = path.posix.basename(name).replace(/\.(tiff?|png)$/i, '');
    const label = breastLabel(name);
    const { tiles, dropped } = tileImage(image, {
      size,
      stride: opts.stride,
      background: opts.background ?? DEFAULT_BACKGROUND,
    });
    if (tiles.length === 0)
      throw new MilkitDataError('every tile was rejected as background', { file: image.source, bag: id });
    const { pixels, coords } = packTiles(tiles, size);
    count++;
    yield { id, label, patientId: id, size, n: tiles.length, pixels, coords, meta: { background_dropped: dropped } };
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

export interface BreastBuilderOptions {
  /** The .tar.gz or a folder of TIFFs (default `<data root>/breast-ucsb/bisque_breast_58_tif.tar.gz`). */
  source: string;
  /** Instance features: `raw` (32·32·3 = 3072 pixels in [0, 1]) or `color-stats` (30). */
  features: string;
  size: number;
  stride: number;
  /** Keep background tiles too. */
  keepBackground: boolean;
}

/** Registry entry (`milkit dataset breast`). */
export const breast: DatasetBuilder<BreastBuilderOptions> = {
  name: 'breast',
  describe:
    'UCSB breast cancer H&E images (58 TIFFs): bag = image, 32×32 tiles, background dropped, label from the name',
  download:
    'bisque_breast_58_tif.tar.gz, the 58 UCSB Bisque breast-cancer TMA images ' +
    '(Gelasca et al. 2008); put it in $MILKIT_DATA/breast-ucsb/ or pass --source',
  options: {
    source: {
      type: 'string',
      default: '',
      help: 'bisque_breast_58_tif.tar.gz or a folder of TIFFs (default: $MILKIT_DATA/breast-ucsb/...)',
    },
    features: {
      type: 'string',
      default: 'raw',
      help: `instance features: ${Object.keys(PATCH_FEATURIZERS).join(' | ')}`,
    },
    size: { type: 'number', default: BREAST_PATCH_SIZE, help: 'tile side in pixels' },
    stride: { type: 'number', default: BREAST_PATCH_SIZE, help: 'step between tiles in pixels' },
    keepBackground: { type: 'boolean', default: false, help: 'keep near-white background tiles' },
  },
  async build(opts) {
    const o = withDefaults(breast, opts);
    const featurizer = PATCH_FEATURIZERS[o.features];
    if (!featurizer)
      throw new Error(`unknown --features "${o.features}"; known: ${Object.keys(PATCH_FEATURIZERS).join(', ')}`);
    const source = o.source || path.join(dataRoot(), 'breast-ucsb', BREAST_ARCHIVE);
    const cohort = await buildBreastCohort(opts.out, {
      source,
      size: o.size,
      stride: o.stride,
      background: o.keepBackground ? false : DEFAULT_BACKGROUND,
      featurizer,
      onBag: (n, total) => opts.onProgress?.(n, total ?? 58),
    });
    const c = await Cohort.open(cohort.instancePath, { cacheBytes: 0 });
    const pos = c.bags.filter((b) => b.label === 1).length;
    const dropped = c.bags.reduce((s, b) => s + Number(b.meta.background_dropped ?? 0), 0);
    await c.close();
    return {
      cohort,
      notes: [
        `${cohort.bags} bags: ${pos} malignant / ${cohort.bags - pos} benign, ${cohort.instances} ` +
          `tiles kept, ${dropped} background tiles dropped, D = ${cohort.dim} (${featurizer.name})`,
      ],
    };
  },
};
