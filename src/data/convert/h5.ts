/**
 * CLAM / TRIDENT per-slide feature files (.h5) → cohort.
 *
 * Each slide is `<dir>/<slide_id>.h5` with `features` [N, D] float32 (CLAM also writes [1, N, D])
 * and `coords` [N, 2] int64 patch positions (level-0 pixels). Labels come from a CSV
 * `slide_id,label[,patient_id][,time,event]`; the slide id names the .h5 file. Labels may be
 * integers or class names (mapped to 0..C-1 in sorted order and recorded in `milkit.classes`).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { type BagRecord } from '../bag';
import { MilkitDataError } from '../errors';
import { writeCohort, type WriteSummary } from '../writer';
import { parseNumber, readCsvRows } from './csvRows';

export interface H5ConvertOptions {
  /** Labels CSV: `slide_id,label[,patient_id][,time,event]`. */
  labels: string;
  /** Extra schema metadata for the cohort. */
  metadata?: Record<string, string>;
  /** Called after each slide is written. */
  onBag?: (bagsDone: number, total: number) => void;
}

interface SlideRow {
  slide: string;
  label?: string;
  patient?: string;
  time?: number;
  event?: number;
  line: number;
}

/** h5wasm is ESM-only; a real dynamic import (tsc would turn `import()` into `require` in CJS). */
const importEsm = new Function('s', 'return import(s)') as (s: string) => Promise<unknown>;

/** The part of h5wasm's API milkit uses (typed here: h5wasm's own types are ESM-only). */
interface H5Dataset {
  readonly shape: number[] | null;
  readonly dtype: unknown;
  readonly value: unknown;
}
interface H5File {
  keys(): string[];
  get(name: string): unknown;
  create_dataset(args: { name: string; data: ArrayLike<number> | ArrayLike<bigint>; shape?: number[] }): H5Dataset;
  close(): unknown;
}
export interface H5Module {
  ready: Promise<unknown>;
  File: new (file: string, mode: 'r' | 'w' | 'a') => H5File;
  Dataset: abstract new (...args: never[]) => H5Dataset;
}
let h5: Promise<H5Module> | undefined;

/** The h5wasm module, loaded once and ready to open files. */
export async function loadH5wasm(): Promise<H5Module> {
  h5 ??= importEsm('h5wasm/node').then(async (m) => {
    const mod = m as H5Module;
    await mod.ready;
    return mod;
  });
  return h5;
}

async function readLabels(file: string): Promise<SlideRow[]> {
  const rows = readCsvRows(file);
  const head = await rows.next();
  if (head.done)
    throw new MilkitDataError('empty labels file (expected a header slide_id,label[,patient_id])', { file });
  const header = head.value.cells;
  const col = (name: string) => header.indexOf(name);
  const slideCol = col('slide_id');
  if (slideCol < 0)
    throw new MilkitDataError('line 1: the labels CSV needs a "slide_id" column', { file, field: 'slide_id' });
  const [labelCol, patientCol, timeCol, eventCol] = [col('label'), col('patient_id'), col('time'), col('event')];
  if (labelCol < 0 && timeCol < 0)
    throw new MilkitDataError('line 1: the labels CSV needs a "label" column (or "time" and "event" for survival)', {
      file,
      field: 'label',
    });
  const out: SlideRow[] = [];
  for await (const { line, cells } of rows) {
    if (cells.length !== header.length)
      throw new MilkitDataError(
        `line ${line}: ragged row with ${cells.length} cells, the header has ${header.length}`,
        { file, bag: cells[slideCol] },
      );
    const slide = cells[slideCol];
    const where = (c: number) => ({ file, line, bag: slide, column: header[c] });
    const row: SlideRow = { slide, line };
    if (labelCol >= 0) {
      if (cells[labelCol] === '')
        throw new MilkitDataError(`line ${line}: missing label`, { file, bag: slide, field: 'label' });
      row.label = cells[labelCol];
    }
    if (patientCol >= 0 && cells[patientCol] !== '') row.patient = cells[patientCol];
    if (timeCol >= 0) row.time = parseNumber(cells[timeCol], where(timeCol));
    if (eventCol >= 0) row.event = parseNumber(cells[eventCol], where(eventCol));
    out.push(row);
  }
  if (out.length === 0) throw new MilkitDataError('the labels CSV lists no slides', { file });
  return out;
}

/** Integer labels stay; any other label set maps to 0..C-1 by sorted name. */
function labelCoding(rows: SlideRow[]): { code: (l: string) => number; classes?: string[] } {
  const names = [...new Set(rows.map((r) => r.label).filter((l): l is string => l !== undefined))];
  if (names.every((n) => /^\d+$/.test(n))) return { code: Number };
  const classes = names.sort();
  return { code: (l) => classes.indexOf(l), classes };
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

/** Reads one slide's features and coordinates. */
export async function readH5Slide(file: string): Promise<{ features: Float32Array; dim: number; coords?: Int32Array }> {
  const h5wasm = await loadH5wasm();
  if (!fs.existsSync(file)) throw new MilkitDataError('feature file not found', { file });
  if (!hasHdf5Signature(file))
    throw new MilkitDataError('not a readable HDF5 file (no HDF5 signature; truncated or another format?)', { file });
  let f: H5File;
  try {
    f = new h5wasm.File(file, 'r');
  } catch (err) {
    throw new MilkitDataError(`not a readable HDF5 file: ${(err as Error).message}`, { file });
  }
  try {
    const feats = f.get('features');
    if (!(feats instanceof h5wasm.Dataset))
      throw new MilkitDataError(`no "features" dataset (found: ${f.keys().join(', ') || 'nothing'})`, {
        file,
        field: 'features',
      });
    const shape = feats.shape ?? [];
    const squeezed = shape.length === 3 && shape[0] === 1 ? shape.slice(1) : shape;
    if (squeezed.length !== 2)
      throw new MilkitDataError(`"features" must be [N, D] (or [1, N, D]), got [${shape.join(', ')}]`, {
        file,
        field: 'features',
      });
    const [n, dim] = squeezed;
    const raw = feats.value;
    if (!(raw instanceof Float32Array || raw instanceof Float64Array)) {
      throw new MilkitDataError(`"features" must be float32 or float64, got ${feats.dtype as unknown as string}`, {
        file,
        field: 'features',
      });
    }
    const features = raw instanceof Float32Array ? raw : Float32Array.from(raw);
    let coords: Int32Array | undefined;
    const c = f.get('coords');
    if (c instanceof h5wasm.Dataset) {
      const cs = c.shape ?? [];
      const cShape = cs.length === 3 && cs[0] === 1 ? cs.slice(1) : cs;
      if (cShape.length !== 2 || cShape[0] !== n || cShape[1] !== 2) {
        throw new MilkitDataError(`"coords" must be [${n}, 2] to match ${n} feature rows, got [${cs.join(', ')}]`, {
          file,
          field: 'coords',
        });
      }
      const v = c.value;
      if (!(v && typeof v === 'object' && 'length' in v))
        throw new MilkitDataError('"coords" is not a numeric array', { file, field: 'coords' });
      coords = Int32Array.from(v as ArrayLike<number | bigint>, (x) => Number(x));
    }
    return { features, dim, coords };
  } catch (err) {
    if (err instanceof MilkitDataError) throw err;
    throw new MilkitDataError(`cannot read: ${(err as Error).message}`, { file });
  } finally {
    f.close();
  }
}

/** Converts a folder of per-slide .h5 files plus a labels CSV to a cohort at `out`. */
export async function convertH5(
  dir: string,
  out: string,
  opts: H5ConvertOptions,
): Promise<WriteSummary & { classes?: string[] }> {
  if (!fs.existsSync(dir) || !fs.statSync(dir).isDirectory())
    throw new MilkitDataError('not a folder of .h5 files', { file: dir });
  const rows = await readLabels(opts.labels);
  const { code, classes } = labelCoding(rows);
  const fileOf = (slide: string) => path.join(dir, `${slide}.h5`);
  const missing = rows.filter((r) => !fs.existsSync(fileOf(r.slide)));
  if (missing.length) {
    throw new MilkitDataError(
      `line ${missing[0].line}: no feature file ${fileOf(missing[0].slide)} for this slide (${missing.length} of ${rows.length} slides missing)`,
      { file: opts.labels, bag: missing[0].slide },
    );
  }
  const first = await readH5Slide(fileOf(rows[0].slide));
  let coordsSeen: boolean | undefined;
  const bags = (async function* (): AsyncGenerator<BagRecord> {
    for (const [i, r] of rows.entries()) {
      const file = fileOf(r.slide);
      const s = i === 0 ? first : await readH5Slide(file);
      if (s.dim !== first.dim)
        throw new MilkitDataError(`feature width ${s.dim} differs from ${first.dim} in ${fileOf(rows[0].slide)}`, {
          file,
          bag: r.slide,
          field: 'features',
        });
      coordsSeen ??= Boolean(s.coords);
      if (coordsSeen !== Boolean(s.coords))
        throw new MilkitDataError('"coords" must be present in every file or in none', {
          file,
          bag: r.slide,
          field: 'coords',
        });
      yield {
        id: r.slide,
        label: r.label === undefined ? undefined : code(r.label),
        patientId: r.patient,
        time: r.time,
        event: r.event,
        features: s.features,
        coords: s.coords,
      };
      opts.onBag?.(i + 1, rows.length);
    }
  })();
  const metadata: Record<string, string> = { 'milkit.source': dir, 'milkit.converter': 'h5', ...opts.metadata };
  if (classes) metadata['milkit.classes'] = JSON.stringify(classes);
  const summary = await writeCohort(out, bags, { dim: first.dim, metadata });
  return classes ? { ...summary, classes } : summary;
}
