/**
 * Random-access reader of a milkit cohort.
 *
 * Opening reads only the bag table and the instance file's footer. `bag(i)` reads exactly one record
 * batch from disk and hands out a zero-copy Float32Array view of its features; a small LRU cache
 * (bounded in bytes) keeps recently used bags, so iterating a cohort far larger than memory holds
 * at most one cache's worth of bags at a time. `prefetch(i)` (and `iterate()`, which calls it) reads
 * the next bag on libuv's thread pool while the caller computes on the current one, so a pass over
 * a cohort read from disk costs about max(read, compute) instead of their sum (`npm run bench:overlap`).
 */
import * as A from 'apache-arrow';
import * as fs from 'node:fs';
import { type Bag, type BagInfo, validateInstances } from './bag';
import { CLASSES_KEY, checkLabelSet, parseClasses } from './classes';
import { registerArrowCodecs } from './codecs';
import { MilkitDataError, type NoticeSink, stderrNotice } from './errors';
import {
  type InstanceSchema,
  checkInstanceSchema,
  checkMagic,
  convertFix,
  firstListLength,
  readBagTable,
  readFeatures,
} from './cohortFile';
import { toInt32 } from './numeric';
import {
  type RawBatch,
  type RawLayout,
  rawLayout,
  readBatchHeader,
  readBatchLength,
  readRawBatch,
  readRawBatchAsync,
} from './rawBatch';
import { INSTANCE_COLUMNS, bagTablePath, instanceTablePath } from './format';

export interface OpenOptions {
  /** Bytes of decoded bags kept in memory (default 512 MiB; 0 disables the cache). */
  cacheBytes?: number;
  /** Check every loaded bag for NaN/Inf and shape problems (default true; costs ~1 ms per 1M values). */
  validate?: boolean;
  /** One-line notes about files read with a conversion (default: printed to stderr). */
  onNotice?: NoticeSink;
  /** Bags `prefetch` reads ahead while the current one computes: 1 (default) or 0 (read only when asked). */
  readAhead?: 0 | 1;
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
  /** The bag being read ahead (at most one: memory stays the cache plus one bag). */
  private ahead: { index: number; bag: Promise<Bag> } | undefined;
  /** Reads still in flight (a replaced read-ahead finishes before the file closes). */
  private readonly reading = new Set<Promise<unknown>>();
  /** Buffer layout for the fast read path, when the file has milkit's own schema. */
  private readonly layout: RawLayout | undefined;

  private constructor(
    /** Path of the instance file. */
    readonly path: string,
    private readonly schemaInfo: InstanceSchema,
    /** Schema metadata of the instance file (provenance). */
    readonly metadata: ReadonlyMap<string, string>,
    /** Class names (`milkit.classes`), when the labels were names. */
    readonly classes: readonly string[] | undefined,
    bags: BagInfo[],
    private readonly batchIndex: number[],
    private readonly reader: A.AsyncRecordBatchFileReader,
    private readonly handle: fs.promises.FileHandle,
    private readonly opts: Required<OpenOptions>,
  ) {
    this.bags = bags;
    this.cache = new BagCache(opts.cacheBytes);
    this.byId = new Map(bags.map((b, i) => [b.id, i]));
    this.layout = schemaInfo.features === 'float32' ? rawLayout(reader.schema) : undefined;
  }

  /** Feature width D. */
  get dim(): number {
    return this.schemaInfo.dim;
  }
  get hasCoords(): boolean {
    return this.schemaInfo.hasCoords;
  }
  get hasInstanceLabels(): boolean {
    return this.schemaInfo.hasInstanceLabels;
  }

  /** Opens `x.arrow` (or `x.bags.arrow`, or `x`) and checks the format; reads no instance data. */
  static async open(path: string, options: OpenOptions = {}): Promise<Cohort> {
    registerArrowCodecs();
    const base = path.endsWith('.arrow') ? path : `${path}.arrow`;
    const file = instanceTablePath(base);
    const bagFile = bagTablePath(file);
    if (!fs.existsSync(file)) {
      const parquet = [path, file.replace(/\.arrow$/, '.parquet')].find(
        (p) => p.endsWith('.parquet') && fs.existsSync(p),
      );
      if (parquet)
        throw new MilkitDataError(
          'this is a Parquet cohort; milkit reads Arrow IPC files',
          { file: parquet },
          convertFix(parquet, 'parquet'),
        );
      throw new MilkitDataError(
        'instance file not found',
        { file },
        'check the path (a cohort is x.arrow + x.bags.arrow)',
      );
    }
    checkMagic(file);
    if (!fs.existsSync(bagFile))
      throw new MilkitDataError(
        `bag table not found (expected next to ${file})`,
        { file: bagFile },
        'write the bag table (one row per bag: bag_id, label, ...) as NAME.bags.arrow next to NAME.arrow',
      );
    const opts: Required<OpenOptions> = {
      cacheBytes: options.cacheBytes ?? 512 * 2 ** 20,
      validate: options.validate ?? true,
      onNotice: options.onNotice ?? stderrNotice,
      readAhead: options.readAhead ?? 1,
    };
    const { infos } = readBagTable(bagFile, file);
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
      throw new MilkitDataError(`corrupt Arrow file: ${(err as Error).message}`, { file }, 'write the file again');
    }
    try {
      const schema = checkInstanceSchema(reader.schema, file);
      const batches = reader.numRecordBatches;
      if (batches !== infos.length) {
        throw new MilkitDataError(
          `the instance file has ${batches} record batch${batches === 1 ? '' : 'es'} for ` +
            `the ${infos.length} bags of the bag table; milkit reads one record batch per bag`,
          { file },
          convertFix(file),
        );
      }
      const classes = parseClasses(reader.schema.metadata.get(CLASSES_KEY), file);
      checkLabelSet(infos, classes, bagFile);
      const batchIndex = infos.map((_, i) => i);
      if (schema.dim === 0 && batches > 0) schema.dim = await firstListLength(reader, file);
      const cohort = new Cohort(file, schema, reader.schema.metadata, classes, infos, batchIndex, reader, handle, opts);
      const compression = batches > 0 ? cohort.compression(0) : undefined;
      if (schema.features !== 'float32')
        opts.onNotice(
          `${file}: features are ${schema.featureType}; each bag is converted ` +
            `to float32 as it loads (${convertFix(file)} once, for zero-copy reads)`,
        );
      else if (compression)
        opts.onNotice(`${file}: ${compression}-compressed Arrow; each bag is decompressed as it loads (not zero-copy)`);
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

  /** Number of classes: the class names when given, else max label + 1; 0 for a survival-only cohort. */
  get numClasses(): number {
    return this.classes?.length ?? this.bags.reduce((m, b) => Math.max(m, (b.label ?? -1) + 1), 0);
  }

  get isSurvival(): boolean {
    return this.bags.every((b) => b.time !== undefined);
  }

  /** Index of a bag id (throws for an unknown id). */
  indexOf(id: string): number {
    const i = this.byId.get(id);
    if (i === undefined)
      throw new MilkitDataError(
        'no such bag in this cohort',
        { file: this.path, bag: id },
        'check the bag id (milkit inspect lists the bags)',
      );
    return i;
  }

  /** Loads one bag by position or id: reads only its record batch from disk. */
  async bag(which: number | string): Promise<Bag> {
    const index = this.position(which);
    const cached = this.cache.get(index);
    if (cached) return cached;
    let bag: Bag;
    if (this.ahead?.index === index) {
      const ahead = this.ahead.bag;
      this.ahead = undefined;
      bag = await ahead;
    } else {
      bag = this.toBag(this.readRaw(index) ?? (await this.readArrow(index)), index);
    }
    this.cache.set(index, bag);
    return bag;
  }

  /**
   * Starts reading bag `which` in the background (thread pool), so that a later `bag(which)` finds it
   * read: call it for the next bag before computing on the current one. One bag is read ahead at a
   * time (a new call replaces an unclaimed one); nothing happens with `readAhead: 0`, for a cached
   * bag, or for an index out of range (the later `bag` call reports that). A failed read is reported
   * by that `bag` call, never here.
   */
  prefetch(which: number | string): void {
    if (this.opts.readAhead === 0) return;
    let index: number;
    try {
      index = this.position(which);
    } catch {
      return;
    }
    if (this.ahead?.index === index || this.cache.get(index)) return;
    const bag = this.readAsync(index);
    const settled = bag.catch(() => undefined); // a failure is reported when the bag is claimed
    this.reading.add(settled);
    void settled.then(() => this.reading.delete(settled));
    this.ahead = { index, bag };
  }

  private position(which: number | string): number {
    const index = typeof which === 'string' ? this.indexOf(which) : which;
    if (!Number.isInteger(index) || index < 0 || index >= this.bags.length) {
      throw new MilkitDataError(
        `bag index ${which} out of range 0..${this.bags.length - 1}`,
        { file: this.path },
        'use an index below cohort.size',
      );
    }
    return index;
  }

  /** Reads bag `index` with the file's bytes arriving on the thread pool (the fast path), else Arrow's reader. */
  private async readAsync(index: number): Promise<Bag> {
    const block = this.layout && this.reader.footer?.getRecordBatch(this.batchIndex[index]);
    let raw: RawBatch | undefined;
    if (block && this.layout) {
      try {
        raw = await readRawBatchAsync(this.handle, block, this.layout, this.dim);
      } catch (err) {
        throw this.damaged(index, err);
      }
    }
    return this.toBag(raw ?? (await this.readArrow(index)), index);
  }

  private damaged(index: number, err: unknown): MilkitDataError {
    return new MilkitDataError(
      `cannot read the record batch: ${(err as Error).message}`,
      { file: this.path, bag: this.bags[index].id },
      'the file is damaged: write or copy it again',
    );
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

  /**
   * Streams bags one at a time (all, or the given positions) without growing memory past the cache
   * and one bag read ahead: the next bag is read while the caller works on the one it was given.
   */
  async *iterate(indices?: Iterable<number>): AsyncGenerator<Bag> {
    const order = [...(indices ?? this.bags.keys())];
    for (let k = 0; k < order.length; k++) {
      const bag = await this.bag(order[k]);
      if (k + 1 < order.length) this.prefetch(order[k + 1]);
      yield bag;
    }
  }

  /** Bytes currently held by the bag cache. */
  get cachedBytes(): number {
    return this.cache.sizeBytes;
  }

  async close(): Promise<void> {
    this.ahead = undefined;
    await Promise.all(this.reading); // reads in flight finish before their file closes
    await this.handle.close();
  }

  /** Fast path (rawBatch.ts) for files in milkit's own layout; undefined → use Arrow's reader. */
  private readRaw(index: number): RawBatch | undefined {
    const block = this.layout && this.reader.footer?.getRecordBatch(this.batchIndex[index]);
    if (!block || !this.layout) return undefined;
    try {
      return readRawBatch(this.handle.fd, block, this.layout, this.dim);
    } catch (err) {
      throw this.damaged(index, err);
    }
  }

  /** The compression codec of record batch `index` ("zstd", "lz4"), or undefined. */
  private compression(index: number): string | undefined {
    const block = this.reader.footer?.getRecordBatch(this.batchIndex[index]);
    if (!block) return undefined;
    const c = readBatchHeader(this.handle.fd, block).compression;
    return c ? (c.type === A.CompressionType.ZSTD ? 'zstd' : 'lz4') : undefined;
  }

  /** Arrow's generic reader: any valid IPC file (other writers' layouts, compressed, other types). */
  private async readArrow(index: number): Promise<RawBatch> {
    const info = this.bags[index];
    const where = { file: this.path, bag: info.id };
    let batch: A.RecordBatch | null;
    try {
      batch = await this.readBatch(this.batchIndex[index]);
    } catch (err) {
      throw new MilkitDataError(
        `cannot read the record batch: ${(err as Error).message}`,
        where,
        'write the file again',
      );
    }
    if (!batch) throw new MilkitDataError('record batch missing', where, 'write the file again');
    const b = batch;
    const n = b.numRows;
    const raw: RawBatch = {
      numRows: n,
      firstBagId: n > 0 ? String(batch.getChild(INSTANCE_COLUMNS.bagId)!.get(0)) : undefined,
      features: readFeatures(batch.getChild(INSTANCE_COLUMNS.features)!, this.dim, where),
      featureNulls: batch.getChild(INSTANCE_COLUMNS.features)!.nullCount,
    };
    if (this.hasCoords) {
      const column = (name: string) => {
        const col = b.getChild(name)!;
        if (col.nullCount > 0)
          throw new MilkitDataError(
            `${col.nullCount} null coordinates`,
            { ...where, field: name },
            'give every instance its position',
          );
        return toInt32(col.toArray() as ArrayLike<number | bigint>, { ...where, field: name });
      };
      raw.x = column(INSTANCE_COLUMNS.x);
      raw.y = column(INSTANCE_COLUMNS.y);
    }
    if (this.hasInstanceLabels) {
      const col = batch.getChild(INSTANCE_COLUMNS.instanceLabel)!;
      const values = Array.from({ length: n }, (_, i) => col.get(i) as number | bigint | null);
      raw.instanceLabels = toInt32(
        values.map((v) => v ?? -1),
        { ...where, field: INSTANCE_COLUMNS.instanceLabel },
        'store instance labels as small integers (null or -1 = unknown)',
      );
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
        `record batch ${this.batchIndex[index]} holds bag "${raw.firstBagId}", ` +
          `but the bag table lists "${info.id}" at this position`,
        { ...where, field: 'bag_id' },
        `write the bag table rows in the order of the record batches, or ${convertFix(this.path)}`,
      );
    }
    if (info.numInstances >= 0 && n !== info.numInstances) {
      throw new MilkitDataError(
        `bag table says ${info.numInstances} instances, the instance file has ${n}`,
        { ...where, field: 'num_instances' },
        'correct num_instances or drop the column (it is counted on open)',
      );
    }
    if (raw.featureNulls > 0)
      throw new MilkitDataError(
        `${raw.featureNulls} null features`,
        { ...where, field: 'features' },
        'fill in every feature value',
      );
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
