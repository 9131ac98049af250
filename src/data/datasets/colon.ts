/**
 * Colon cancer nucleus patches (CRCHistoPhenotypes course release, shared/data/colon-crchp):
 * bag = patient (data_labels_mainData.csv + data_labels_extraData.csv), instance = 27 × 27 RGB
 * patch, instance label = isCancerous, bag label = 1 if any instance is cancerous.
 * Expected: 98 bags, 51 positive / 47 negative, 7-389 patches per bag.
 *
 * The patches are separate PNGs with no position in a slide, so `coords` lay each bag's patches out
 * as a mosaic (row-major grid of 27-pixel cells, in InstanceID order): usable for drawing a bag,
 * meaningless for positional models (recorded as `milkit.coords = mosaic` in the metadata).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Cohort } from '../cohort';
import { MilkitDataError } from '../errors';
import {
  type BuildProgress,
  type PatchBag,
  type PatchFeaturizer,
  PATCH_FEATURIZERS,
  rawPixelFeaturizer,
  readArchiveImages,
  writePatchCohort,
} from '../images';
import type { WriteSummary } from '../writer';
import { type DatasetBuilder, dataRoot, withDefaults } from './types';

export const COLON_PATCH_SIZE = 27;
export const COLON_FILES = {
  archive: 'patch_images.tar',
  main: 'data_labels_mainData.csv',
  extra: 'data_labels_extraData.csv',
} as const;

interface InstanceRow {
  instanceId: string;
  patient: string;
  isCancerous: number;
  source: 'main' | 'extra';
}

/** Reads one label CSV (plain comma-separated, no quoting), checking the columns we need. */
function readLabels(file: string, source: InstanceRow['source']): InstanceRow[] {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    throw new MilkitDataError(`cannot read label file: ${(err as Error).message}`, { file });
  }
  const lines = text.split(/\r?\n/).filter((l) => l.trim() !== '');
  const header = lines[0]?.split(',') ?? [];
  const col = (name: string) => {
    const i = header.indexOf(name);
    if (i < 0) throw new MilkitDataError(`missing column (header: ${header.join(',')})`, { file, field: name });
    return i;
  };
  const [iId, iPatient, iLabel] = [col('InstanceID'), col('patientID'), col('isCancerous')];
  return lines.slice(1).map((line, r) => {
    const f = line.split(',');
    const isCancerous = Number(f[iLabel]);
    if (isCancerous !== 0 && isCancerous !== 1)
      throw new MilkitDataError(`isCancerous must be 0 or 1, got "${f[iLabel]}"`, {
        file,
        row: r + 2,
        field: 'isCancerous',
      });
    return { instanceId: f[iId], patient: f[iPatient], isCancerous, source };
  });
}

export interface ColonOptions {
  /** Folder holding the three colon files (shared/data/colon-crchp). */
  dir: string;
  /** Use only data_labels_mainData.csv (60 patients) instead of main + extra (98). */
  mainOnly?: boolean;
  /** Keep only these patient ids (e.g. a few for tests). */
  patients?: string[];
}

/**
 * Reads the colon patches and yields one `PatchBag` per patient, in ascending patient order.
 * The archive is in random order, so all selected patches are decoded first (98 patients: 44 MB).
 */
export async function* colonPatchBags(opts: ColonOptions): AsyncGenerator<PatchBag> {
  const rows = [...readLabels(path.join(opts.dir, COLON_FILES.main), 'main')];
  if (!opts.mainOnly) rows.push(...readLabels(path.join(opts.dir, COLON_FILES.extra), 'extra'));
  const wanted = opts.patients ? new Set(opts.patients) : undefined;
  const byImage = new Map<string, InstanceRow>();
  for (const r of rows) if (!wanted || wanted.has(r.patient)) byImage.set(`${r.instanceId}.png`, r);
  if (byImage.size === 0)
    throw new MilkitDataError(`no instances for patients ${opts.patients?.join(', ')}`, {
      file: path.join(opts.dir, COLON_FILES.main),
      field: 'patientID',
    });

  const archive = path.join(opts.dir, COLON_FILES.archive);
  const patch = new Map<string, Uint8Array>();
  for await (const { name, image } of readArchiveImages(archive, { include: (n) => byImage.has(n) })) {
    if (image.width !== COLON_PATCH_SIZE || image.height !== COLON_PATCH_SIZE) {
      throw new MilkitDataError(
        `expected a ${COLON_PATCH_SIZE}×${COLON_PATCH_SIZE} patch, got ${image.width}×${image.height}`,
        { file: `${archive}:${name}` },
      );
    }
    patch.set(path.posix.basename(name), image.data);
  }

  const patients = new Map<string, InstanceRow[]>();
  for (const [image, r] of byImage) {
    if (!patch.has(image))
      throw new MilkitDataError(`patch ${image} listed in the labels is missing from the archive`, {
        file: archive,
        bag: `patient-${r.patient}`,
      });
    (patients.get(r.patient) ?? patients.set(r.patient, []).get(r.patient)!).push(r);
  }
  const per = COLON_PATCH_SIZE * COLON_PATCH_SIZE * 3;
  for (const id of [...patients.keys()].sort((a, b) => Number(a) - Number(b) || a.localeCompare(b))) {
    const inst = patients.get(id)!.sort((a, b) => Number(a.instanceId) - Number(b.instanceId));
    const n = inst.length;
    const pixels = new Uint8Array(n * per);
    const coords = new Int32Array(2 * n);
    const cols = Math.ceil(Math.sqrt(n));
    inst.forEach((r, i) => {
      pixels.set(patch.get(`${r.instanceId}.png`)!, i * per);
      coords[2 * i] = (i % cols) * COLON_PATCH_SIZE;
      coords[2 * i + 1] = Math.floor(i / cols) * COLON_PATCH_SIZE;
    });
    const instanceLabels = Int32Array.from(inst, (r) => r.isCancerous);
    yield {
      id: `patient-${id}`,
      label: instanceLabels.some((v) => v === 1) ? 1 : 0,
      patientId: id,
      size: COLON_PATCH_SIZE,
      n,
      pixels,
      coords,
      instanceLabels,
      meta: { source: inst[0].source },
    };
  }
}

/** Builds the colon cohort at `out` (raw pixels D = 2187 by default, or e.g. colorStatsFeaturizer). */
export async function buildColonCohort(
  out: string,
  opts: ColonOptions & { featurizer?: PatchFeaturizer; onBag?: BuildProgress },
): Promise<WriteSummary> {
  const featurizer = opts.featurizer ?? rawPixelFeaturizer;
  return writePatchCohort(out, colonPatchBags(opts), featurizer, {
    patchSize: COLON_PATCH_SIZE,
    onBag: opts.onBag,
    total: opts.patients?.length ?? (opts.mainOnly ? 60 : 98),
    metadata: { 'milkit.dataset': 'colon-crchp', 'milkit.coords': 'mosaic', 'milkit.source': opts.dir },
  });
}

export interface ColonBuilderOptions {
  /** Folder with the colon files (default `<data root>/colon-crchp`). */
  source: string;
  /** Instance features: `raw` (27·27·3 = 2187 pixels in [0, 1]) or `color-stats` (30). */
  features: string;
  mainOnly: boolean;
}

/** Registry entry (`milkit dataset colon`). */
export const colon: DatasetBuilder<ColonBuilderOptions> = {
  name: 'colon',
  describe:
    'colon cancer nucleus patches (CRCHistoPhenotypes): bag = patient, 27×27 patches, instance label = isCancerous',
  download:
    'patch_images.tar, data_labels_mainData.csv and data_labels_extraData.csv ' +
    'of the CRCHistoPhenotypes colon-cancer nucleus patches (Sirinukunwattana et ' +
    'al., IEEE TMI 2016); put them in $MILKIT_DATA/colon-crchp/ or pass --source',
  options: {
    source: {
      type: 'string',
      default: '',
      help: 'folder with patch_images.tar and the two label CSVs (default: $MILKIT_DATA/colon-crchp)',
    },
    features: {
      type: 'string',
      default: 'raw',
      help: `instance features: ${Object.keys(PATCH_FEATURIZERS).join(' | ')}`,
    },
    mainOnly: { type: 'boolean', default: false, help: 'only data_labels_mainData.csv (60 patients)' },
  },
  async build(opts) {
    const o = withDefaults(colon, opts);
    const featurizer = PATCH_FEATURIZERS[o.features];
    if (!featurizer)
      throw new Error(`unknown --features "${o.features}"; known: ${Object.keys(PATCH_FEATURIZERS).join(', ')}`);
    const dir = o.source || path.join(dataRoot(), 'colon-crchp');
    const total = o.mainOnly ? 60 : 98;
    const cohort = await buildColonCohort(opts.out, {
      dir,
      mainOnly: o.mainOnly,
      featurizer,
      onBag: (n) => opts.onProgress?.(n, total),
    });
    const c = await Cohort.open(cohort.instancePath, { cacheBytes: 0 });
    const pos = c.bags.filter((b) => b.label === 1).length;
    await c.close();
    return {
      cohort,
      notes: [
        `${cohort.bags} bags: ${pos} positive / ${cohort.bags - pos} ` +
          `negative, ${cohort.instances} patches, D = ${cohort.dim} (${featurizer.name})`,
      ],
    };
  },
};
