/**
 * The one milkit checkpoint file: a JSON header that says what the file is, then float32 tensors.
 *
 *   bytes 0–7    magic `MILKITCK`
 *   bytes 8–11   n, the header's length in bytes (uint32, little-endian)
 *   12 … 12+n    the header, UTF-8 JSON: { version, milkit, kind, fingerprint, meta,
 *                tensors: [{ name, shape, dtype: "float32", offset }] }
 *   then zero padding to a multiple of 8, then each tensor's float32 little-endian values at its
 *   `offset` (bytes from the start of the data), back to back in header order, up to the file's end.
 *
 * Reading checks everything a damaged, truncated or foreign file could get wrong and names the file
 * and the field; files of milkit 0.1's formats are recognised and refused with what to do instead.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { MilkitDataError } from '../data/errors';
import { writeFileAtomic } from './atomic';
import type { RunFingerprint } from './fingerprint';
import { milkitVersion } from '../version';

export const CHECKPOINT_MAGIC = 'MILKITCK';
/** Format 1 was milkit 0.1's trainer checkpoint (same magic, positional weights). */
export const CHECKPOINT_VERSION = 2;

/** The fix for a damaged or incomplete file. */
const DAMAGED =
  'the file was not written or copied completely, or is damaged: use an ' +
  "intact copy, or train again (delete a run's last.ckpt to restart that fold)";

/** What a checkpoint holds. */
export type CheckpointKind = 'model' | 'trained-model' | 'training-state' | 'ssl-pretraining';

const KIND_TEXT: Record<CheckpointKind, string> = {
  model: 'a saved model (saveModel)',
  'trained-model': 'a trained fold model (model.ckpt of milkit train)',
  'training-state': 'a training checkpoint (last.ckpt / best.ckpt of milkit train)',
  'ssl-pretraining': 'an SSL encoder checkpoint (milkit ssl pretrain)',
};

/** Where a file of each kind comes from (the fix when another kind was given). */
const WHERE: Record<CheckpointKind, string> = {
  model: 'a file written by saveModel or milkit train',
  'trained-model': 'a fold folder of milkit train, or its model.ckpt',
  'training-state': "the run folder's last.ckpt",
  'ssl-pretraining': 'the --out file of milkit ssl pretrain',
};

export interface CheckpointTensor {
  name: string;
  shape: number[];
  values: Float32Array;
}

export interface CheckpointContent<M = unknown> {
  kind: CheckpointKind;
  /** What identifies the run that wrote it (absent for a model saved on its own). */
  fingerprint?: RunFingerprint;
  /** The kind's own JSON fields (model name and config, trainer state, ...). */
  meta: M;
  tensors: CheckpointTensor[];
}

export interface Checkpoint<M = unknown> extends CheckpointContent<M> {
  file: string;
  /** The milkit version that wrote the file. */
  milkit: string;
}

interface TensorSpec {
  name: string;
  shape: number[];
  dtype: 'float32';
  offset: number;
}

const HEADER_START = CHECKPOINT_MAGIC.length + 4;
const align8 = (n: number) => Math.ceil(n / 8) * 8;
const sizeOf = (shape: number[]) => shape.reduce((a, b) => a * b, 1);

/** JSON keeps NaN and ±Infinity (early-stopping state, metrics) as `{ "$number": "NaN" }`. */
const encodeNumbers = (_: string, v: unknown) =>
  typeof v === 'number' && !Number.isFinite(v) ? { $number: String(v) } : v;
const decodeNumbers = (_: string, v: unknown) =>
  v !== null &&
  typeof v === 'object' &&
  Object.keys(v).length === 1 &&
  typeof (v as { $number?: unknown }).$number === 'string'
    ? Number((v as { $number: string }).$number)
    : v;

/** The file's bytes, in chunks (a generator, so a failure can happen between chunks). */
export function* checkpointChunks(content: CheckpointContent): Generator<Uint8Array> {
  let offset = 0;
  const tensors: TensorSpec[] = content.tensors.map((t) => {
    if (t.values.length !== sizeOf(t.shape))
      throw new Error(`tensor "${t.name}": ${t.values.length} values for shape [${t.shape}]`);
    const spec: TensorSpec = { name: t.name, shape: [...t.shape], dtype: 'float32', offset };
    offset += t.values.byteLength;
    return spec;
  });
  const header = {
    version: CHECKPOINT_VERSION,
    milkit: milkitVersion(),
    kind: content.kind,
    fingerprint: content.fingerprint ?? null,
    meta: content.meta,
    tensors,
  };
  const json = Buffer.from(JSON.stringify(header, encodeNumbers), 'utf8');
  const lead = Buffer.alloc(align8(HEADER_START + json.length));
  lead.write(CHECKPOINT_MAGIC, 0, 'latin1');
  lead.writeUInt32LE(json.length, CHECKPOINT_MAGIC.length);
  json.copy(lead, HEADER_START);
  yield lead;
  for (const t of content.tensors) yield new Uint8Array(t.values.buffer, t.values.byteOffset, t.values.byteLength);
}

/** Writes a checkpoint atomically (a crash leaves the previous file or the new one, never a mix). */
export function writeCheckpoint(file: string, content: CheckpointContent): void {
  writeFileAtomic(file, checkpointChunks(content));
}

const RERUN =
  'move it away and run the command that made it again with this milkit (the ' +
  'same flags and seed give the same result), or keep using milkit 0.1 for it';

/** The clear error for a milkit 0.1 file, or undefined when `buf` is not one. */
function legacyFormat(buf: Buffer): string | undefined {
  const head = buf.toString('latin1', 0, Math.min(buf.length, 8));
  if (head.startsWith('MKSSL1')) return 'an SSL encoder checkpoint in milkit 0.1\'s "MKSSL1" format';
  if (head.startsWith('{') && /"format"\s*:\s*"milkit-model"/.test(buf.toString('utf8', 0, 200)))
    return "the model.json of a model folder saved by milkit 0.1's saveModel";
  return undefined;
}

/**
 * Reads and validates a checkpoint. `kinds` lists what the caller can use; another kind is an
 * error that says what the file is instead.
 */
export function readCheckpoint<M = unknown>(file: string, kinds?: CheckpointKind | CheckpointKind[]): Checkpoint<M> {
  const fail = (problem: string, field?: string, fix = DAMAGED) => new MilkitDataError(problem, { file, field }, fix);
  let buf: Buffer;
  try {
    if (fs.statSync(file).isDirectory()) {
      if (fs.existsSync(path.join(file, 'model.json')))
        throw fail(
          'a model folder saved by milkit 0.1 (model.json + weights.bin); this milkit saves one file',
          undefined,
          RERUN,
        );
      throw fail(
        'is a folder, not a checkpoint file',
        undefined,
        "a run folder? give a fold's model.ckpt, or pass the folder with --model-dir",
      );
    }
    buf = fs.readFileSync(file);
  } catch (err) {
    if (err instanceof MilkitDataError) throw err;
    throw fail(`cannot read checkpoint: ${(err as Error).message}`);
  }
  const legacy = legacyFormat(buf);
  if (legacy) throw fail(`${legacy}, which this milkit does not read`, undefined, RERUN);
  if (buf.length < HEADER_START || buf.toString('latin1', 0, CHECKPOINT_MAGIC.length) !== CHECKPOINT_MAGIC) {
    throw fail(
      buf.length < HEADER_START && CHECKPOINT_MAGIC.startsWith(buf.toString('latin1', 0, Math.min(buf.length, 8)))
        ? `truncated: ${buf.length} bytes, not even a header`
        : `not a milkit checkpoint (no ${CHECKPOINT_MAGIC} magic at the start)`,
    );
  }
  const n = buf.readUInt32LE(CHECKPOINT_MAGIC.length);
  if (HEADER_START + n > buf.length)
    throw fail(`truncated: the header needs ${n} bytes, the file ends after ${buf.length - HEADER_START}`, 'header');
  let header: Record<string, unknown>;
  try {
    header = JSON.parse(buf.toString('utf8', HEADER_START, HEADER_START + n), decodeNumbers);
    if (header === null || typeof header !== 'object' || Array.isArray(header)) throw new Error('not a JSON object');
  } catch (err) {
    throw fail(`corrupt header (${(err as Error).message})`, 'header');
  }
  if (header.version === 1)
    throw fail(
      "a checkpoint in milkit 0.1's format 1 (weights by position), which this milkit does not read",
      undefined,
      RERUN,
    );
  if (typeof header.version !== 'number' || !Number.isInteger(header.version))
    throw fail('the header has no format version: damaged or not written by milkit', 'version');
  if (header.version > CHECKPOINT_VERSION)
    throw fail(
      `written by milkit ${String(header.milkit)} in checkpoint format ${header.version}; ` +
        `this milkit (${milkitVersion()}) reads format ${CHECKPOINT_VERSION}`,
      'version',
      `upgrade milkit to ${String(header.milkit)} or later`,
    );
  if (header.version !== CHECKPOINT_VERSION)
    throw fail(`unknown checkpoint format ${header.version}; this milkit reads ${CHECKPOINT_VERSION}`, 'version');
  const kind = header.kind as CheckpointKind;
  if (!Object.hasOwn(KIND_TEXT, kind))
    throw fail(`unknown kind ${JSON.stringify(header.kind)}; known: ${Object.keys(KIND_TEXT).join(', ')}`, 'kind');
  const wanted = kinds === undefined ? undefined : Array.isArray(kinds) ? kinds : [kinds];
  if (wanted && !wanted.includes(kind))
    throw fail(
      `this is ${KIND_TEXT[kind]}, but ${wanted.map((k) => KIND_TEXT[k]).join(' or ')} is needed here`,
      'kind',
      `give ${WHERE[wanted[0]]}`,
    );

  const specs = header.tensors;
  if (!Array.isArray(specs)) throw fail('the header lists no tensors: damaged or not written by milkit', 'tensors');
  const start = align8(HEADER_START + n);
  let offset = 0;
  const seen = new Set<string>();
  for (const [i, s] of (specs as Partial<TensorSpec>[]).entries()) {
    const name = typeof s?.name === 'string' && s.name !== '' ? s.name : undefined;
    const field = name ?? `tensors[${i}]`;
    if (!name) throw fail('a tensor without a name in the header', field);
    if (seen.has(name)) throw fail('the header lists this tensor twice', field);
    seen.add(name);
    if (!Array.isArray(s.shape) || !s.shape.every((d) => Number.isInteger(d) && d >= 0))
      throw fail(`invalid shape ${JSON.stringify(s.shape)} in the header`, field);
    if (s.dtype !== 'float32') throw fail(`dtype ${JSON.stringify(s.dtype)}; this milkit reads float32`, field);
    if (s.offset !== offset)
      throw fail(`the header puts it at byte ${s.offset} of the data, the tensors before it end at ${offset}`, field);
    offset += 4 * sizeOf(s.shape);
  }
  const dataBytes = buf.length - start;
  if (dataBytes < offset)
    throw fail(
      `truncated: the header declares ${offset} bytes of tensor data, the file holds ${Math.max(0, dataBytes)}`,
    );
  if (dataBytes > offset)
    throw fail(`${dataBytes - offset} bytes after the last tensor the header declares: damaged or not a milkit file`);

  // One aligned copy (the header length leaves the file's data at any offset in `buf`).
  const values = new Float32Array(offset / 4);
  new Uint8Array(values.buffer).set(buf.subarray(start));
  const tensors = (specs as TensorSpec[]).map((s) => ({
    name: s.name,
    shape: s.shape,
    values: values.subarray(s.offset / 4, s.offset / 4 + sizeOf(s.shape)),
  }));
  const fingerprint = header.fingerprint as RunFingerprint | null | undefined;
  return {
    file,
    milkit: String(header.milkit),
    kind,
    ...(fingerprint ? { fingerprint } : {}),
    meta: header.meta as M,
    tensors,
  };
}

/** A short description of a kind, for messages ("a training checkpoint (last.ckpt ...)"). */
export function describeKind(kind: CheckpointKind): string {
  return KIND_TEXT[kind];
}
