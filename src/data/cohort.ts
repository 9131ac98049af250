/**
 * Random-access reader of a milkit cohort.
 *
 * Opening reads only the bag table and the instance file's footer. `bag(i)` reads exactly one record
 * batch from disk and hands out a zero-copy Float32Array view of its features; a small LRU cache
 * (bounded in bytes) keeps recently used bags, so iterating a cohort far larger than memory holds
 * at most one cache's worth of bags at a time.
 */
import * as A from 'apache-arrow';
import * as fs from 'node:fs';
import { type Bag, type BagInfo, validateBagLabels, validateInstances } from './bag';
import { MilkitDataError } from './errors';
import { type RawBatch, type RawLayout, rawLayout, readBatchLength, readRawBatch } from './rawBatch';
import {
  BAG_COLUMNS,
  FORMAT_NAME,
  INSTANCE_COLUMNS,
  META_KEYS,
  META_PREFIX,
  bagTablePath,
  instanceTablePath,
} from './format';
import { closest } from '../didYouMean';

export interface OpenOptions {
  /** Bytes of decoded bags kept in memory (default 512 MiB; 0 disables the cache). */
  cacheBytes?: number;
  /** Check every loaded bag for NaN/Inf and shape problems (default true; costs ~1 ms per 1M values). */
  validate?: boolean;
}

const ARROW_MAGIC = 'ARROW1';
const KNOWN_INSTANCE_COLUMNS = Object.values(INSTANCE_COLUMNS) as string[];
const KNOWN_BAG_COLUMNS = Object.values(BAG_COLUMNS) as string[];

/** Checks the Arrow file magic at both ends: a missing trailer means a truncated file. */
function checkMagic(file: string): void {
  let fd: number;
  try {
    fd = fs.openSync(file, 'r');
  } catch (err) {
    throw new MilkitDataError(`cannot open: ${(err as Error).message}`, { file });
  }
  try {
    const size = fs.fstatSync(fd).size;
    const head = Buffer.alloc(6);
    const tail = Buffer.alloc(6);
    fs.readSync(fd, head, 0, 6, 0);
    if (size >= 4 && head.readUInt32LE(0) === 0xffffffff) {
      throw new MilkitDataError(
        'this is the Arrow IPC *stream* format; milkit needs the IPC *file* format (with a footer, for random access): pyarrow.ipc.new_file, not new_stream',
        { file },
      );
    }
    if (size < 12 || head.toString('latin1') !== ARROW_MAGIC) {
      throw new MilkitDataError(`not an Arrow IPC file (no ${ARROW_MAGIC} header; ${size} bytes)`, { file });
    }
    fs.readSync(fd, tail, 0, 6, size - 6);
    if (tail.toString('latin1') !== ARROW_MAGIC) {
      throw new MilkitDataError(
        'truncated or corrupt Arrow file: the footer is missing (was it copied or written completely?)',
        { file },
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

function readBagTable(file: string): { infos: BagInfo[] } {
  checkMagic(file);
  let table: A.Table;
  try {
    table = A.tableFromIPC(fs.readFileSync(file));
  } catch (err) {
    throw new MilkitDataError(`corrupt Arrow file: ${(err as Error).message}`, { file });
  }
  for (const f of table.schema.fields) {
    if (!KNOWN_BAG_COLUMNS.includes(f.name) && !f.name.startsWith(META_PREFIX)) {
      const hint = closest(f.name, KNOWN_BAG_COLUMNS);
      throw new MilkitDataError(
        `unknown column in the bag table${hint ? ` (did you mean "${hint}"?)` : ''}; known: ${KNOWN_BAG_COLUMNS.join(', ')}, or ${META_PREFIX}* for free metadata`,
        { file, field: f.name },
      );
    }
  }
  if (!table.getChild(BAG_COLUMNS.bagId))
    throw new MilkitDataError('the bag table has no bag_id column', { file, field: BAG_COLUMNS.bagId });
  const metaCols = table.schema.fields.filter((f) => f.name.startsWith(META_PREFIX)).map((f) => f.name);
  const infos: BagInfo[] = [];
  const seen = new Set<string>();
  for (let r = 0; r < table.numRows; r++) {
    const id = columnValue(table, BAG_COLUMNS.bagId, r);
    if (typeof id !== 'string' || id === '')
      throw new MilkitDataError('empty bag id', { file, row: r, field: BAG_COLUMNS.bagId });
    if (seen.has(id))
      throw new MilkitDataError('duplicate bag id', { file, bag: id, row: r, field: BAG_COLUMNS.bagId });
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

/** A tiny LRU keyed by bag index, bounded by bytes. */
class BagCache {
  private readonly map = new Map<number, Bag>();
  private bytes = 0;
  constructor(private readonly capacity: number) {}
  get(i: number): Bag | undefined {
    const b = this.map.get(i);
    if (b) {
      this.map.delete(i);
      this.map.set(i, b);
    }
    return b;
  }
  set(i: number, bag: Bag): void {
    const size = bag.features.byteLength;
    if (size > this.capacity) return;
    this.map.set(i, bag);
    this.bytes += size;
    for (const [k, v] of this.map) {
      if (this.bytes <= this.capacity) break;
      this.map.delete(k);
      this.bytes -= v.features.byteLength;
    }
  }
  get sizeBytes(): number {
    return this.bytes;
  }
}

export class Cohort {
  /** Bag-level information in bag-table order; `bags[i]` is record batch `batchIndex[i]`. */
  readonly bags: readonly BagInfo[];
  private readonly cache: BagCache;
  private readonly byId: Map<string, number>;
  /** Bags that passed validation since open (validation runs once per bag). */
  private readonly validated = new Set<number>();
  private readQueue: Promise<unknown> = Promise.resolve();
  /** Buffer layout for the fast read path, when the file has milkit's own schema. */
  private readonly layout: RawLayout | undefined;

  private constructor(
    /** Path of the instance file. */
    readonly path: string,
    readonly dim: number,
    readonly hasCoords: boolean,
    readonly hasInstanceLabels: boolean,
    /** Schema metadata of the instance file (provenance). */
    readonly metadata: ReadonlyMap<string, string>,
    bags: BagInfo[],
    private readonly batchIndex: number[],
    private readonly reader: A.AsyncRecordBatchFileReader,
    private readonly handle: fs.promises.FileHandle,
    private readonly opts: Required<OpenOptions>,
  ) {
    this.bags = bags;
    this.cache = new BagCache(opts.cacheBytes);
    this.byId = new Map(bags.map((b, i) => [b.id, i]));
    this.layout = rawLayout(reader.schema);
  }

  /** Opens `x.arrow` (or `x.bags.arrow`, or `x`) and checks the format; reads no instance data. */
  static async open(path: string, options: OpenOptions = {}): Promise<Cohort> {
    const base = path.endsWith('.arrow') ? path : `${path}.arrow`;
    const file = instanceTablePath(base);
    const bagFile = bagTablePath(file);
    if (!fs.existsSync(file)) throw new MilkitDataError('instance file not found', { file });
    if (!fs.existsSync(bagFile))
      throw new MilkitDataError(`bag table not found (expected next to ${file})`, { file: bagFile });
    const opts: Required<OpenOptions> = {
      cacheBytes: options.cacheBytes ?? 512 * 2 ** 20,
      validate: options.validate ?? true,
    };
    const { infos } = readBagTable(bagFile);
    checkMagic(file);
    const handle = await fs.promises.open(file, 'r');
    let reader: A.AsyncRecordBatchFileReader;
    try {
      const r = await A.RecordBatchReader.from(handle);
      await r.open();
      if (!r.isFile()) throw new Error('not in the Arrow IPC *file* format (streams have no footer for random access)');
      reader = r as A.AsyncRecordBatchFileReader;
    } catch (err) {
      await handle.close();
      if (err instanceof MilkitDataError) throw err;
      throw new MilkitDataError(`corrupt Arrow file: ${(err as Error).message}`, { file });
    }
    try {
      const { dim, hasCoords, hasInstanceLabels } = checkInstanceSchema(reader.schema, file);
      const batches = reader.numRecordBatches;
      if (batches !== infos.length) {
        throw new MilkitDataError(
          `the instance file has ${batches} record batches (bags) but the bag table lists ${infos.length} bags`,
          { file },
        );
      }
      const batchIndex = infos.map((_, i) => i);
      const cohort = new Cohort(
        file,
        dim,
        hasCoords,
        hasInstanceLabels,
        reader.schema.metadata,
        infos,
        batchIndex,
        reader,
        handle,
        opts,
      );
      if (infos.some((b) => b.numInstances < 0)) await cohort.countInstances();
      return cohort;
    } catch (err) {
      await handle.close();
      throw err;
    }
  }

  get size(): number {
    return this.bags.length;
  }

  /** Number of classes (max label + 1), or 0 for a survival-only cohort. */
  get numClasses(): number {
    return this.bags.reduce((m, b) => Math.max(m, (b.label ?? -1) + 1), 0);
  }

  get isSurvival(): boolean {
    return this.bags.every((b) => b.time !== undefined);
  }

  /** Index of a bag id (throws for an unknown id). */
  indexOf(id: string): number {
    const i = this.byId.get(id);
    if (i === undefined) throw new MilkitDataError('no such bag in this cohort', { file: this.path, bag: id });
    return i;
  }

  /** Loads one bag by position or id: reads only its record batch from disk. */
  async bag(which: number | string): Promise<Bag> {
    const index = typeof which === 'string' ? this.indexOf(which) : which;
    if (!Number.isInteger(index) || index < 0 || index >= this.bags.length) {
      throw new MilkitDataError(`bag index ${which} out of range 0..${this.bags.length - 1}`, { file: this.path });
    }
    const cached = this.cache.get(index);
    if (cached) return cached;
    const bag = this.toBag(this.readRaw(index) ?? (await this.readArrow(index)), index);
    this.cache.set(index, bag);
    return bag;
  }

  /**
   * Reads one record batch. Arrow's file reader keeps one file position, so concurrent reads
   * (`Promise.all` over bags, prefetching) would interleave and return the wrong or no batch:
   * reads are queued one after another.
   */
  private readBatch(batch: number): Promise<A.RecordBatch | null> {
    const read = this.readQueue.then(() => this.reader.readRecordBatch(batch));
    this.readQueue = read.catch(() => undefined);
    return read;
  }

  /** Streams bags one at a time (all, or the given positions) without growing memory past the cache. */
  async *iterate(indices?: Iterable<number>): AsyncGenerator<Bag> {
    for (const i of indices ?? this.bags.keys()) yield await this.bag(i);
  }

  /** Bytes currently held by the bag cache. */
  get cachedBytes(): number {
    return this.cache.sizeBytes;
  }

  async close(): Promise<void> {
    await this.handle.close();
  }

  /** Fast path (rawBatch.ts) for files in milkit's own layout; undefined → use Arrow's reader. */
  private readRaw(index: number): RawBatch | undefined {
    const block = this.layout && this.reader.footer?.getRecordBatch(this.batchIndex[index]);
    if (!block || !this.layout) return undefined;
    try {
      return readRawBatch(this.handle.fd, block, this.layout, this.dim);
    } catch (err) {
      throw new MilkitDataError(`cannot read the record batch: ${(err as Error).message}`, {
        file: this.path,
        bag: this.bags[index].id,
      });
    }
  }

  /** Arrow's generic reader: any valid IPC file (other writers' layouts). */
  private async readArrow(index: number): Promise<RawBatch> {
    const info = this.bags[index];
    let batch: A.RecordBatch | null;
    try {
      batch = await this.readBatch(this.batchIndex[index]);
    } catch (err) {
      const msg = (err as Error).message;
      const hint = /compress/i.test(msg)
        ? ' (compressed Arrow buffers are not supported: bags are read zero-copy, so write the file uncompressed)'
        : '';
      throw new MilkitDataError(`cannot read the record batch: ${msg}${hint}`, { file: this.path, bag: info.id });
    }
    if (!batch) throw new MilkitDataError('record batch missing', { file: this.path, bag: info.id });
    const n = batch.numRows;
    const fdata = batch.getChild(INSTANCE_COLUMNS.features)!.data;
    if (fdata.length !== 1)
      throw new MilkitDataError('features split over several chunks in one batch', {
        file: this.path,
        bag: info.id,
        field: 'features',
      });
    const d = fdata[0];
    const values = d.children[0].values as Float32Array;
    const raw: RawBatch = {
      numRows: n,
      firstBagId: n > 0 ? batch.getChild(INSTANCE_COLUMNS.bagId)!.get(0) : undefined,
      features: values.subarray(d.offset * this.dim, (d.offset + d.length) * this.dim),
      featureNulls: d.nullCount,
    };
    if (this.hasCoords) {
      raw.x = batch.getChild(INSTANCE_COLUMNS.x)!.toArray() as Int32Array;
      raw.y = batch.getChild(INSTANCE_COLUMNS.y)!.toArray() as Int32Array;
    }
    if (this.hasInstanceLabels) {
      const col = batch.getChild(INSTANCE_COLUMNS.instanceLabel)!;
      raw.instanceLabels = Int32Array.from({ length: n }, (_, i) => (col.get(i) as number | null) ?? -1);
    }
    return raw;
  }

  /** Checks a decoded batch against the bag table and builds the Bag. */
  private toBag(raw: RawBatch, index: number): Bag {
    const info = this.bags[index];
    const where = { file: this.path, bag: info.id };
    const n = raw.numRows;
    if (n > 0 && raw.firstBagId !== info.id) {
      throw new MilkitDataError(
        `record batch ${this.batchIndex[index]} holds bag "${raw.firstBagId}", but the bag table lists "${info.id}" at this position`,
        { ...where, field: 'bag_id' },
      );
    }
    if (info.numInstances >= 0 && n !== info.numInstances) {
      throw new MilkitDataError(`bag table says ${info.numInstances} instances, the instance file has ${n}`, {
        ...where,
        field: 'num_instances',
      });
    }
    if (raw.featureNulls > 0)
      throw new MilkitDataError(`${raw.featureNulls} instances have null features`, { ...where, field: 'features' });
    const bag: Bag = { ...info, numInstances: n, index, features: raw.features, dim: this.dim };
    if (raw.x && raw.y) {
      const coords = new Int32Array(2 * n);
      for (let i = 0; i < n; i++) [coords[2 * i], coords[2 * i + 1]] = [raw.x[i], raw.y[i]];
      bag.coords = coords;
    }
    if (raw.instanceLabels) bag.instanceLabels = raw.instanceLabels;
    // A bag's bytes cannot change while the file is open (we hold its descriptor), so each bag is
    // checked on its first load only: later epochs load at full speed (docs/FORMAT.md, bench:io).
    if (this.opts.validate && !this.validated.has(index)) {
      validateInstances(bag, this.dim, this.path);
      this.validated.add(index);
    }
    return bag;
  }

  /** Fills missing `num_instances` (bag tables written by other tools) with one pass over the file. */
  private async countInstances(): Promise<void> {
    for (let i = 0; i < this.bags.length; i++) {
      // The message header holds the row count: no need to read the bag's body.
      const block = this.reader.footer?.getRecordBatch(this.batchIndex[i]);
      if (block) {
        (this.bags[i] as BagInfo).numInstances = readBatchLength(this.handle.fd, block);
        continue;
      }
      const batch = await this.reader.readRecordBatch(this.batchIndex[i]);
      (this.bags[i] as BagInfo).numInstances = batch?.numRows ?? 0;
    }
  }
}

function checkInstanceSchema(
  schema: A.Schema,
  file: string,
): { dim: number; hasCoords: boolean; hasInstanceLabels: boolean } {
  for (const f of schema.fields) {
    if (!KNOWN_INSTANCE_COLUMNS.includes(f.name)) {
      const hint = closest(f.name, KNOWN_INSTANCE_COLUMNS);
      throw new MilkitDataError(
        `unknown column in the instance table${hint ? ` (did you mean "${hint}"?)` : ''}; known: ${KNOWN_INSTANCE_COLUMNS.join(', ')}`,
        { file, field: f.name },
      );
    }
  }
  const byName = new Map(schema.fields.map((f) => [f.name, f]));
  if (!byName.has(INSTANCE_COLUMNS.bagId))
    throw new MilkitDataError('missing column', { file, field: INSTANCE_COLUMNS.bagId });
  const feat = byName.get(INSTANCE_COLUMNS.features);
  if (!feat) throw new MilkitDataError('missing column', { file, field: INSTANCE_COLUMNS.features });
  if (
    !A.DataType.isFixedSizeList(feat.type) ||
    !A.DataType.isFloat(feat.type.children[0].type) ||
    (feat.type.children[0].type as A.Float).precision !== A.Precision.SINGLE
  ) {
    throw new MilkitDataError(`features must be FixedSizeList<float32>[D], got ${feat.type}`, {
      file,
      field: INSTANCE_COLUMNS.features,
    });
  }
  const dim = (feat.type as A.FixedSizeList).listSize;
  const declared = schema.metadata.get(META_KEYS.featureDim);
  if (declared !== undefined && Number(declared) !== dim) {
    throw new MilkitDataError(`schema metadata says feature width ${declared}, the column has ${dim}`, {
      file,
      field: INSTANCE_COLUMNS.features,
    });
  }
  const format = schema.metadata.get(META_KEYS.format);
  if (format !== undefined && format !== FORMAT_NAME)
    throw new MilkitDataError(`unexpected format "${format}"`, { file, field: META_KEYS.format });
  const hasX = byName.has(INSTANCE_COLUMNS.x);
  if (hasX !== byName.has(INSTANCE_COLUMNS.y))
    throw new MilkitDataError('x and y coordinates must both be present or both absent', {
      file,
      field: hasX ? 'y' : 'x',
    });
  return { dim, hasCoords: hasX, hasInstanceLabels: byName.has(INSTANCE_COLUMNS.instanceLabel) };
}
