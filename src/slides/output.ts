/**
 * What `milkit slides tile` writes for each slide, in the layout CLAM and TRIDENT users know:
 *
 *   OUT/patches/<slide_id>.h5   dataset `coords` int64 [N, 2]: level-0 (x, y) top-left corners,
 *                               with the tiling in its attributes (below); `tissue_fraction` float32 [N]
 *   OUT/masks/<slide_id>.png    the tissue mask (white = tissue) at `mask_mpp` µm per pixel
 *   OUT/previews/<slide_id>.png the thumbnail with the mask tinted and the kept patches outlined
 *
 * `coords` attributes: CLAM's `patch_level`, `patch_size`, `downsample`, `level_dim`,
 * `downsampled_level_dim`, `name`; TRIDENT's `patch_size_level0`, `level0_magnification`,
 * `target_magnification`, `overlap`; and milkit's `target_mpp`, `level0_mpp`, `read_size`,
 * `min_tissue`, `mask_mpp`, `fingerprint` (+ `fingerprint_parts`: the slide identity and every
 * setting it hashes), `slide_path`, `backend`. `patch_size` is the side at
 * the target resolution (TRIDENT's meaning, what an encoder sees); it is CLAM's read size at
 * `patch_level` whenever a level matches the target, otherwise `read_size` pixels are read at
 * `patch_level` and resized to `patch_size`.
 *
 * Every file is written to a temporary name in the same folder and renamed into place
 * (persist/atomic.ts), so an interrupted run never leaves a partial file under a final name.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { PNG } from 'pngjs';
import { loadH5wasm } from '../data/convert/h5';
import { MilkitDataError } from '../data/errors';
import { tempPathFor } from '../persist/atomic';
import type { RunFingerprint } from '../persist/fingerprint';
import type { PatchGrid, TilingPlan } from './tiling';
import type { TissueMask } from './tissue';
import type { RgbPixels } from './types';

/** Attributes of `coords` (numbers, strings, or number pairs). */
export type CoordsAttrs = Record<string, number | string | [number, number]>;

export interface PatchFile {
  coords: Int32Array;
  tissue: Float32Array;
  attrs: CoordsAttrs;
}

/**
 * Writes `file` through `write(tmp)` (for writers that need a path, like h5wasm) and renames it
 * into place; a failed write removes its temp file. Temp names follow persist/atomic.ts, so
 * `removeStaleTempFiles` clears what a killed run left.
 */
export async function writeAtomic(file: string, write: (tmp: string) => void | Promise<void>): Promise<void> {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const tmp = tempPathFor(file);
  try {
    await write(tmp);
    fs.renameSync(tmp, file);
  } finally {
    fs.rmSync(tmp, { force: true });
  }
}

/**
 * The per-slide coordinates file (see the module comment); with `features` (`[N × dim]` float32,
 * row i for patch i) it is CLAM's and TRIDENT's per-slide feature file (`slides embed`).
 */
export async function writePatchFile(
  file: string,
  grid: PatchGrid,
  attrs: CoordsAttrs,
  features?: { data: Float32Array; dim: number },
): Promise<void> {
  const h5 = await loadH5wasm();
  await writeAtomic(file, (tmp) => {
    const f = new h5.File(tmp, 'w') as unknown as H5Writable;
    try {
      const n = grid.coords.length / 2;
      const coords = f.create_dataset({
        name: 'coords',
        data: BigInt64Array.from(grid.coords, (v) => BigInt(v)),
        shape: [n, 2],
      });
      for (const [k, v] of Object.entries(attrs)) {
        if (typeof v === 'string') coords.create_attribute(k, v);
        else {
          const values = typeof v === 'number' ? [v] : v;
          const typed = INT_ATTRS.has(k) ? Int32Array.from(values) : Float64Array.from(values);
          coords.create_attribute(k, typed, typeof v === 'number' ? [] : [2]);
        }
      }
      f.create_dataset({ name: 'tissue_fraction', data: grid.tissue, shape: [n] });
      if (features) f.create_dataset({ name: 'features', data: features.data, shape: [n, features.dim] });
    } finally {
      f.close();
    }
  });
}

/** Attributes stored as int32 (CLAM's and TRIDENT's integer fields); other numbers are float64. */
const INT_ATTRS = new Set([
  'patch_level',
  'patch_size',
  'read_size',
  'patch_size_level0',
  'step_size_level0',
  'overlap',
  'level_dim',
  'downsampled_level_dim',
  'level0_dim',
  'tissue_threshold',
]);

interface H5Writable {
  create_dataset(args: { name: string; data: ArrayLike<number> | ArrayLike<bigint>; shape?: number[] }): {
    create_attribute(name: string, value: string | Int32Array | Float64Array, shape?: number[]): void;
  };
  close(): unknown;
}
interface H5Readable {
  keys(): string[];
  get(name: string): { value: unknown; shape: number[] | null; attrs: Record<string, { value: unknown }> } | null;
  close(): unknown;
}

/** Reads a coordinates file written by `writePatchFile` (or a CLAM/TRIDENT patch file). */
export async function readPatchFile(file: string): Promise<PatchFile> {
  const h5 = await loadH5wasm();
  let f: H5Readable;
  try {
    f = new h5.File(file, 'r') as unknown as H5Readable;
  } catch (err) {
    throw new MilkitDataError(`not a readable .h5 file (${(err as Error).message})`, { file });
  }
  try {
    const ds = f.keys().includes('coords') ? f.get('coords') : null;
    if (!ds || !ds.shape || ds.shape.length !== 2 || ds.shape[1] !== 2)
      throw new MilkitDataError('no `coords` dataset of shape [N, 2]', { file, field: 'coords' });
    const raw = ds.value as ArrayLike<number | bigint>;
    const coords = Int32Array.from({ length: raw.length }, (_, i) => Number(raw[i]));
    const attrs: CoordsAttrs = {};
    for (const [k, a] of Object.entries(ds.attrs)) {
      const v = a.value;
      if (typeof v === 'number' || typeof v === 'string') attrs[k] = v;
      else if (ArrayBuffer.isView(v) && (v as unknown as ArrayLike<number>).length === 1)
        attrs[k] = Number((v as unknown as ArrayLike<number>)[0]);
      else if (typeof v === 'bigint') attrs[k] = Number(v);
      else if (ArrayBuffer.isView(v) && (v as unknown as ArrayLike<number>).length === 2) {
        const pair = v as unknown as ArrayLike<number>;
        attrs[k] = [Number(pair[0]), Number(pair[1])];
      }
    }
    const t = f.keys().includes('tissue_fraction') ? (f.get('tissue_fraction')?.value as ArrayLike<number>) : undefined;
    const tissue = t ? Float32Array.from(t) : new Float32Array(coords.length / 2).fill(NaN);
    return { coords, tissue, attrs };
  } finally {
    f.close();
  }
}

/** The `coords` attributes for a tiled slide. */
export function patchAttrs(
  slideId: string,
  slide: { path: string; backend: string; levels: readonly { width: number; height: number; downsample: number }[] },
  plan: TilingPlan,
  minTissue: number,
  mask: TissueMask,
  fingerprint: RunFingerprint,
): CoordsAttrs {
  const lv = slide.levels[plan.patchLevel];
  return {
    name: slideId,
    patch_level: plan.patchLevel,
    patch_size: plan.patchSize,
    read_size: plan.readSize,
    downsample: [lv.downsample, lv.downsample],
    level_dim: [lv.width, lv.height],
    downsampled_level_dim: [lv.width, lv.height],
    patch_size_level0: plan.patchSizeLevel0,
    step_size_level0: plan.stepLevel0,
    overlap: plan.overlap,
    level0_magnification: plan.level0Magnification,
    target_magnification: plan.targetMagnification,
    level0_mpp: plan.level0Mpp,
    target_mpp: plan.targetMpp,
    min_tissue: minTissue,
    mask_mpp: mask.umPerPixel,
    tissue_threshold: mask.threshold,
    fingerprint: fingerprint.hash,
    fingerprint_parts: JSON.stringify(fingerprint.parts),
    slide_path: path.resolve(slide.path),
    backend: slide.backend,
  };
}

function pngBuffer(width: number, height: number, rgba: Uint8Array): Buffer {
  const png = new PNG({ width, height });
  png.data = Buffer.from(rgba.buffer, rgba.byteOffset, rgba.byteLength);
  return PNG.sync.write(png);
}

/** The mask as a PNG: white tissue on black. */
export function maskPng(mask: TissueMask): Buffer {
  const rgba = new Uint8Array(mask.width * mask.height * 4);
  for (let i = 0; i < mask.data.length; i++) {
    const v = mask.data[i] ? 255 : 0;
    rgba[4 * i] = rgba[4 * i + 1] = rgba[4 * i + 2] = v;
    rgba[4 * i + 3] = 255;
  }
  return pngBuffer(mask.width, mask.height, rgba);
}

/**
 * The thumbnail with background dimmed and tinted blue, tissue as is, and each kept patch outlined
 * in green: what to look at to judge the tissue settings.
 */
export function previewPng(
  thumb: RgbPixels,
  mask: TissueMask,
  grid: PatchGrid,
  plan: TilingPlan,
  slide: { width: number; height: number },
): Buffer {
  const { width: w, height: h } = thumb;
  const rgba = new Uint8Array(w * h * 4);
  const mx = mask.width / w;
  const my = mask.height / h;
  for (let y = 0; y < h; y++)
    for (let x = 0; x < w; x++) {
      const i = y * w + x;
      const m =
        mask.data[
          Math.min(mask.height - 1, Math.floor(y * my)) * mask.width + Math.min(mask.width - 1, Math.floor(x * mx))
        ];
      const [r, g, b] = [thumb.data[3 * i], thumb.data[3 * i + 1], thumb.data[3 * i + 2]];
      rgba[4 * i] = m ? r : r * 0.5;
      rgba[4 * i + 1] = m ? g : g * 0.5 + 40;
      rgba[4 * i + 2] = m ? b : b * 0.5 + 100;
      rgba[4 * i + 3] = 255;
    }
  const sx = w / slide.width;
  const sy = h / slide.height;
  const put = (x: number, y: number) => {
    if (x < 0 || y < 0 || x >= w || y >= h) return;
    const i = 4 * (y * w + x);
    rgba[i] = 0;
    rgba[i + 1] = 200;
    rgba[i + 2] = 0;
  };
  for (let p = 0; p < grid.coords.length; p += 2) {
    const x0 = Math.round(grid.coords[p] * sx);
    const y0 = Math.round(grid.coords[p + 1] * sy);
    const x1 = Math.round((grid.coords[p] + plan.patchSizeLevel0) * sx) - 1;
    const y1 = Math.round((grid.coords[p + 1] + plan.patchSizeLevel0) * sy) - 1;
    for (let x = x0; x <= x1; x++) {
      put(x, y0);
      put(x, y1);
    }
    for (let y = y0; y <= y1; y++) {
      put(x0, y);
      put(x1, y);
    }
  }
  return pngBuffer(w, h, rgba);
}

/**
 * The read geometry from a coordinates file's attributes: milkit's (`read_size` at `patch_level`),
 * CLAM's (`patch_size` at `patch_level`) and TRIDENT's (`patch_size_level0` at level 0).
 */
export function patchGeometry(
  attrs: CoordsAttrs,
  file = '',
): { patchLevel: number; readSize: number; patchSize: number } {
  const num = (k: string) => (typeof attrs[k] === 'number' ? (attrs[k] as number) : undefined);
  const patchSize = num('patch_size');
  if (patchSize === undefined)
    throw new MilkitDataError('the `coords` dataset has no `patch_size` attribute', { file, field: 'patch_size' });
  const level = num('patch_level');
  // TRIDENT records no level: its patches cover patch_size_level0 level-0 pixels.
  if (level === undefined) return { patchLevel: 0, readSize: num('patch_size_level0') ?? patchSize, patchSize };
  return { patchLevel: level, readSize: num('read_size') ?? patchSize, patchSize };
}
