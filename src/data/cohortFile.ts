/**
 * A cohort's files as found on disk, checked before the reader trusts them: the Arrow magic at both
 * ends (a truncated file), the bag table (ids, labels, classes, offsets into the instance file), the
 * instance schema (feature width and type, optional columns) and one bag's feature column. Every
 * problem is one MilkitDataError naming the file, the bag and the field, with the fix.
 */
import * as A from 'apache-arrow';
import * as fs from 'node:fs';
import { type BagInfo, validateBagLabels } from './bag';
import { MilkitDataError } from './errors';
import { BAG_COLUMNS, FORMAT_NAME, INSTANCE_COLUMNS, META_KEYS, META_PREFIX } from './format';
import { halfToFloat } from './numeric';
import { closest } from '../didYouMean';

const ARROW_MAGIC = 'ARROW1';
const KNOWN_INSTANCE_COLUMNS = Object.values(INSTANCE_COLUMNS) as string[];
const KNOWN_BAG_COLUMNS = Object.values(BAG_COLUMNS) as string[];
/** pandas' `Table.from_pandas` adds the DataFrame index as `__index_level_0__`: ignored. */
const PANDAS_INDEX = /^__index_level_\d+__$/;

/** The command that rewrites a file in the format. */
export const convertFix = (file: string, kind: 'arrow' | 'parquet' = 'arrow') =>
  `milkit convert ${kind} ${file} --out <new.arrow> rewrites it in milkit's layout (docs/FORMAT.md)`;

/** Checks the Arrow file magic at both ends: a missing trailer means a truncated file. */
export function checkMagic(file: string, instanceFile = file): void {
  let fd: number;
  try {
    fd = fs.openSync(file, 'r');
  } catch (err) {
    throw new MilkitDataError(
      `cannot open (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`,
      { file },
      'check the path and permissions',
    );
  }
  try {
    if (fs.fstatSync(fd).isDirectory())
      throw new MilkitDataError('is a folder, not an Arrow file', { file }, 'give the path of the .arrow file');
    const size = fs.fstatSync(fd).size;
    const head = Buffer.alloc(6);
    const tail = Buffer.alloc(6);
    fs.readSync(fd, head, 0, 6, 0);
    if (size >= 4 && head.readUInt32LE(0) === 0xffffffff) {
      throw new MilkitDataError(
        'this is the Arrow IPC *stream* format; milkit reads the ' +
          'IPC *file* format (its footer gives random access to bags)',
        { file },
        convertFix(instanceFile),
      );
    }
    if (head.subarray(0, 4).toString('latin1') === 'PAR1')
      throw new MilkitDataError(
        'this is a Parquet file, not an Arrow IPC file',
        { file },
        convertFix(instanceFile, 'parquet'),
      );
    if (size < 12 || head.toString('latin1') !== ARROW_MAGIC) {
      throw new MilkitDataError(
        `not an Arrow IPC file (no ${ARROW_MAGIC} header; ${size} bytes)`,
        { file },
        'write it with pyarrow.ipc.new_file (docs/FORMAT.md)',
      );
    }
    fs.readSync(fd, tail, 0, 6, size - 6);
    if (tail.toString('latin1') !== ARROW_MAGIC) {
      throw new MilkitDataError(
        'truncated or corrupt Arrow file: the footer is missing',
        { file },
        'copy or write the file again completely',
      );
    }
  } finally {
    fs.closeSync(fd);
  }
}

function columnValue(table: A.Table, name: string, row: number): unknown {
  const col = table.getChild(name);
  if (!col) return undefined;
  const v = col.get(row);
  return typeof v === 'bigint' ? Number(v) : v;
}

export function readBagTable(file: string, instanceFile: string): { infos: BagInfo[] } {
  checkMagic(file, instanceFile);
  let table: A.Table;
  try {
    table = A.tableFromIPC(fs.readFileSync(file));
  } catch (err) {
    throw new MilkitDataError(`corrupt Arrow file: ${(err as Error).message}`, { file }, 'write the file again');
  }
  for (const f of table.schema.fields) {
    if (!KNOWN_BAG_COLUMNS.includes(f.name) && !f.name.startsWith(META_PREFIX) && !PANDAS_INDEX.test(f.name)) {
      const hint = closest(f.name, KNOWN_BAG_COLUMNS);
      throw new MilkitDataError(
        `unknown column in the bag table${hint ? ` (did you mean "${hint}"?)` : ''}; ` +
          `known: ${KNOWN_BAG_COLUMNS.join(', ')}, or ${META_PREFIX}* for free metadata`,
        { file, field: f.name },
        `${hint ? `rename it to "${hint}", or ` : ''}rename it to ${META_PREFIX}${f.name} (free metadata), or drop it`,
      );
    }
  }
  if (!table.getChild(BAG_COLUMNS.bagId))
    throw new MilkitDataError(
      'the bag table has no bag_id column',
      { file, field: BAG_COLUMNS.bagId },
      'add the bag ids as "bag_id"',
    );
  const metaCols = table.schema.fields.filter((f) => f.name.startsWith(META_PREFIX)).map((f) => f.name);
  const infos: BagInfo[] = [];
  const seen = new Set<string>();
  for (let r = 0; r < table.numRows; r++) {
    const id = columnValue(table, BAG_COLUMNS.bagId, r);
    if (typeof id !== 'string' || id === '')
      throw new MilkitDataError(
        'empty or missing bag id',
        { file, row: r, field: BAG_COLUMNS.bagId },
        'give every bag a non-empty id',
      );
    if (seen.has(id))
      throw new MilkitDataError(
        'duplicate bag id',
        { file, bag: id, row: r, field: BAG_COLUMNS.bagId },
        'give every bag its own id',
      );
    seen.add(id);
    const num = (k: string) => {
      const v = columnValue(table, k, r);
      return v === null || v === undefined ? undefined : Number(v);
    };
    const info: BagInfo = {
      id,
      label: num(BAG_COLUMNS.label),
      time: num(BAG_COLUMNS.time),
      event: num(BAG_COLUMNS.event),
      patientId: String(columnValue(table, BAG_COLUMNS.patientId, r) ?? id),
      numInstances: num(BAG_COLUMNS.numInstances) ?? -1,
      meta: Object.fromEntries(
        metaCols.map((c) => [
          c.slice(META_PREFIX.length),
          (columnValue(table, c, r) ?? null) as string | number | null,
        ]),
      ),
    };
    validateBagLabels(info, file);
    infos.push(info);
  }
  return { infos };
}

/** What the instance schema says: feature width and type, and which optional columns exist. */
export interface InstanceSchema {
  /** D (0 until read from the first list, for variable-size list features). */
  dim: number;
  /** `float32`: the canonical FixedSizeList<float32>, read zero-copy; `convert`: converted per bag. */
  features: 'float32' | 'convert';
  featureType: string;
  hasCoords: boolean;
  hasInstanceLabels: boolean;
}

const isList = (t: A.DataType) => A.DataType.isList(t) || t.typeId === A.Type.LargeList;
const isString = (t: A.DataType) => A.DataType.isUtf8(t) || A.DataType.isLargeUtf8(t);
const isNumber = (t: A.DataType) => A.DataType.isInt(t) || A.DataType.isFloat(t);

export function checkInstanceSchema(schema: A.Schema, file: string): InstanceSchema {
  for (const f of schema.fields) {
    if (!KNOWN_INSTANCE_COLUMNS.includes(f.name)) {
      const hint = closest(f.name, KNOWN_INSTANCE_COLUMNS);
      throw new MilkitDataError(
        `unknown column in the instance table${hint ? ` (did you mean "${hint}"?)` : ''}; ` +
          `known: ${KNOWN_INSTANCE_COLUMNS.join(', ')}`,
        { file, field: f.name },
        hint ? `rename it to "${hint}"` : `drop it, or ${convertFix(file)}`,
      );
    }
  }
  const byName = new Map(schema.fields.map((f) => [f.name, f]));
  const bagId = byName.get(INSTANCE_COLUMNS.bagId);
  if (!bagId)
    throw new MilkitDataError(
      'missing column',
      { file, field: INSTANCE_COLUMNS.bagId },
      'add the bag id of every instance as "bag_id"',
    );
  if (!isString(bagId.type))
    throw new MilkitDataError(
      `bag_id must be a string column, got ${bagId.type}`,
      { file, field: INSTANCE_COLUMNS.bagId },
      convertFix(file),
    );
  const feat = byName.get(INSTANCE_COLUMNS.features);
  if (!feat)
    throw new MilkitDataError(
      'missing column',
      { file, field: INSTANCE_COLUMNS.features },
      `store the feature vectors as "features", or ${convertFix(file)}`,
    );
  const item = A.DataType.isFixedSizeList(feat.type) || isList(feat.type) ? feat.type.children[0].type : undefined;
  if (!item || !A.DataType.isFloat(item)) {
    throw new MilkitDataError(
      `features must be a list of floats (FixedSizeList<float32>[D]), got ${feat.type}`,
      { file, field: INSTANCE_COLUMNS.features },
      'store each feature vector as a list of float32',
    );
  }
  const canonical = A.DataType.isFixedSizeList(feat.type) && (item as A.Float).precision === A.Precision.SINGLE;
  const listSize = A.DataType.isFixedSizeList(feat.type) ? (feat.type as A.FixedSizeList).listSize : 0;
  const declared = schema.metadata.get(META_KEYS.featureDim);
  if (declared !== undefined && listSize > 0 && Number(declared) !== listSize) {
    throw new MilkitDataError(
      `schema metadata says feature width ${declared}, the column has ${listSize}`,
      { file, field: INSTANCE_COLUMNS.features },
      `correct ${META_KEYS.featureDim} or drop it`,
    );
  }
  const format = schema.metadata.get(META_KEYS.format);
  if (format !== undefined && format !== FORMAT_NAME)
    throw new MilkitDataError(
      `unexpected format "${format}"`,
      { file, field: META_KEYS.format },
      `set it to "${FORMAT_NAME}" or drop it`,
    );
  const hasX = byName.has(INSTANCE_COLUMNS.x);
  if (hasX !== byName.has(INSTANCE_COLUMNS.y))
    throw new MilkitDataError(
      'x and y coordinates must both be present or both absent',
      {
        file,
        field: hasX ? 'y' : 'x',
      },
      'add the other coordinate or drop both',
    );
  for (const name of [INSTANCE_COLUMNS.x, INSTANCE_COLUMNS.y, INSTANCE_COLUMNS.instanceLabel]) {
    const f = byName.get(name);
    if (f && !isNumber(f.type))
      throw new MilkitDataError(`must be an integer column, got ${f.type}`, { file, field: name }, 'store it as int32');
  }
  const dim = listSize || (Number.isInteger(Number(declared)) && Number(declared) > 0 ? Number(declared) : 0);
  return {
    dim,
    features: canonical ? 'float32' : 'convert',
    featureType: String(feat.type),
    hasCoords: hasX,
    hasInstanceLabels: byName.has(INSTANCE_COLUMNS.instanceLabel),
  };
}

/** Feature width of list-typed features without `milkit.feature_dim`: the first instance's length. */
export async function firstListLength(reader: A.AsyncRecordBatchFileReader, file: string): Promise<number> {
  const batch = await reader.readRecordBatch(0);
  const first = batch?.getChild(INSTANCE_COLUMNS.features)?.get(0) as A.Vector | null | undefined;
  if (!first?.length)
    throw new MilkitDataError(
      'cannot tell the feature width: the first instance has no features',
      { file, field: INSTANCE_COLUMNS.features },
      `set ${META_KEYS.featureDim} in the schema metadata`,
    );
  return first.length;
}

/** A record batch's features as float32 `[n × dim]`: zero-copy for FixedSizeList<float32>, else converted. */
export function readFeatures(col: A.Vector, dim: number, where: { file: string; bag: string }): Float32Array {
  const field = { ...where, field: INSTANCE_COLUMNS.features };
  if (col.data.length !== 1)
    throw new MilkitDataError('features split over several chunks in one batch', field, 'write one chunk per bag');
  const d = col.data[0];
  const items = d.children[0];
  if (items.nullCount > 0)
    throw new MilkitDataError(`${items.nullCount} null feature values`, field, 'fill in every feature value');
  let start = d.offset * dim;
  let end = (d.offset + d.length) * dim;
  if (d.valueOffsets) {
    const offsets = d.valueOffsets as ArrayLike<number | bigint>;
    for (let i = 0; i < d.length; i++) {
      const len = Number(offsets[d.offset + i + 1]) - Number(offsets[d.offset + i]);
      if (len !== dim && d.getValid(d.offset + i))
        throw new MilkitDataError(
          `instance ${i} has ${len} feature values, the cohort has ${dim}`,
          field,
          'give every instance the same number of features',
        );
    }
    [start, end] = [Number(offsets[d.offset]), Number(offsets[d.offset + d.length])];
  }
  const type = items.type as A.Float;
  const values = items.values as Float32Array | Float64Array | Uint16Array;
  if (type.precision === A.Precision.SINGLE) return (values as Float32Array).subarray(start, end);
  if (type.precision === A.Precision.DOUBLE) return Float32Array.from((values as Float64Array).subarray(start, end));
  return Float32Array.from((values as Uint16Array).subarray(start, end), halfToFloat);
}
