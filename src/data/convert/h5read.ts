/**
 * Numeric datasets of HDF5 files (h5py, CLAM, TRIDENT) read with libhdf5 itself (h5wasm), so every
 * layout the library writes reads the same here. Two things h5wasm leaves to its caller:
 * - Errors: by default libhdf5 prints its error stack and the read "succeeds" with whatever bytes
 *   were in the buffer (a chunk whose filter is missing reads as garbage). We switch on h5wasm's
 *   throwing error handler, so every failed read is an exception, and name the failing filter.
 * - Filters: deflate, shuffle, fletcher32, szip, nbit and scale-offset are built in; lzf (h5py's
 *   own), blosc, blosc2, bitshuffle, bzip2, lz4, zstd and zfp come from the official HDF5 filter
 *   plugins (h5wasm-plugins), loaded from node_modules.
 * Values are decoded here from the raw bytes by the dataset's type (any int width, float16/32/64,
 * either byte order), not by h5wasm's value getter, which returns float16 data as a string.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { MilkitDataError } from '../errors';
import { halfToFloat } from '../numeric';

/** h5wasm is ESM-only; a real dynamic import (tsc would turn `import()` into `require` in CJS). */
export const importEsm = new Function('s', 'return import(s)') as (s: string) => Promise<unknown>;

interface H5Metadata {
  type: number;
  size: number;
  signed: boolean;
  littleEndian: boolean;
  shape: number[] | null;
  total_size: number;
  vlen: boolean;
}
/** The part of h5wasm's API milkit uses (typed here: h5wasm's own types are ESM-only). */
export interface H5Dataset {
  readonly shape: number[] | null;
  readonly dtype: unknown;
  readonly value: unknown;
  readonly metadata: H5Metadata;
  readonly filters: { id: number; name: string }[];
  readonly attrs: Record<string, { value: unknown }>;
}
export interface H5File {
  readonly file_id: bigint;
  keys(): string[];
  get(name: string): unknown;
  create_dataset(args: {
    name: string;
    data: ArrayLike<number> | ArrayLike<bigint>;
    shape?: number[];
    dtype?: string;
    chunks?: number[];
    compression?: number | string;
    compression_opts?: number[];
  }): H5Dataset;
  close(): unknown;
}
interface H5Lib {
  _malloc(n: number): number;
  _free(p: number): void;
  HEAPU8: Uint8Array;
  get_dataset_data(file: bigint, path: string, count: null, offset: null, strides: null, ptr: bigint): number;
  activate_throwing_error_handler(): void;
  insert_plugin_search_path(dir: string, index: number): void;
  get_plugin_search_paths(): string[];
}
export interface H5Module {
  ready: Promise<H5Lib>;
  File: new (file: string, mode: 'r' | 'w' | 'a') => H5File;
  Dataset: abstract new (...args: never[]) => H5Dataset;
  Module: H5Lib;
}

const H5T_INTEGER = 0;
const H5T_FLOAT = 1;

/** Filters this build can decode: libhdf5's built-ins, then the plugins shipped in h5wasm-plugins. */
const BUILT_IN_FILTERS = ['deflate', 'shuffle', 'fletcher32', 'szip', 'nbit', 'scaleoffset'];

let h5: Promise<H5Module> | undefined;
let pluginFilters: string[] = [];

/** The h5wasm module, loaded once, with throwing errors and the filter plugins installed. */
export async function loadH5wasm(): Promise<H5Module> {
  h5 ??= importEsm('h5wasm/node').then(async (m) => {
    const mod = m as H5Module;
    const lib = await mod.ready;
    lib.activate_throwing_error_handler();
    const dir = pluginDir();
    if (dir) {
      lib.insert_plugin_search_path(dir, 0);
      pluginFilters = fs
        .readdirSync(dir)
        .map((f) => /^libH5Z(\w+)\.so$/.exec(f)?.[1])
        .filter((n): n is string => Boolean(n));
    }
    return mod;
  });
  return h5;
}

function pluginDir(): string | undefined {
  try {
    const dir = path.join(path.dirname(require.resolve('h5wasm-plugins/package.json')), 'plugins');
    return fs.existsSync(dir) ? dir : undefined;
  } catch {
    return undefined;
  }
}

/** Names of the HDF5 filters milkit can decode (lower case). */
export function supportedFilters(): string[] {
  return [...BUILT_IN_FILTERS, ...pluginFilters];
}

const REWRITE = 'rewrite it uncompressed or with gzip, e.g. `h5repack -f GZIP=4 in.h5 out.h5`';

/** The last informative line of an HDF5 error stack, e.g. "required filter 'xyz' is not registered". */
function hdf5Reason(err: unknown): string {
  const text = err instanceof Error ? err.message : String(err);
  const lines = text
    .split('\n')
    .map((l) => /#\d+: .* in (\w+\(\)): (.*)$/.exec(l)?.[2])
    .filter((l): l is string => Boolean(l) && !/^can't|dataset read failed|unable to read/.test(l!));
  return lines.at(-1) ?? text.split('\n')[0];
}

export type NumericKind = 'float16' | 'float32' | 'float64' | `int${8 | 16 | 32 | 64}` | `uint${8 | 16 | 32 | 64}`;

export interface NumericData {
  kind: NumericKind;
  shape: number[];
  /** Decoded values; 64-bit integers as Float64 (checked exact by the caller where it matters). */
  values: Float32Array | Float64Array;
}

/** Reads a numeric dataset completely or throws a MilkitDataError naming file, dataset and reason. */
export async function readNumeric(file: string, f: H5File, name: string): Promise<NumericData> {
  const h5wasm = await loadH5wasm();
  const ds = f.get(name);
  if (!(ds instanceof h5wasm.Dataset)) throw new Error(`no dataset ${name}`);
  const where = { file, field: name };
  const md = ds.metadata;
  const shape = md.shape ?? [];
  const kind = kindOf(md);
  if (!kind)
    throw new MilkitDataError(
      `dataset "${name}" holds ${String(ds.dtype)} values, not numbers`,
      where,
      `write "${name}" as a float or integer array`,
    );
  const missing = ds.filters.filter((x) => !supportedFilters().includes(x.name.toLowerCase()));
  if (missing.length)
    throw new MilkitDataError(
      `dataset "${name}" is compressed with the HDF5 filter "${missing[0].name}" ` +
        `(id ${missing[0].id}), which milkit cannot decode (it reads ${supportedFilters().join(', ')})`,
      where,
      REWRITE,
    );
  const lib = h5wasm.Module;
  const nbytes = md.size * md.total_size;
  const ptr = lib._malloc(Math.max(1, nbytes));
  if (!ptr)
    throw new MilkitDataError(
      `dataset "${name}" (${nbytes} bytes) does not fit in the HDF5 reader's memory`,
      where,
      'split the slide into smaller files',
    );
  let bytes: Uint8Array;
  try {
    lib.get_dataset_data(f.file_id, name.startsWith('/') ? name : `/${name}`, null, null, null, BigInt(ptr));
    bytes = lib.HEAPU8.slice(ptr, ptr + nbytes);
  } catch (err) {
    throw new MilkitDataError(`cannot read dataset "${name}": ${hdf5Reason(err)}`, where, REWRITE);
  } finally {
    lib._free(ptr);
  }
  return { kind, shape, values: decode(bytes, kind, md.littleEndian, md.total_size) };
}

function kindOf(md: H5Metadata): NumericKind | undefined {
  if (md.vlen) return undefined;
  if (md.type === H5T_FLOAT && [2, 4, 8].includes(md.size))
    return (['float16', 'float32', 'float64'] as const)[Math.log2(md.size) - 1];
  if (md.type === H5T_INTEGER && [1, 2, 4, 8].includes(md.size))
    return `${md.signed ? 'int' : 'uint'}${(8 * md.size) as 8 | 16 | 32 | 64}`;
  return undefined;
}

/** Raw dataset bytes → numbers (float16 widened exactly to float32; wider types to float64). */
function decode(bytes: Uint8Array, kind: NumericKind, little: boolean, n: number): Float32Array | Float64Array {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (kind === 'float32') {
    if (little) return new Float32Array(bytes.buffer, bytes.byteOffset, n);
    return Float32Array.from({ length: n }, (_, i) => view.getFloat32(4 * i, false));
  }
  if (kind === 'float16') return Float32Array.from({ length: n }, (_, i) => halfToFloat(view.getUint16(2 * i, little)));
  const out = new Float64Array(n);
  const size = bytes.byteLength / Math.max(1, n);
  const get: (at: number) => number =
    kind === 'float64'
      ? (at) => view.getFloat64(at, little)
      : kind === 'int64'
        ? (at) => Number(view.getBigInt64(at, little))
        : kind === 'uint64'
          ? (at) => Number(view.getBigUint64(at, little))
          : kind === 'int32'
            ? (at) => view.getInt32(at, little)
            : kind === 'uint32'
              ? (at) => view.getUint32(at, little)
              : kind === 'int16'
                ? (at) => view.getInt16(at, little)
                : kind === 'uint16'
                  ? (at) => view.getUint16(at, little)
                  : kind === 'int8'
                    ? (at) => view.getInt8(at)
                    : (at) => view.getUint8(at);
  for (let i = 0; i < n; i++) out[i] = get(i * size);
  return out;
}
