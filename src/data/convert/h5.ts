/**
 * CLAM / TRIDENT per-slide feature files (.h5) → cohort.
 *
 * Each slide is `<dir>/<slide_id>.h5` with `features` [N, D] (CLAM also writes [1, N, D]; float16,
 * float32 or float64) and optional `coords` [N, 2] patch positions (level-0 pixels, any integer
 * type). Labels come from a CSV (labels.ts); the slide id names the .h5 file, with or without the
 * slide's own extension (`.svs`, ...). The folder may also be a CLAM or TRIDENT results folder that
 * holds exactly one folder of .h5 files (`h5_files/`, `20x_256px_0px_overlap/features_uni_v1/`).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { type BagRecord } from '../bag';
import { CLASSES_KEY } from '../classes';
import { MilkitDataError, type NoticeSink, stderrNotice } from '../errors';
import { writeCohort, type WriteSummary } from '../writer';
import { toInt32 } from '../numeric';
import { type H5File, loadH5wasm, readNumeric } from './h5read';
import { type LabelOptions, type LabelRow, readLabelTable } from './labels';

export { loadH5wasm, type H5Module } from './h5read';

export interface H5ConvertOptions extends Omit<LabelOptions, 'idColumn'> {
  /** Labels CSV: `slide_id,label[,patient_id|case_id][,time,event]`. */
  labels: string;
  /** Leave out slides listed in the labels CSV that have no .h5 file (default: refuse). */
  skipMissing?: boolean;
  /** Extra schema metadata for the cohort. */
  metadata?: Record<string, string>;
  /** Called after each slide is written. */
  onBag?: (bagsDone: number, total: number) => void;
  /** One-line notes about conversions (default: printed to stderr). */
  onNotice?: NoticeSink;
}

export interface H5Slide {
  features: Float32Array;
  dim: number;
  coords?: Int32Array;
  /** The stored feature type (float16 and float64 are converted to float32). */
  featureKind: string;
}

const HDF5_SIGNATURE = Buffer.from([0x89, 0x48, 0x44, 0x46, 0x0d, 0x0a, 0x1a, 0x0a]);

/** HDF5's superblock signature sits at byte 0, or 512, 1024, 2048, ... after a user block. */
function hasHdf5Signature(file: string): boolean {
  const fd = fs.openSync(file, 'r');
  try {
    const size = fs.fstatSync(fd).size;
    const buf = Buffer.alloc(8);
    for (let at = 0; at + 8 <= size; at = at === 0 ? 512 : at * 2) {
      fs.readSync(fd, buf, 0, 8, at);
      if (buf.equals(HDF5_SIGNATURE)) return true;
    }
    return false;
  } finally {
    fs.closeSync(fd);
  }
}

/** A [N, D] matrix shape, accepting CLAM's [1, N, D]. */
function matrixShape(shape: number[]): number[] {
  return shape.length === 3 && shape[0] === 1 ? shape.slice(1) : shape;
}

/** Reads one slide's features and coordinates, completely and checked, or throws naming the dataset. */
export async function readH5Slide(file: string): Promise<H5Slide> {
  const h5wasm = await loadH5wasm();
  if (!fs.existsSync(file)) throw new MilkitDataError('feature file not found', { file }, 'check the path');
  if (!hasHdf5Signature(file))
    throw new MilkitDataError(
      'not an HDF5 file (no HDF5 signature: truncated, or another format?)',
      { file },
      'recreate the file, or remove its row from the labels CSV',
    );
  let f: H5File;
  try {
    f = new h5wasm.File(file, 'r');
  } catch (err) {
    const reason = (err as Error).message.split('\n').at(-2)?.trim() ?? 'unreadable';
    throw new MilkitDataError(`not a readable HDF5 file (${reason})`, { file }, 'recreate or re-copy the file');
  }
  try {
    const keys = f.keys();
    if (!keys.includes('features') || !(f.get('features') instanceof h5wasm.Dataset))
      throw new MilkitDataError(
        `no "features" dataset (found: ${keys.join(', ') || 'nothing'})`,
        { file, field: 'features' },
        'store the [N, D] feature matrix as "features" (as CLAM and TRIDENT do)',
      );
    const feats = await readNumeric(file, f, 'features');
    const shape = matrixShape(feats.shape);
    if (shape.length !== 2 || shape[0] < 1 || shape[1] < 1)
      throw new MilkitDataError(
        `"features" must be [N, D] (or [1, N, D]) with N, D ≥ 1, got [${feats.shape.join(', ')}]`,
        { file, field: 'features' },
        'store one row per patch',
      );
    if (!feats.kind.startsWith('float'))
      throw new MilkitDataError(
        `"features" holds ${feats.kind} values; features must be floating point`,
        { file, field: 'features' },
        'store the features as float32 (e.g. features.astype("float32"))',
      );
    const [n, dim] = shape;
    const features = feats.values instanceof Float32Array ? feats.values : Float32Array.from(feats.values);
    let coords: Int32Array | undefined;
    if (keys.includes('coords')) {
      const c = await readNumeric(file, f, 'coords');
      const cs = matrixShape(c.shape);
      if (cs.length !== 2 || cs[0] !== n || cs[1] !== 2)
        throw new MilkitDataError(
          `"coords" must be [${n}, 2] to match ${n} feature rows, got [${c.shape.join(', ')}]`,
          { file, field: 'coords' },
          'store one (x, y) pair per feature row',
        );
      coords = toInt32(c.values, { file, field: 'coords' });
    }
    return { features, dim, coords, featureKind: feats.kind };
  } finally {
    f.close();
  }
}

/** The folder that holds the .h5 files: `dir` itself, or its only descendant folder with .h5 files. */
export function featureFolder(dir: string, notice: NoticeSink): string {
  if (!fs.existsSync(dir) || !fs.statSync(dir).isDirectory())
    throw new MilkitDataError('not a folder of .h5 files', { file: dir }, 'give the folder that holds <slide_id>.h5');
  const hasH5 = (d: string) => fs.readdirSync(d).some((f) => f.endsWith('.h5'));
  if (hasH5(dir)) return dir;
  const found: string[] = [];
  const walk = (d: string, depth: number) => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      if (!e.isDirectory()) continue;
      const sub = path.join(d, e.name);
      if (hasH5(sub)) found.push(sub);
      else if (depth < 3) walk(sub, depth + 1);
    }
  };
  walk(dir, 1);
  if (found.length === 1) {
    notice(`reading the .h5 files in ${found[0]}`);
    return found[0];
  }
  throw new MilkitDataError(
    found.length ? `holds several folders of .h5 files: ${found.join(', ')}` : 'holds no .h5 files',
    { file: dir },
    found.length ? 'pass the one folder to convert' : 'give the folder that holds <slide_id>.h5',
  );
}

/** Slide-file extensions that label CSVs often keep in slide_id (`x.svs` → `x.h5`). */
const SLIDE_EXTENSIONS = /\.(svs|tif|tiff|ndpi|mrxs|scn|vms|vmu|bif|czi|isyntax|dcm|qptiff|h5)$/i;

export interface MatchOptions {
  /** Leave out rows without a file (with a notice) instead of refusing them. */
  skipMissing?: boolean;
  /** Files without a row: left out with a notice (default), or refused unless `skipUnlabelled`. */
  unlabelled?: 'notice' | 'refuse';
  skipUnlabelled?: boolean;
  /** What a file is, in messages (default "feature file"). */
  what?: string;
  /** The fix for rows without a file (default: drop the rows or pass --skip-missing). */
  missingFix?: string;
}

/**
 * Matches the rows of a labels CSV to the `<slide_id>.h5` files of `dir` (a slide id may keep its
 * slide extension, `x.svs` → `x.h5`). A row without a file is refused naming the rows (or skipped
 * with `skipMissing`); a file without a row is left out with a notice, or refused with
 * `unlabelled: 'refuse'`.
 */
export function matchLabelledFiles(
  rows: LabelRow[],
  dir: string,
  labels: string,
  opts: MatchOptions,
  notice: NoticeSink,
): { row: LabelRow; id: string; file: string }[] {
  const what = opts.what ?? 'feature file';
  const inFolder = new Set(fs.readdirSync(dir).filter((f) => f.endsWith('.h5')));
  let stripped = 0;
  const matched: { row: LabelRow; id: string; file: string }[] = [];
  const missing: LabelRow[] = [];
  for (const row of rows) {
    const bare = row.id.replace(SLIDE_EXTENSIONS, '');
    if (inFolder.has(`${row.id}.h5`)) matched.push({ row, id: row.id, file: path.join(dir, `${row.id}.h5`) });
    else if (bare !== row.id && inFolder.has(`${bare}.h5`)) {
      matched.push({ row, id: bare, file: path.join(dir, `${bare}.h5`) });
      stripped++;
    } else missing.push(row);
  }
  if (stripped) notice(`${stripped} slide ids in ${labels} end in a slide extension (.svs, ...): matched without it`);
  const some = (ids: string[]) => `${ids.slice(0, 3).join(', ')}${ids.length > 3 ? ', ...' : ''}`;
  if (missing.length && !opts.skipMissing) {
    throw new MilkitDataError(
      `line ${missing[0].line}: ${missing.length} of ${rows.length} ` +
        `slides have no ${what} in ${dir} (${some(missing.map((r) => r.id))})`,
      { file: labels, bag: missing[0].id },
      opts.missingFix ?? 'remove those rows from the labels CSV, or pass --skip-missing to leave them out',
    );
  }
  if (missing.length)
    notice(
      `${missing.length} slides of ${labels} have no ${opts.what ?? '.h5 file'} and are left out (--skip-missing)`,
    );
  const used = new Set(matched.map((m) => path.basename(m.file)));
  const unlabelled = [...inFolder].filter((f) => !used.has(f)).sort();
  if (unlabelled.length && opts.unlabelled === 'refuse' && !opts.skipUnlabelled)
    throw new MilkitDataError(
      `${unlabelled.length} of ${inFolder.size} slides in ${dir} have no row in ` +
        `the labels CSV (${some(unlabelled.map((f) => f.replace(/\.h5$/, '')))})`,
      { file: labels, bag: unlabelled[0].replace(/\.h5$/, '') },
      'add a row (slide_id,label) for each, or pass --skip-unlabelled to leave them out',
    );
  if (unlabelled.length)
    notice(
      `${unlabelled.length} .h5 files in ${dir} have no row in ${labels} and are left out (e.g. ${unlabelled[0]})`,
    );
  if (matched.length === 0)
    throw new MilkitDataError(
      `no slide of the labels CSV has a ${what} in ${dir}`,
      { file: labels },
      'check the folder',
    );
  return matched;
}

/** Converts a folder of per-slide .h5 files plus a labels CSV to a cohort at `out`. */
export async function convertH5(
  dir: string,
  out: string,
  opts: H5ConvertOptions,
): Promise<WriteSummary & { classes?: string[] }> {
  const notice = opts.onNotice ?? stderrNotice;
  const folder = featureFolder(dir, notice);
  const table = await readLabelTable(opts.labels, opts);
  if (table.patientColumn && !opts.patientColumn)
    notice(
      `patients from column "${table.patientColumn}" of ${opts.labels}: ` +
        `a patient's slides stay on one side of every split`,
    );
  const slides = matchLabelledFiles(table.rows, folder, opts.labels, opts, notice);
  const first = await readH5Slide(slides[0].file);
  let coordsSeen: boolean | undefined;
  const converted = new Set<string>();
  const bags = (async function* (): AsyncGenerator<BagRecord> {
    for (const [i, { row, id, file }] of slides.entries()) {
      const s = i === 0 ? first : await readH5Slide(file);
      if (s.dim !== first.dim)
        throw new MilkitDataError(
          `feature width ${s.dim} differs from ${first.dim} in ${slides[0].file}`,
          { file, bag: id, field: 'features' },
          'convert slides of one feature extractor together',
        );
      coordsSeen ??= Boolean(s.coords);
      if (coordsSeen !== Boolean(s.coords))
        throw new MilkitDataError(
          `"coords" must be present in every file or in none (${slides[0].file} ${coordsSeen ? 'has' : 'has none'})`,
          { file, bag: id, field: 'coords' },
          'extract the slides with the same pipeline',
        );
      if (s.featureKind !== 'float32') converted.add(s.featureKind);
      yield {
        id,
        label: row.label,
        patientId: row.patientId,
        time: row.time,
        event: row.event,
        features: s.features,
        coords: s.coords,
      };
      opts.onBag?.(i + 1, slides.length);
    }
  })();
  const metadata: Record<string, string> = { 'milkit.source': dir, 'milkit.converter': 'h5', ...opts.metadata };
  if (table.classes) metadata[CLASSES_KEY] = JSON.stringify(table.classes);
  const summary = await writeCohort(out, bags, { dim: first.dim, metadata, source: opts.labels });
  if (converted.has('float16')) notice('features stored as float16 were widened to float32 (exact)');
  if (converted.has('float64')) notice('features stored as float64 were rounded to float32');
  return table.classes ? { ...summary, classes: table.classes } : summary;
}
