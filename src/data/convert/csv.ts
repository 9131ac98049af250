/**
 * MUSK-style instance CSV → cohort. One row per instance:
 *   bag_id, bag_label, [patient_id], [instance_label], [x, y], f1, f2, ..., fD
 * Every column that is not one of the named ones is a feature (in file order). Rows of one bag
 * must be contiguous (as every MIL CSV we know writes them), which lets the file stream bag by
 * bag: memory holds one bag, never the table.
 */
import { type BagRecord } from '../bag';
import { CLASSES_KEY } from '../classes';
import { toInt32 } from '../numeric';
import { MilkitDataError } from '../errors';
import { writeCohort, type WriteSummary } from '../writer';
import { parseNumber, readCsvRows } from './csvRows';

export interface CsvConvertOptions {
  /** Bag id column (default `bag_id`). */
  bagColumn?: string;
  /** Bag label column (default: `bag_label`, else `label`). */
  labelColumn?: string;
  /** Patient column for patient-level splits (default `patient_id`, else CLAM's `case_id`, when present). */
  patientColumn?: string;
  /** Instance label column (default `instance_label` when present). */
  instanceLabelColumn?: string;
  /** Text encoding of the file (default utf-8). */
  encoding?: string;
  /** Class names in label order (recorded as milkit.classes; labels must be < their number). */
  classes?: string[];
  /** Extra schema metadata for the cohort. */
  metadata?: Record<string, string>;
  /** Called after each bag is written. */
  onBag?: (bagsDone: number) => void;
}

interface Layout {
  bag: number;
  label: number;
  patient: number;
  instanceLabel: number;
  x: number;
  y: number;
  features: number[];
}

function layoutOf(header: string[], file: string, opts: CsvConvertOptions): Layout {
  const col = (name: string) => header.indexOf(name);
  const required = (name: string, what: string) => {
    const i = col(name);
    if (i < 0)
      throw new MilkitDataError(
        `line 1: no ${what} column "${name}" in the header ` +
          `(${header.slice(0, 6).join(', ')}${header.length > 6 ? ', ...' : ''})`,
        { file, field: name },
        `name the column "${name}" or pass the right --bag-column/--label-column/--patient-column`,
      );
    return i;
  };
  const optional = (name: string | undefined, fallback: string) => {
    if (name !== undefined) return required(name, 'requested');
    return col(fallback);
  };
  const bag = required(opts.bagColumn ?? 'bag_id', 'bag id');
  const label = opts.labelColumn
    ? required(opts.labelColumn, 'label')
    : col('bag_label') >= 0
      ? col('bag_label')
      : required('label', 'label (bag_label or label)');
  const patient = optional(opts.patientColumn, col('patient_id') >= 0 ? 'patient_id' : 'case_id');
  const instanceLabel = optional(opts.instanceLabelColumn, 'instance_label');
  const [x, y] = [col('x'), col('y')];
  if (x < 0 !== y < 0)
    throw new MilkitDataError(
      'line 1: x and y coordinate columns must both be present or both absent',
      { file, field: x < 0 ? 'x' : 'y' },
      'add the other coordinate column or drop both',
    );
  const named = new Set([bag, label, patient, instanceLabel, x, y].filter((i) => i >= 0));
  const features = header.map((_, i) => i).filter((i) => !named.has(i));
  if (features.length === 0)
    throw new MilkitDataError('line 1: no feature columns', { file }, 'add one column per feature (f1, f2, ...)');
  const dup = header.find((h, i) => header.indexOf(h) !== i);
  if (dup !== undefined)
    throw new MilkitDataError('line 1: duplicate column name', { file, field: dup }, 'give every column its own name');
  return { bag, label, patient, instanceLabel, x, y, features };
}

/** Streams the CSV's bags as BagRecords, checking every row (the writer then checks every bag). */
async function* csvBags(file: string, opts: CsvConvertOptions): AsyncGenerator<BagRecord> {
  const rows = readCsvRows(file, opts);
  const first = await rows.next();
  if (first.done)
    throw new MilkitDataError('empty file (no header)', { file }, 'write a header line such as bag_id,bag_label,f1,f2');
  const header = first.value.cells;
  const L = layoutOf(header, file, opts);
  const done = new Set<string>();
  let cur:
    | { id: string; label: number; patient?: string; feats: number[]; coords: number[]; inst: number[]; line: number }
    | undefined;
  const finish = (): BagRecord => {
    const b = cur!;
    done.add(b.id);
    return {
      id: b.id,
      label: b.label,
      patientId: b.patient,
      features: Float32Array.from(b.feats),
      coords: L.x >= 0 ? toInt32(b.coords, { file, bag: b.id, field: `${header[L.x]}/${header[L.y]}` }) : undefined,
      instanceLabels: L.instanceLabel >= 0 ? b.inst : undefined,
    };
  };
  for await (const { line, cells } of rows) {
    if (cells.length !== header.length) {
      throw new MilkitDataError(
        `line ${line}: ragged row with ${cells.length} cells, the header has ${header.length}`,
        { file, bag: cells[L.bag] },
        'give every row one cell per header column (quote cells that contain commas)',
      );
    }
    const id = cells[L.bag];
    if (id === '')
      throw new MilkitDataError(`line ${line}: empty bag id`, { file, field: header[L.bag] }, 'fill in the bag id');
    const where = (column: number) => ({ file, line, bag: id, column: header[column] });
    if (cells[L.label] === '')
      throw new MilkitDataError(
        `line ${line}: missing label`,
        { file, bag: id, field: header[L.label] },
        'fill in the label or drop the row',
      );
    const label = parseNumber(cells[L.label], where(L.label));
    if (!cur || cur.id !== id) {
      if (cur) yield finish();
      if (done.has(id))
        throw new MilkitDataError(
          `line ${line}: rows of this bag are not contiguous (it appeared earlier)`,
          { file, bag: id, field: header[L.bag] },
          'sort the file by bag id',
        );
      cur = {
        id,
        label,
        patient: L.patient >= 0 ? cells[L.patient] : undefined,
        feats: [],
        coords: [],
        inst: [],
        line,
      };
    } else if (label !== cur.label) {
      throw new MilkitDataError(
        `line ${line}: bag label ${label} differs from ${cur.label} on line ${cur.line} (a bag has one label)`,
        { file, bag: id, field: header[L.label] },
        'give all rows of a bag the same label',
      );
    }
    for (const c of L.features) cur.feats.push(parseNumber(cells[c], where(c)));
    if (L.x >= 0) cur.coords.push(parseNumber(cells[L.x], where(L.x)), parseNumber(cells[L.y], where(L.y)));
    if (L.instanceLabel >= 0) cur.inst.push(parseNumber(cells[L.instanceLabel], where(L.instanceLabel)));
  }
  if (cur) yield finish();
}

/** Converts an instance CSV to a cohort at `out` (`x.arrow` + `x.bags.arrow`). */
export async function convertCsv(file: string, out: string, opts: CsvConvertOptions = {}): Promise<WriteSummary> {
  // The feature width is known only after the header; peek it with a first pass over line 1.
  const rows = readCsvRows(file, opts);
  const head = await rows.next();
  await rows.return(undefined);
  if (head.done)
    throw new MilkitDataError('empty file (no header)', { file }, 'write a header line such as bag_id,bag_label,f1,f2');
  const dim = layoutOf(head.value.cells, file, opts).features.length;
  let count = 0;
  const bags = (async function* () {
    for await (const bag of csvBags(file, opts)) {
      yield bag;
      opts.onBag?.(++count);
    }
  })();
  const metadata: Record<string, string> = { 'milkit.source': file, 'milkit.converter': 'csv', ...opts.metadata };
  if (opts.classes) metadata[CLASSES_KEY] = JSON.stringify(opts.classes);
  return writeCohort(out, bags, { dim, metadata, source: file });
}
