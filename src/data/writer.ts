/**
 * Writes a cohort (instance file + bag table) bag by bag, so cohorts larger than memory stream
 * straight to disk. Both files are written to temporary names and renamed at the end: a crash or
 * a bad bag half-way never leaves a half-written cohort under the final name. The temporary names
 * are persist's (`tempPathFor`), so the next write into the folder removes what a killed writer left.
 */
import * as A from 'apache-arrow';
import * as fs from 'node:fs';
import { dirname } from 'node:path';
import { removeStaleTempFiles, tempPathFor } from '../persist/atomic';
import { type BagRecord, validateBagLabels, validateInstances } from './bag';
import { CLASSES_KEY, checkLabelSet, parseClasses } from './classes';
import { MilkitDataError, fileSystemError } from './errors';
import {
  BAG_COLUMNS,
  FORMAT_NAME,
  FORMAT_VERSION,
  INSTANCE_COLUMNS,
  META_KEYS,
  META_PREFIX,
  bagTablePath,
  instanceTablePath,
} from './format';

export interface WriteSummary {
  instancePath: string;
  bagPath: string;
  bags: number;
  instances: number;
  dim: number;
}

export interface WriteOptions {
  /** Feature width D: every bag's features hold N × D values. */
  dim: number;
  /** Extra schema metadata (provenance: source files, builder, seed; `milkit.classes`). */
  metadata?: Record<string, string>;
  /** The file the bags come from, named when a bag's id or label is refused (default: the output). */
  source?: string;
}

function featureType(dim: number): A.FixedSizeList<A.Float32> {
  return new A.FixedSizeList(dim, new A.Field('item', new A.Float32(), false));
}

function instanceSchema(
  dim: number,
  coords: boolean,
  instanceLabels: boolean,
  metadata: Record<string, string>,
): A.Schema {
  const fields: A.Field[] = [new A.Field(INSTANCE_COLUMNS.bagId, new A.Utf8(), false)];
  if (coords)
    fields.push(
      new A.Field(INSTANCE_COLUMNS.x, new A.Int32(), false),
      new A.Field(INSTANCE_COLUMNS.y, new A.Int32(), false),
    );
  if (instanceLabels) fields.push(new A.Field(INSTANCE_COLUMNS.instanceLabel, new A.Int32(), true));
  fields.push(new A.Field(INSTANCE_COLUMNS.features, featureType(dim), false));
  const meta = new Map(
    Object.entries({
      ...metadata,
      [META_KEYS.format]: FORMAT_NAME,
      [META_KEYS.version]: String(FORMAT_VERSION),
      [META_KEYS.featureDim]: String(dim),
    }),
  );
  return new A.Schema(fields, meta);
}

function instanceBatch(schema: A.Schema, bag: BagRecord, n: number, dim: number): A.RecordBatch {
  const columns: A.Data[] = [A.vectorFromArray(new Array<string>(n).fill(bag.id), new A.Utf8()).data[0]];
  if (schema.fields.some((f) => f.name === INSTANCE_COLUMNS.x)) {
    const x = new Int32Array(n);
    const y = new Int32Array(n);
    for (let i = 0; i < n; i++) [x[i], y[i]] = [bag.coords![2 * i], bag.coords![2 * i + 1]];
    columns.push(
      A.makeData({ type: new A.Int32(), length: n, data: x }),
      A.makeData({ type: new A.Int32(), length: n, data: y }),
    );
  }
  if (schema.fields.some((f) => f.name === INSTANCE_COLUMNS.instanceLabel)) {
    columns.push(A.makeData({ type: new A.Int32(), length: n, data: Int32Array.from(bag.instanceLabels!) }));
  }
  const values = A.makeData({ type: new A.Float32(), length: n * dim, data: bag.features });
  columns.push(A.makeData({ type: featureType(dim), length: n, child: values, nullCount: 0 }));
  return new A.RecordBatch(schema, A.makeData({ type: new A.Struct(schema.fields), length: n, children: columns }));
}

/** Bag-table rows collected while the instance file streams out. */
interface BagRow {
  id: string;
  label?: number;
  time?: number;
  event?: number;
  patientId: string;
  n: number;
  meta: Record<string, string | number | null>;
}

function bagTable(rows: BagRow[], file: string): A.Table {
  const cols: Record<string, A.Vector> = {
    [BAG_COLUMNS.bagId]: A.vectorFromArray(
      rows.map((r) => r.id),
      new A.Utf8(),
    ),
  };
  const some = (k: keyof BagRow) => rows.some((r) => r[k] !== undefined);
  if (some('label'))
    cols[BAG_COLUMNS.label] = A.vectorFromArray(
      rows.map((r) => r.label ?? null),
      new A.Int32(),
    );
  if (some('time')) {
    cols[BAG_COLUMNS.time] = A.vectorFromArray(
      rows.map((r) => r.time ?? null),
      new A.Float64(),
    );
    cols[BAG_COLUMNS.event] = A.vectorFromArray(
      rows.map((r) => r.event ?? null),
      new A.Int32(),
    );
  }
  cols[BAG_COLUMNS.patientId] = A.vectorFromArray(
    rows.map((r) => r.patientId),
    new A.Utf8(),
  );
  cols[BAG_COLUMNS.numInstances] = A.vectorFromArray(
    rows.map((r) => r.n),
    new A.Int32(),
  );
  const metaKeys = [...new Set(rows.flatMap((r) => Object.keys(r.meta)))];
  for (const key of metaKeys) {
    const values = rows.map((r) => r.meta[key] ?? null);
    const numeric = values.every((v) => v === null || typeof v === 'number');
    const name = META_PREFIX + key;
    if (cols[name])
      throw new MilkitDataError(`metadata key "${key}" collides with a bag-table column`, { file, field: name });
    cols[name] = numeric
      ? A.vectorFromArray(values as (number | null)[], new A.Float64())
      : A.vectorFromArray(
          values.map((v) => (v === null ? null : String(v))),
          new A.Utf8(),
        );
  }
  return new A.Table(cols);
}

/** Removes a temporary file, ignoring "not there". */
function removeQuietly(path: string): void {
  try {
    fs.unlinkSync(path);
  } catch {
    /* already gone */
  }
}

/**
 * Arrow's file writer, writing each message straight to a file descriptor. Arrow's own writer
 * queues every encoded message in memory until a reader drains it, so a fast producer held about
 * the whole cohort in memory; a synchronous write per message holds one bag at a time.
 */
class FdFileWriter extends A.RecordBatchFileWriter {
  constructor(private readonly fd: number) {
    super();
  }
  protected override _write(chunk: ArrayBufferView): this {
    if (!this._started) return this;
    const bytes = new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    for (let done = 0; done < bytes.byteLength;) done += fs.writeSync(this.fd, bytes, done);
    this._position += bytes.byteLength;
    return this;
  }
}

/**
 * Writes `bags` as a cohort at `path` (`x.arrow` → `x.arrow` + `x.bags.arrow`).
 * Every bag is validated (non-empty, same width, finite, labels present, unique id) before it is
 * written, and the label set is checked against the class names (classes.ts).
 */
export async function writeCohort(
  path: string,
  bags: Iterable<BagRecord> | AsyncIterable<BagRecord>,
  opts: WriteOptions,
): Promise<WriteSummary> {
  const instancePath = instanceTablePath(path.endsWith('.arrow') ? path : `${path}.arrow`);
  const bagPath = bagTablePath(instancePath);
  const dim = opts.dim;
  if (!Number.isInteger(dim) || dim < 1)
    throw new MilkitDataError(`feature width must be a positive integer, got ${dim}`, {
      file: instancePath,
      field: 'features',
    });
  const classes = parseClasses(opts.metadata?.[CLASSES_KEY], instancePath);
  try {
    if (fs.existsSync(instancePath) && fs.statSync(instancePath).isDirectory())
      throw Object.assign(new Error(), { code: 'EISDIR' });
    fs.mkdirSync(dirname(instancePath), { recursive: true });
  } catch (err) {
    throw fileSystemError(err, instancePath, 'write the cohort');
  }
  removeStaleTempFiles(dirname(instancePath));
  const tmpInstances = tempPathFor(instancePath);
  const tmpBags = tempPathFor(bagPath);
  const rows: BagRow[] = [];
  const seen = new Set<string>();
  let fd: number | undefined;
  let writer: FdFileWriter | undefined;
  let schema: A.Schema | undefined;
  let instances = 0;
  /** Runs a write, turning file-system errors (disk full, ...) into a data error naming the file. */
  const io = <T>(file: string, f: () => T): T => {
    try {
      return f();
    } catch (err) {
      throw fileSystemError(err, file, 'write');
    }
  };
  try {
    for await (const bag of bags) {
      if (seen.has(bag.id))
        throw new MilkitDataError(
          'duplicate bag id',
          { file: opts.source ?? instancePath, bag: bag.id, field: 'bag_id' },
          'give every bag its own id',
        );
      seen.add(bag.id);
      const n = validateInstances(bag, dim, opts.source ?? instancePath);
      validateBagLabels(bag, opts.source ?? instancePath);
      if (classes) checkLabelSet([bag], classes, opts.source ?? instancePath);
      if (!schema || !writer) {
        schema = instanceSchema(dim, Boolean(bag.coords), Boolean(bag.instanceLabels), opts.metadata ?? {});
        fd = io(instancePath, () => fs.openSync(tmpInstances, 'w'));
        writer = new FdFileWriter(fd);
        const w = writer;
        io(instancePath, () => w.reset(undefined, schema));
      } else {
        const hasCoords = schema.fields.some((f) => f.name === INSTANCE_COLUMNS.x);
        const hasLabels = schema.fields.some((f) => f.name === INSTANCE_COLUMNS.instanceLabel);
        if (hasCoords !== Boolean(bag.coords))
          throw new MilkitDataError(
            `coordinates must be given for every bag or for none`,
            { file: opts.source ?? instancePath, bag: bag.id, field: 'x/y' },
            'give coordinates for every bag, or drop them',
          );
        if (hasLabels !== Boolean(bag.instanceLabels))
          throw new MilkitDataError(
            `instance labels must be given for every bag or for none`,
            { file: opts.source ?? instancePath, bag: bag.id, field: 'instance_label' },
            'give instance labels for every bag (-1 = unknown), or drop them',
          );
      }
      const w = writer;
      const s = schema;
      io(instancePath, () => w.write(instanceBatch(s, bag, n, dim)));
      instances += n;
      rows.push({
        id: bag.id,
        label: bag.label,
        time: bag.time,
        event: bag.event,
        patientId: bag.patientId ?? bag.id,
        n,
        meta: bag.meta ?? {},
      });
    }
    if (!writer || fd === undefined)
      throw new MilkitDataError(
        'no bags to write',
        { file: opts.source ?? instancePath },
        'check that the input has data rows',
      );
    checkLabelSet(rows, classes, opts.source ?? instancePath);
    const w = writer;
    const f = fd;
    io(instancePath, () => {
      w.finish();
      fs.fsyncSync(f);
    });
    io(bagPath, () => fs.writeFileSync(tmpBags, A.tableToIPC(bagTable(rows, bagPath), 'file')));
    io(instancePath, () => {
      fs.renameSync(tmpInstances, instancePath);
      fs.renameSync(tmpBags, bagPath);
    });
    return { instancePath, bagPath, bags: rows.length, instances, dim };
  } catch (err) {
    removeQuietly(tmpInstances);
    removeQuietly(tmpBags);
    throw err;
  } finally {
    if (fd !== undefined) fs.closeSync(fd);
  }
}
