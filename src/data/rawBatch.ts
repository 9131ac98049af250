/**
 * The fast path of `Cohort.bag`: one positional read of a bag's whole IPC block (message + body)
 * into a fresh buffer, then typed-array views straight into it. Arrow's generic reader does the
 * same work in several steps (seek, read the message, read the body, build vectors per column);
 * for a 32 MiB bag the difference is a second pass over the bytes' worth of overhead.
 *
 * Only for the layout milkit itself writes (bag_id utf8, x/y int32, instance_label int32,
 * features FixedSizeList<float32>, uncompressed, 8-byte aligned buffers); anything else returns
 * undefined and the caller falls back to Arrow's reader, which handles every valid file.
 */
import * as A from 'apache-arrow';
import * as fs from 'node:fs';
import { INSTANCE_COLUMNS } from './format';

/** Buffer positions of each column in a record batch body (IPC order: fields depth-first). */
export interface RawLayout {
  columns: { name: string; node: number; buffers: number[] }[];
}

export interface RawBatch {
  numRows: number;
  firstBagId: string | undefined;
  /** Zero-copy view of the features, `numRows × dim`. */
  features: Float32Array;
  featureNulls: number;
  x?: Int32Array;
  y?: Int32Array;
  /** Instance labels with nulls as -1. */
  instanceLabels?: Int32Array;
}

/** The buffer layout for milkit's own schema, or undefined for any other (use Arrow's reader). */
export function rawLayout(schema: A.Schema): RawLayout | undefined {
  const columns: RawLayout['columns'] = [];
  let node = 0;
  let buffer = 0;
  for (const f of schema.fields) {
    const t = f.type;
    if (f.name === INSTANCE_COLUMNS.bagId && A.DataType.isUtf8(t)) {
      columns.push({ name: f.name, node, buffers: [buffer, buffer + 1, buffer + 2] }); // validity, offsets, data
      node += 1;
      buffer += 3;
    } else if (A.DataType.isInt(t) && t.bitWidth === 32 && t.isSigned) {
      columns.push({ name: f.name, node, buffers: [buffer, buffer + 1] }); // validity, values
      node += 1;
      buffer += 2;
    } else if (f.name === INSTANCE_COLUMNS.features && A.DataType.isFixedSizeList(t)) {
      // list validity, item validity, item values
      columns.push({ name: f.name, node, buffers: [buffer, buffer + 1, buffer + 2] });
      node += 2;
      buffer += 3;
    } else {
      return undefined;
    }
  }
  return { columns };
}

const CONTINUATION = -1;

/** Decodes the message at the start of an IPC block (continuation-prefixed or legacy framing). */
function decodeMessage(bytes: Uint8Array, at: number): A.Message {
  const view = new DataView(bytes.buffer, bytes.byteOffset);
  const prefixed = view.getInt32(0, true) === CONTINUATION;
  const metaLen = view.getInt32(prefixed ? 4 : 0, true);
  const metaStart = prefixed ? 8 : 4;
  const message = A.Message.decode(bytes.subarray(metaStart, metaStart + metaLen));
  if (!message.isRecordBatch())
    throw new Error(`block at byte ${at} holds a ${A.MessageHeader[message.headerType]} message, not a record batch`);
  return message;
}

/** The record batch header in `block` (row count, compression, buffers), without reading the body. */
export function readBatchHeader(fd: number, block: { offset: number; metaDataLength: number }) {
  const bytes = new Uint8Array(block.metaDataLength);
  fs.readSync(fd, bytes, 0, bytes.length, block.offset);
  return (decodeMessage(bytes, block.offset) as A.Message<A.MessageHeader.RecordBatch>).header();
}

/** Rows of the record batch in `block`, from its message header alone (no body read). */
export function readBatchLength(fd: number, block: { offset: number; metaDataLength: number }): number {
  return Number(readBatchHeader(fd, block).length);
}

type Block = { offset: number; metaDataLength: number; bodyLength: number };

/**
 * Reads the record batch stored in `block` with one synchronous positional read and decodes it
 * by `layout`; undefined when the batch uses anything the fast path does not (compression,
 * unaligned buffers), so the caller can use Arrow's reader instead.
 */
export function readRawBatch(fd: number, block: Block, layout: RawLayout, dim: number): RawBatch | undefined {
  const size = block.metaDataLength + block.bodyLength;
  const bytes = new Uint8Array(size);
  let got = 0;
  while (got < size) {
    const n = fs.readSync(fd, bytes, got, size - got, block.offset + got);
    if (n === 0) throw new Error(`unexpected end of file at byte ${block.offset + got}`);
    got += n;
  }
  return decodeRawBatch(bytes, block, layout, dim);
}

/**
 * The same read on libuv's thread pool: the bytes arrive while JavaScript and the native kernels
 * keep computing (a cohort pass reads the next bag during this one's step, see Cohort.prefetch).
 */
export async function readRawBatchAsync(
  handle: fs.promises.FileHandle,
  block: Block,
  layout: RawLayout,
  dim: number,
): Promise<RawBatch | undefined> {
  const size = block.metaDataLength + block.bodyLength;
  const bytes = new Uint8Array(size);
  let got = 0;
  while (got < size) {
    const { bytesRead } = await handle.read(bytes, got, size - got, block.offset + got);
    if (bytesRead === 0) throw new Error(`unexpected end of file at byte ${block.offset + got}`);
    got += bytesRead;
  }
  return decodeRawBatch(bytes, block, layout, dim);
}

function decodeRawBatch(bytes: Uint8Array, block: Block, layout: RawLayout, dim: number): RawBatch | undefined {
  const header = (decodeMessage(bytes, block.offset) as A.Message<A.MessageHeader.RecordBatch>).header();
  if (header.compression) return undefined;
  const bodyStart = block.metaDataLength;
  const region = (i: number) => header.buffers[i];
  const numRows = Number(header.length);
  const int32s = (i: number, count: number): Int32Array | undefined => {
    const at = bodyStart + Number(region(i).offset);
    return at % 4 === 0 ? new Int32Array(bytes.buffer, at, count) : undefined;
  };
  const out: Partial<RawBatch> = { numRows };
  for (const col of layout.columns) {
    const nulls = Number(header.nodes[col.node].nullCount);
    if (col.name === INSTANCE_COLUMNS.bagId) {
      const offsets = int32s(col.buffers[1], numRows + 1);
      if (!offsets) return undefined;
      const dataAt = bodyStart + Number(region(col.buffers[2]).offset);
      out.firstBagId =
        numRows > 0
          ? Buffer.from(bytes.buffer, dataAt + offsets[0], offsets[1] - offsets[0]).toString('utf8')
          : undefined;
    } else if (col.name === INSTANCE_COLUMNS.features) {
      const at = bodyStart + Number(region(col.buffers[2]).offset);
      if (at % 4 !== 0) return undefined;
      out.features = new Float32Array(bytes.buffer, at, numRows * dim);
      // Nulls of the list itself, or of its items (pyarrow's default item field is nullable).
      out.featureNulls = nulls + Number(header.nodes[col.node + 1].nullCount);
    } else {
      const values = int32s(col.buffers[1], numRows);
      if (!values) return undefined;
      if (col.name === INSTANCE_COLUMNS.instanceLabel) {
        const labels = Int32Array.from(values);
        const validity = region(col.buffers[0]);
        if (nulls > 0 && Number(validity.length) > 0) {
          const bits = bytes.subarray(bodyStart + Number(validity.offset));
          for (let i = 0; i < numRows; i++) if (!(bits[i >> 3] & (1 << (i & 7)))) labels[i] = -1;
        }
        out.instanceLabels = labels;
      } else if (col.name === INSTANCE_COLUMNS.x) {
        out.x = values;
      } else if (col.name === INSTANCE_COLUMNS.y) {
        out.y = values;
      }
    }
  }
  return out as RawBatch;
}
