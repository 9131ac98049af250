/**
 * Any instance table with a `bag_id` column → cohort: Arrow IPC (file or stream, any compression,
 * any row grouping, e.g. pandas' `Table.from_pandas` with every bag in one record batch) or Parquet.
 * Rows are regrouped by bag (bags in order of first appearance, or of the bag table). Features are
 * a `features` list column (fixed or variable size, float16/32/64) or, without one, every other
 * numeric column (as in MUSK-style tables). Bag labels come from, in this order: `--labels` CSV,
 * the bag table next to the input (`x.bags.arrow` / `x.bags.parquet`), or a per-row `label` /
 * `bag_label` column. The input is read into memory (such tables come from pandas, so they fit);
 * the cohort is written bag by bag.
 */
import * as A from 'apache-arrow';
import * as fs from 'node:fs';
import { type BagRecord } from '../bag';
import { CLASSES_KEY, labelCoding, parseClasses } from '../classes';
import { registerArrowCodecs } from '../codecs';
import { MilkitDataError, type NoticeSink, stderrNotice } from '../errors';
import { closest } from '../../didYouMean';
import { BAG_COLUMNS, INSTANCE_COLUMNS, META_KEYS, META_PREFIX } from '../format';
import { halfToFloat, toInt32 } from '../numeric';
import { importEsm } from './h5read';
import { type LabelOptions, readLabelTable } from './labels';
import { writeCohort, type WriteSummary } from '../writer';

export interface TableConvertOptions extends Omit<LabelOptions, 'idColumn'> {
  /** Per-bag labels CSV (`bag_id|slide_id,label[,patient_id|case_id]`). */
  labels?: string;
  /** Bag table (default: NAME.bags.arrow / NAME.bags.parquet next to the input, when present). */
  bagTable?: string;
  metadata?: Record<string, string>;
  onBag?: (bagsDone: number, total: number) => void;
  onNotice?: NoticeSink;
}

/** A table as plain columns (values of one row at index i). */
interface Columns {
  names: string[];
  numRows: number;
  get(name: string): ArrayLike<unknown>;
  /** Features `[numRows × dim]`, however they were stored. */
  features(file: string): { values: Float32Array; dim: number; type: string };
  metadata: Map<string, string>;
}

const ROW_COLUMNS = ['bag_id', 'x', 'y', 'instance_label', 'label', 'bag_label', 'patient_id', 'case_id'];
const PANDAS_INDEX = /^__index_level_\d+__$/;

/** Reads an Arrow IPC file or stream (any compression) into columns. */
function readArrowColumns(file: string): Columns {
  registerArrowCodecs();
  let table: A.Table;
  try {
    table = A.tableFromIPC(fs.readFileSync(file));
  } catch (err) {
    throw new MilkitDataError(
      `not a readable Arrow IPC file or stream: ${(err as Error).message}`,
      { file },
      'write it with pyarrow.ipc.new_file',
    );
  }
  const names = table.schema.fields.map((f) => f.name);
  return {
    names,
    numRows: table.numRows,
    metadata: table.schema.metadata,
    get: (name) => arrowValues(table.getChild(name)!),
    features: (f) => arrowFeatures(table, f, names),
  };
}

/** A column's values with nulls as null (`toArray` would give a null's slot value). */
function arrowValues(col: A.Vector): ArrayLike<unknown> {
  const numeric = A.DataType.isInt(col.type) || A.DataType.isFloat(col.type);
  return numeric && col.nullCount === 0 ? (col.toArray() as ArrayLike<unknown>) : [...col];
}

function arrowFeatures(table: A.Table, file: string, names: string[]) {
  const col = table.getChild(INSTANCE_COLUMNS.features);
  if (!col)
    return scalarFeatures(
      names,
      (n) => arrowValues(table.getChild(n)!),
      table.numRows,
      file,
      (n) => {
        const t = table.schema.fields.find((f) => f.name === n)!.type;
        return A.DataType.isInt(t) || A.DataType.isFloat(t);
      },
    );
  const type = col.type as A.DataType;
  const item = type.children?.[0]?.type as A.DataType | undefined;
  if (
    !item ||
    !A.DataType.isFloat(item) ||
    !(A.DataType.isFixedSizeList(type) || A.DataType.isList(type) || type.typeId === A.Type.LargeList)
  )
    throw new MilkitDataError(
      `features must be a list of floats, got ${type}`,
      { file, field: 'features' },
      'store each feature vector as a list of float32',
    );
  const parts: Float32Array[] = [];
  let dim = A.DataType.isFixedSizeList(type) ? (type as A.FixedSizeList).listSize : 0;
  let row = 0;
  for (const d of col.data) {
    if (d.nullCount > 0 || d.children[0].nullCount > 0)
      throw new MilkitDataError(
        'null feature vectors or values',
        { file, field: 'features' },
        'fill in every feature value',
      );
    const offsets = d.valueOffsets as ArrayLike<number | bigint> | undefined;
    let [start, end] = [d.offset * dim, (d.offset + d.length) * dim];
    if (offsets) {
      for (let i = 0; i < d.length; i++) {
        const len = Number(offsets[d.offset + i + 1]) - Number(offsets[d.offset + i]);
        dim ||= len;
        if (len !== dim)
          throw new MilkitDataError(
            `row ${row + i} has ${len} feature values, row 0 has ${dim}`,
            { file, field: 'features' },
            'give every instance the same number of features',
          );
      }
      [start, end] = [Number(offsets[d.offset]), Number(offsets[d.offset + d.length])];
    }
    const p = (d.children[0].type as A.Float).precision;
    const v = d.children[0].values as Float32Array | Float64Array | Uint16Array;
    parts.push(
      p === A.Precision.SINGLE
        ? (v as Float32Array).slice(start, end)
        : p === A.Precision.DOUBLE
          ? Float32Array.from(v.subarray(start, end))
          : Float32Array.from(v.subarray(start, end), halfToFloat),
    );
    row += d.length;
  }
  const values = new Float32Array(parts.reduce((s, p) => s + p.length, 0));
  parts.reduce((at, p) => (values.set(p, at), at + p.length), 0);
  return { values, dim, type: String(type) };
}

/** Features as separate numeric columns (every column that is not a known instance/bag column). */
function scalarFeatures(
  names: string[],
  get: (n: string) => ArrayLike<unknown>,
  n: number,
  file: string,
  numeric: (n: string) => boolean,
) {
  const cols = names.filter((c) => !ROW_COLUMNS.includes(c) && !PANDAS_INDEX.test(c) && numeric(c));
  if (cols.length === 0)
    throw new MilkitDataError(
      `no "features" column and no numeric feature columns (columns: ${names.join(', ')})`,
      { file, field: 'features' },
      'store the feature vectors as a "features" list column',
    );
  const values = new Float32Array(n * cols.length);
  cols.forEach((c, j) => {
    const v = get(c);
    for (let i = 0; i < n; i++) values[i * cols.length + j] = Number(v[i]);
  });
  return { values, dim: cols.length, type: `${cols.length} numeric columns` };
}

interface ParquetModule {
  parquetReadObjects(o: { file: ArrayBuffer }): Promise<Record<string, unknown>[]>;
  parquetMetadata(b: ArrayBuffer): { key_value_metadata?: { key: string; value?: string }[] };
}

/** Reads a Parquet file (via hyparquet) into columns. */
async function readParquetColumns(file: string): Promise<Columns> {
  const pq = (await importEsm('hyparquet')) as ParquetModule;
  const bytes = fs.readFileSync(file);
  const buf = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength);
  let rows: Record<string, unknown>[];
  let meta: { key: string; value?: string }[] = [];
  try {
    meta = pq.parquetMetadata(buf).key_value_metadata ?? [];
    rows = await pq.parquetReadObjects({ file: buf });
  } catch (err) {
    throw new MilkitDataError(
      `not a readable Parquet file: ${(err as Error).message}`,
      { file },
      'write it with pyarrow.parquet.write_table (snappy or no compression)',
    );
  }
  const names = rows.length ? Object.keys(rows[0]) : [];
  const get = (name: string) => rows.map((r) => r[name]);
  return {
    names,
    numRows: rows.length,
    metadata: new Map(meta.filter((m) => m.key !== 'ARROW:schema').map((m) => [m.key, m.value ?? ''])),
    get,
    features: (f) => {
      if (!names.includes(INSTANCE_COLUMNS.features))
        return scalarFeatures(names, get, rows.length, f, (c) => ['number', 'bigint'].includes(typeof rows[0]?.[c]));
      const first = rows[0]?.features as ArrayLike<number> | undefined;
      const dim = first?.length ?? 0;
      const values = new Float32Array(rows.length * dim);
      rows.forEach((r, i) => {
        const v = r.features as ArrayLike<number | null> | null;
        if (!v || v.length !== dim)
          throw new MilkitDataError(
            `row ${i} has ${v?.length ?? 0} feature values, row 0 has ${dim}`,
            { file: f, field: 'features' },
            'give every instance the same number of features',
          );
        for (let j = 0; j < dim; j++) {
          if (v[j] === null)
            throw new MilkitDataError(
              `row ${i} has a null feature value`,
              { file: f, field: 'features' },
              'fill in every feature value',
            );
          values[i * dim + j] = v[j] as number;
        }
      });
      return { values, dim, type: 'list<float>' };
    },
  };
}

async function readColumns(file: string, kind: 'arrow' | 'parquet'): Promise<Columns> {
  if (!fs.existsSync(file)) throw new MilkitDataError('file not found', { file }, 'check the path');
  const head = Buffer.alloc(4);
  const fd = fs.openSync(file, 'r');
  fs.readSync(fd, head, 0, 4, 0);
  fs.closeSync(fd);
  const isParquet = head.toString('latin1') === 'PAR1';
  if (isParquet !== (kind === 'parquet'))
    throw new MilkitDataError(
      `this is ${isParquet ? 'a Parquet' : 'not a Parquet'} file`,
      { file },
      `use milkit convert ${isParquet ? 'parquet' : 'arrow'}`,
    );
  return kind === 'parquet' ? readParquetColumns(file) : readArrowColumns(file);
}

const str = (v: unknown) => (v === null || v === undefined ? undefined : String(v));

/** Bag-level rows from a bag table (Arrow or Parquet), keyed by bag id. */
async function readBagRows(file: string, extra: string[]): Promise<Map<string, Record<string, unknown>>> {
  const kind = fs.readFileSync(file).subarray(0, 4).toString('latin1') === 'PAR1' ? 'parquet' : 'arrow';
  const cols = kind === 'parquet' ? await readParquetColumns(file) : readArrowColumns(file);
  const known = Object.values(BAG_COLUMNS) as string[];
  for (const name of cols.names) {
    if (!known.includes(name) && !extra.includes(name) && !name.startsWith(META_PREFIX) && !PANDAS_INDEX.test(name)) {
      const hint = closest(name, known);
      throw new MilkitDataError(
        `unknown bag-table column${hint ? ` (did you mean "${hint}"?)` : ''}`,
        { file, field: name },
        `${hint ? `rename it to "${hint}", or ` : ''}rename it to ${META_PREFIX}${name} (free metadata), or drop it`,
      );
    }
  }
  if (!cols.names.includes(BAG_COLUMNS.bagId))
    throw new MilkitDataError('no bag_id column', { file, field: 'bag_id' }, 'add the bag ids as "bag_id"');
  const data = Object.fromEntries(cols.names.map((n) => [n, cols.get(n)]));
  const out = new Map<string, Record<string, unknown>>();
  for (let r = 0; r < cols.numRows; r++) {
    const id = str(data.bag_id[r]);
    if (!id) throw new MilkitDataError('empty bag id', { file, row: r, field: 'bag_id' }, 'give every bag an id');
    if (out.has(id))
      throw new MilkitDataError('duplicate bag id', { file, bag: id, field: 'bag_id' }, 'keep one row per bag');
    out.set(id, Object.fromEntries(cols.names.map((n) => [n, data[n][r]])));
  }
  return out;
}

/** The bag table next to `file` (x.arrow → x.bags.arrow, x.parquet → x.bags.parquet), if any. */
function siblingBagTable(file: string): string | undefined {
  const m = /^(.*?)(\.bags)?\.(arrow|parquet|feather|ipc)$/.exec(file);
  if (!m || m[2]) return undefined;
  return ['arrow', 'parquet'].map((e) => `${m[1]}.bags.${e}`).find((p) => fs.existsSync(p));
}

const num = (v: unknown) => (v === null || v === undefined ? undefined : Number(v));

/** Converts an instance table (Arrow or Parquet) with a bag_id column to a cohort at `out`. */
export async function convertTable(
  file: string,
  out: string,
  kind: 'arrow' | 'parquet',
  opts: TableConvertOptions = {},
): Promise<WriteSummary> {
  const notice = opts.onNotice ?? stderrNotice;
  const cols = await readColumns(file, kind);
  if (!cols.names.includes(INSTANCE_COLUMNS.bagId))
    throw new MilkitDataError(
      `no bag_id column (columns: ${cols.names.join(', ')})`,
      { file, field: 'bag_id' },
      'add a "bag_id" column naming the bag of every row',
    );
  if (cols.numRows === 0) throw new MilkitDataError('the table has no rows', { file }, 'write the instances into it');
  const ids = Array.from(cols.get(INSTANCE_COLUMNS.bagId), (v, i) => {
    const id = str(v);
    if (!id)
      throw new MilkitDataError(`row ${i}: empty bag id`, { file, field: 'bag_id' }, 'give every row its bag id');
    return id;
  });
  const { values, dim, type } = cols.features(file);
  if (!type.includes('Float32>') || type.startsWith('List') || type.startsWith('Large'))
    notice(`${file}: features ${type} → FixedSizeList<float32>[${dim}]`);
  const has = (c: string) => cols.names.includes(c);
  const intColumn = (c: string) =>
    has(c)
      ? toInt32(
          Array.from(cols.get(c), (v) =>
            v === null || v === undefined ? (c === 'instance_label' ? -1 : NaN) : (v as number),
          ),
          { file, field: c },
        )
      : undefined;
  const [x, y, instanceLabel] = [intColumn('x'), intColumn('y'), intColumn('instance_label')];
  if (Boolean(x) !== Boolean(y))
    throw new MilkitDataError(
      'x and y must both be present or both absent',
      { file, field: x ? 'y' : 'x' },
      'add the other coordinate or drop both',
    );

  // Rows of each bag, bags in order of first appearance.
  const rowsOf = new Map<string, number[]>();
  ids.forEach((id, r) => (rowsOf.get(id) ?? rowsOf.set(id, []).get(id)!).push(r));

  // Bag information: labels CSV, else bag table, else per-row columns.
  const info = new Map<
    string,
    { label?: string; patient?: string; time?: number; event?: number; meta?: Record<string, string | number | null> }
  >();
  let classes = opts.classes ?? parseClasses(cols.metadata.get(CLASSES_KEY), file);
  let order = [...rowsOf.keys()];
  const bagTable = opts.labels ? undefined : (opts.bagTable ?? siblingBagTable(file));
  let source = file;
  if (opts.labels) {
    const table = await readLabelTable(opts.labels, { ...opts, idColumn: undefined });
    source = opts.labels;
    classes = table.classes ?? classes;
    for (const r of table.rows)
      info.set(r.id, {
        label: r.label === undefined ? undefined : String(r.label),
        patient: r.patientId,
        time: r.time,
        event: r.event,
      });
    if (table.patientColumn && !opts.patientColumn)
      notice(`patients from column "${table.patientColumn}" of ${opts.labels}`);
  } else if (bagTable) {
    source = bagTable;
    const rows = await readBagRows(bagTable, ['case_id', ...(opts.patientColumn ? [opts.patientColumn] : [])]);
    const first = rows.values().next().value ?? {};
    const patientCol = opts.patientColumn ?? ('patient_id' in first ? 'patient_id' : 'case_id');
    if (opts.patientColumn && !(opts.patientColumn in first))
      throw new MilkitDataError(
        `no patient column "${opts.patientColumn}"`,
        { file: bagTable, field: opts.patientColumn },
        'pass an existing column to --patient-column',
      );
    order = [...rows.keys()].filter((id) => rowsOf.has(id));
    for (const [id, r] of rows) {
      const meta = Object.fromEntries(
        Object.entries(r)
          .filter(([k]) => k.startsWith(META_PREFIX))
          .map(([k, v]) => [
            k.slice(META_PREFIX.length),
            typeof v === 'bigint' ? Number(v) : ((v ?? null) as string | number | null),
          ]),
      );
      info.set(id, { label: str(r.label), patient: str(r[patientCol]), time: num(r.time), event: num(r.event), meta });
    }
  } else {
    const labelCol = ['label', 'bag_label'].find(has);
    if (!labelCol)
      throw new MilkitDataError(
        'no bag labels: no labels CSV, no bag table next to the file, no "label" column',
        { file, field: 'label' },
        'pass --labels labels.csv (bag_id,label[,patient_id]) or write NAME.bags.arrow next to it',
      );
    const labels = cols.get(labelCol);
    const patientCol = opts.patientColumn ?? ['patient_id', 'case_id'].find(has);
    if (patientCol && !has(patientCol))
      throw new MilkitDataError(
        `no patient column "${patientCol}"`,
        { file, field: patientCol },
        'pass an existing column to --patient-column',
      );
    const patients = patientCol ? cols.get(patientCol) : undefined;
    for (const [id, rows] of rowsOf) {
      const label = str(labels[rows[0]]);
      const other = rows.find((r) => str(labels[r]) !== label);
      if (other !== undefined)
        throw new MilkitDataError(
          `rows ${rows[0]} and ${other} give the bag different labels (${label}, ${str(labels[other])})`,
          { file, bag: id, field: labelCol },
          'give all rows of a bag the same label',
        );
      info.set(id, { label, patient: patients ? str(patients[rows[0]]) : undefined });
    }
  }
  const missing = [...rowsOf.keys()].filter((id) => !info.has(id));
  if (missing.length)
    throw new MilkitDataError(
      `${missing.length} bags have instances but no row in ${source} (e.g. "${missing[0]}")`,
      { file: source, bag: missing[0] },
      'add a row for every bag',
    );
  const empty = [...info.keys()].filter((id) => !rowsOf.has(id));
  if (empty.length && !opts.labels)
    throw new MilkitDataError(
      `${empty.length} bags of the bag table have no instances (e.g. "${empty[0]}")`,
      { file: source, bag: empty[0] },
      'drop those rows from the bag table',
    );
  if (empty.length) notice(`${empty.length} bags of ${opts.labels} have no instances in ${file} and are left out`);

  const texts = order.map((id) => info.get(id)!.label).filter((l): l is string => l !== undefined);
  const coding = labelCoding(texts, classes, { file: source, field: 'label' });
  classes = coding.classes ?? classes;
  const bags = (async function* (): AsyncGenerator<BagRecord> {
    for (const [i, id] of order.entries()) {
      const rows = rowsOf.get(id)!;
      const b = info.get(id)!;
      const features = new Float32Array(rows.length * dim);
      rows.forEach((r, k) => features.set(values.subarray(r * dim, (r + 1) * dim), k * dim));
      const pick = (v: Int32Array | undefined) => (v ? Int32Array.from(rows, (r) => v[r]) : undefined);
      const coords = x && y ? Int32Array.from(rows.flatMap((r) => [x[r], y[r]])) : undefined;
      yield {
        id,
        label: b.label === undefined ? undefined : coding.code(b.label, id),
        patientId: b.patient,
        time: b.time,
        event: b.event,
        meta: b.meta,
        features,
        coords,
        instanceLabels: pick(instanceLabel),
      };
      opts.onBag?.(i + 1, order.length);
    }
  })();
  const keep = [...cols.metadata].filter(
    ([k]) => k !== 'pandas' && !Object.values(META_KEYS).includes(k as never) && k !== CLASSES_KEY,
  );
  const metadata: Record<string, string> = {
    ...Object.fromEntries(keep),
    'milkit.source': file,
    'milkit.converter': kind,
    ...opts.metadata,
  };
  if (classes) metadata[CLASSES_KEY] = JSON.stringify(classes);
  return writeCohort(out, bags, { dim, metadata, source });
}
