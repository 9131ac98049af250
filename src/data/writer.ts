/**
 * Writes a cohort (instance file + bag table) bag by bag, so cohorts larger than memory stream
 * straight to disk. Both files are written to temporary names and renamed at the end: a crash or
 * a bad bag half-way never leaves a half-written cohort under the final name.
 */
import * as A from 'apache-arrow';
import * as fs from 'node:fs';
import { dirname } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { type BagRecord, validateBagLabels, validateInstances } from './bag';
import { MilkitDataError } from './errors';
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
  /** Extra schema metadata (provenance: source files, builder, seed). */
  metadata?: Record<string, string>;
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
 * Writes `bags` as a cohort at `path` (`x.arrow` → `x.arrow` + `x.bags.arrow`).
 * Every bag is validated (non-empty, same width, finite, labels present, unique id) before it is written.
 */
export async function writeCohort(
  path: string,
  bags: Iterable<BagRecord> | AsyncIterable<BagRecord>,
  opts: WriteOptions,
): Promise<WriteSummary> {
  const instancePath = instanceTablePath(path.endsWith('.arrow') ? path : `${path}.arrow`);
  const bagPath = bagTablePath(instancePath);
  fs.mkdirSync(dirname(instancePath), { recursive: true });
  const tmpInstances = `${instancePath}.tmp-${process.pid}`;
  const tmpBags = `${bagPath}.tmp-${process.pid}`;
  const writer = new A.RecordBatchFileWriter();
  let drained: Promise<void> | undefined;
  const rows: BagRow[] = [];
  const seen = new Set<string>();
  const dim = opts.dim;
  if (!Number.isInteger(dim) || dim < 1)
    throw new MilkitDataError(`feature width must be a positive integer, got ${dim}`, {
      file: instancePath,
      field: 'features',
    });
  let schema: A.Schema | undefined;
  let instances = 0;
  try {
    for await (const bag of bags) {
      if (seen.has(bag.id))
        throw new MilkitDataError('duplicate bag id', { file: instancePath, bag: bag.id, field: 'bag_id' });
      seen.add(bag.id);
      const n = validateInstances(bag, dim, instancePath);
      validateBagLabels(bag, instancePath);
      if (!schema) {
        schema = instanceSchema(dim, Boolean(bag.coords), Boolean(bag.instanceLabels), opts.metadata ?? {});
        writer.reset(undefined, schema);
        drained = pipeline(writer.toNodeStream(), fs.createWriteStream(tmpInstances));
        drained.catch(() => undefined); // observed below; never an unhandled rejection
      } else {
        const hasCoords = schema.fields.some((f) => f.name === INSTANCE_COLUMNS.x);
        const hasLabels = schema.fields.some((f) => f.name === INSTANCE_COLUMNS.instanceLabel);
        if (hasCoords !== Boolean(bag.coords))
          throw new MilkitDataError(`coordinates must be given for every bag or for none`, {
            file: instancePath,
            bag: bag.id,
            field: 'x/y',
          });
        if (hasLabels !== Boolean(bag.instanceLabels))
          throw new MilkitDataError(`instance labels must be given for every bag or for none`, {
            file: instancePath,
            bag: bag.id,
            field: 'instance_label',
          });
      }
      writer.write(instanceBatch(schema, bag, n, dim));
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
      // Let the file stream drain so memory stays at about one bag.
      await new Promise((resolve) => setImmediate(resolve));
    }
    if (!schema) throw new MilkitDataError('no bags to write', { file: instancePath });
    writer.finish();
    await drained;
    fs.writeFileSync(tmpBags, A.tableToIPC(bagTable(rows, bagPath), 'file'));
    fs.renameSync(tmpInstances, instancePath);
    fs.renameSync(tmpBags, bagPath);
    return { instancePath, bagPath, bags: rows.length, instances, dim };
  } catch (err) {
    if (drained) {
      // Close the stream normally (abort() leaves the pipeline pending), then discard the file.
      writer.finish();
      await drained.catch(() => undefined);
    }
    removeQuietly(tmpInstances);
    removeQuietly(tmpBags);
    throw err;
  }
}
