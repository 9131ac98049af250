/**
 * Fingerprints: what identifies a run (model and config, data, training settings, seed, split), kept
 * as the parts themselves plus a hash of them. Comparing hashes is quick; when they differ, the parts
 * say what differs, so a refused resume can name the setting instead of only "something changed".
 */
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';

export interface RunFingerprint {
  /** `sha256:<hex>` of the canonical JSON of `parts`. */
  hash: string;
  /** The fingerprinted values, e.g. `{ model, data, training, seed, split }`. */
  parts: Record<string, unknown>;
}

/**
 * JSON with sorted keys and no undefined members, so equal values always give equal text;
 * non-finite numbers are spelled out (JSON would turn NaN and ±Infinity into null).
 */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(canonical(value));
}

function canonical(v: unknown): unknown {
  if (typeof v === 'number') return Number.isFinite(v) ? v : { $number: String(v) };
  if (ArrayBuffer.isView(v) && !(v instanceof DataView)) return canonical(Array.from(v as unknown as number[]));
  if (Array.isArray(v)) return v.map((x) => (x === undefined ? null : canonical(x)));
  if (v !== null && typeof v === 'object') {
    const o = v as Record<string, unknown>;
    return Object.fromEntries(
      Object.keys(o)
        .filter((k) => o[k] !== undefined && typeof o[k] !== 'function')
        .sort()
        .map((k) => [k, canonical(o[k])]),
    );
  }
  return v;
}

export function sha256(data: string | Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

/** The fingerprint of `parts` (the parts are kept as a canonical copy). */
export function runFingerprint(parts: Record<string, unknown>): RunFingerprint {
  const text = canonicalJson(parts);
  return { hash: `sha256:${sha256(text)}`, parts: JSON.parse(text) as Record<string, unknown> };
}

/**
 * What identifies a cohort's bags without reading all their features: count, width, the bag
 * table's content and, with `content` (see `fileContentSample`), a sample of the file's bytes, so
 * features re-extracted with another encoder under the same bag ids are told apart too.
 */
export function dataFingerprint(
  bags: readonly {
    id: string;
    label?: number;
    time?: number;
    event?: number;
    patientId: string;
    numInstances: number;
  }[],
  dim: number,
  content?: string,
): { bags: number; dim: number; instances: number; bagTable: string; content?: string } {
  const rows = bags.map((b) => [b.id, b.label, b.time, b.event, b.patientId, b.numInstances]);
  return {
    bags: bags.length,
    dim,
    instances: bags.reduce((s, b) => s + Math.max(0, b.numInstances), 0),
    bagTable: `sha256:${sha256(canonicalJson(rows))}`,
    ...(content ? { content } : {}),
  };
}

const SAMPLES = 32;
const SAMPLE_BYTES = 4096;

/**
 * `sha256:` of a file's size and 32 evenly spaced 4 KiB pieces of it (the whole file when smaller):
 * a cheap content check for multi-gigabyte feature files, where hashing everything would take minutes.
 */
export function fileContentSample(file: string): string {
  const fd = fs.openSync(file, 'r');
  try {
    const size = fs.fstatSync(fd).size;
    const hash = createHash('sha256').update(String(size));
    const buf = Buffer.alloc(SAMPLE_BYTES);
    const step = Math.max(SAMPLE_BYTES, Math.floor(size / SAMPLES));
    for (let at = 0; at < size; at += step) hash.update(buf.subarray(0, fs.readSync(fd, buf, 0, SAMPLE_BYTES, at)));
    return `sha256:${hash.digest('hex')}`;
  } finally {
    fs.closeSync(fd);
  }
}

const MAX_SHOWN = 60;
const show = (v: unknown): string => {
  const s = v === undefined ? '(absent)' : JSON.stringify(v);
  return s.length > MAX_SHOWN ? `${s.slice(0, MAX_SHOWN - 1)}…` : s;
};

/**
 * What differs between a saved fingerprint and the current one, one line per differing field
 * (`training.lr: saved 0.005, now 0.001`), at most `limit` lines; empty when they match.
 */
export function fingerprintDifferences(saved: RunFingerprint, current: RunFingerprint, limit = 6): string[] {
  if (saved.hash === current.hash) return [];
  const out: string[] = [];
  const walk = (a: unknown, b: unknown, at: string): void => {
    if (out.length > limit) return;
    if (canonicalJson(a) === canonicalJson(b)) return;
    const objects = a !== null && b !== null && typeof a === 'object' && typeof b === 'object';
    if (objects && Array.isArray(a) && Array.isArray(b)) {
      if (a.length !== b.length) {
        out.push(`${at}: saved ${a.length} entries, now ${b.length}`);
        return;
      }
      a.forEach((x, i) => walk(x, b[i], `${at}[${i}]`));
      return;
    }
    if (objects && !Array.isArray(a) && !Array.isArray(b)) {
      const ao = a as Record<string, unknown>;
      const bo = b as Record<string, unknown>;
      for (const k of [...new Set([...Object.keys(ao), ...Object.keys(bo)])].sort())
        walk(ao[k], bo[k], at ? `${at}.${k}` : k);
      return;
    }
    out.push(`${at}: saved ${show(a)}, now ${show(b)}`);
  };
  walk(canonical(saved.parts), canonical(current.parts), '');
  if (out.length === 0) out.push(`hash: saved ${saved.hash}, now ${current.hash}`);
  if (out.length > limit) return [...out.slice(0, limit), '…'];
  return out;
}
