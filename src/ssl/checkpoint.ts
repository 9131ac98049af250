/**
 * Single-file checkpoints of named float32 tensors plus a JSON header:
 *   "MKSSL1" | uint32 LE header length | UTF-8 JSON header | float32 LE values, in header order.
 * Writes go to a temporary file that is renamed over the target, so a crash mid-save leaves the
 * previous checkpoint intact (rename is atomic on one filesystem).
 */
import * as fs from 'node:fs';
import { MilkitDataError } from '../data/errors';

const MAGIC = 'MKSSL1';

export interface TensorEntry {
  name: string;
  shape: number[];
  values: Float32Array;
}

interface Header<M> {
  meta: M;
  tensors: { name: string; shape: number[] }[];
}

export function writeCheckpoint<M>(file: string, meta: M, tensors: TensorEntry[]): void {
  const header: Header<M> = { meta, tensors: tensors.map(({ name, shape }) => ({ name, shape })) };
  const json = Buffer.from(JSON.stringify(header), 'utf8');
  const lead = Buffer.alloc(MAGIC.length + 4);
  lead.write(MAGIC, 0, 'latin1');
  lead.writeUInt32LE(json.length, MAGIC.length);
  const tmp = `${file}.tmp-${process.pid}`;
  const fd = fs.openSync(tmp, 'w');
  try {
    fs.writeSync(fd, lead);
    fs.writeSync(fd, json);
    for (const t of tensors)
      fs.writeSync(fd, new Uint8Array(t.values.buffer, t.values.byteOffset, t.values.byteLength));
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  fs.renameSync(tmp, file);
}

export function readCheckpoint<M>(file: string): { meta: M; tensors: Map<string, TensorEntry> } {
  let buf: Buffer;
  try {
    buf = fs.readFileSync(file);
  } catch (err) {
    throw new MilkitDataError(`cannot read checkpoint: ${(err as Error).message}`, { file });
  }
  if (buf.length < MAGIC.length + 4 || buf.toString('latin1', 0, MAGIC.length) !== MAGIC) {
    throw new MilkitDataError(`not a milkit SSL checkpoint (no ${MAGIC} header)`, { file });
  }
  const len = buf.readUInt32LE(MAGIC.length);
  let header: Header<M>;
  try {
    header = JSON.parse(buf.toString('utf8', MAGIC.length + 4, MAGIC.length + 4 + len));
  } catch (err) {
    throw new MilkitDataError(`corrupt checkpoint header: ${(err as Error).message}`, { file });
  }
  let offset = MAGIC.length + 4 + len;
  const tensors = new Map<string, TensorEntry>();
  for (const { name, shape } of header.tensors) {
    const size = shape.reduce((a, b) => a * b, 1);
    if (offset + 4 * size > buf.length) throw new MilkitDataError('truncated checkpoint', { file, field: name });
    // Copy into an aligned buffer (the header length makes the file offset arbitrary).
    const values = new Float32Array(size);
    new Uint8Array(values.buffer).set(buf.subarray(offset, offset + 4 * size));
    tensors.set(name, { name, shape, values });
    offset += 4 * size;
  }
  return { meta: header.meta, tensors };
}
