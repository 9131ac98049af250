/**
 * Checkpoints: model weights, optimiser state and trainer state in ONE file, written atomically.
 *
 * Layout: 8-byte magic `MILKITCK`, uint32 little-endian header length, the JSON header, zero padding
 * to a multiple of 4, then every tensor's float32 values back to back (offsets in the header).
 * Atomicity: the bytes go to `<file>.tmp-<pid>-<n>`, are fsync'ed, and only then renamed over
 * `<file>` (rename is atomic on POSIX file systems); the directory is fsync'ed after. A crash at
 * any moment leaves either the previous complete checkpoint or the new complete one, never a mix.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

const MAGIC = Buffer.from('MILKITCK', 'latin1');
export const CHECKPOINT_VERSION = 1;

export interface TensorEntry {
  name: string;
  shape: number[];
  values: Float32Array;
}

export interface CheckpointData<H = Record<string, unknown>> {
  /** Anything JSON: model name/config, trainer state, ... */
  header: H;
  tensors: TensorEntry[];
}

let tmpCounter = 0;

/**
 * Writes chunks to `file` atomically (temp file, fsync, rename, fsync dir). If producing or writing a
 * chunk throws, the temp file is removed and `file` is untouched.
 */
export function writeFileAtomic(file: string, chunks: Iterable<Uint8Array>): void {
  const dir = path.dirname(file);
  fs.mkdirSync(dir, { recursive: true });
  const tmp = `${file}.tmp-${process.pid}-${tmpCounter++}`;
  const fd = fs.openSync(tmp, 'w');
  try {
    for (const c of chunks) {
      let off = 0;
      while (off < c.byteLength) off += fs.writeSync(fd, c, off, c.byteLength - off);
    }
    fs.fsyncSync(fd);
  } catch (err) {
    fs.closeSync(fd);
    fs.rmSync(tmp, { force: true });
    throw err;
  }
  fs.closeSync(fd);
  fs.renameSync(tmp, file);
  try {
    const dfd = fs.openSync(dir, 'r');
    fs.fsyncSync(dfd);
    fs.closeSync(dfd);
  } catch {
    // Some file systems refuse fsync on directories; the rename itself is still atomic.
  }
}

/** The byte chunks of a checkpoint (a generator, so a failure can happen between chunks). */
export function* checkpointChunks(data: CheckpointData<unknown>): Generator<Uint8Array> {
  let offset = 0;
  const entries = data.tensors.map((t) => {
    const e = { name: t.name, shape: t.shape, offset, length: t.values.length };
    offset += t.values.length;
    return e;
  });
  const json = Buffer.from(
    JSON.stringify({ version: CHECKPOINT_VERSION, header: data.header, tensors: entries }),
    'utf8',
  );
  const len = Buffer.alloc(4);
  len.writeUInt32LE(json.length);
  const pad = (4 - ((MAGIC.length + 4 + json.length) % 4)) % 4;
  yield Buffer.concat([MAGIC, len, json, Buffer.alloc(pad)]);
  for (const t of data.tensors) yield new Uint8Array(t.values.buffer, t.values.byteOffset, t.values.byteLength);
}

export function saveCheckpoint(file: string, data: CheckpointData<unknown>): void {
  writeFileAtomic(file, checkpointChunks(data));
}

/** Reads a checkpoint; a truncated or foreign file is a clear error naming the file. */
export function loadCheckpoint<H = Record<string, unknown>>(file: string): CheckpointData<H> {
  const buf = fs.readFileSync(file);
  const bad = (why: string) => new Error(`checkpoint ${file}: ${why}`);
  if (buf.length < 12 || !buf.subarray(0, 8).equals(MAGIC)) throw bad('not a milkit checkpoint (bad magic)');
  const len = buf.readUInt32LE(8);
  if (12 + len > buf.length) throw bad('truncated header');
  const meta = JSON.parse(buf.subarray(12, 12 + len).toString('utf8')) as {
    version: number;
    header: H;
    tensors: { name: string; shape: number[]; offset: number; length: number }[];
  };
  if (meta.version !== CHECKPOINT_VERSION)
    throw bad(`version ${meta.version}, this milkit reads ${CHECKPOINT_VERSION}`);
  const start = 12 + len + ((4 - ((12 + len) % 4)) % 4);
  const total = meta.tensors.reduce((s, t) => s + t.length, 0);
  if (start + 4 * total !== buf.length)
    throw bad(`expected ${start + 4 * total} bytes, the file has ${buf.length} (truncated or corrupt)`);
  // Copy into an aligned buffer: the file buffer may not be 4-byte aligned.
  const values = new Float32Array(total);
  new Uint8Array(values.buffer).set(buf.subarray(start));
  const tensors = meta.tensors.map((t) => ({
    name: t.name,
    shape: t.shape,
    values: values.subarray(t.offset, t.offset + t.length),
  }));
  return { header: meta.header, tensors };
}
