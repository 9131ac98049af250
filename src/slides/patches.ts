/**
 * Patch pixels for a list of coordinates, streamed in batches: at most `batchSize` patches (plus
 * a few reads in flight and the backend's tile cache) are in memory, whatever the slide size.
 * Each patch is read at the plan's level, resized to `patchSize` when the level does not match the
 * target exactly, and composited over white. A patch touching a tile that cannot be decoded either
 * stops the stream (`onCorrupt: 'fail'`, the default) or is left out and reported
 * (`onCorrupt: 'skip'`) — never returned as black pixels.
 */
import { resizeRgb } from './resample';
import { readRegionRgb } from './slide';
import { CorruptTileError, type Slide } from './types';

/** The geometry a patch read needs (a `TilingPlan`, or a coordinates file's attributes). */
export interface PatchGeometry {
  patchLevel: number;
  /** Pixels read at `patchLevel`. */
  readSize: number;
  /** Pixels of the returned patch side. */
  patchSize: number;
}

export interface PatchBatch {
  /** `n × patchSize × patchSize × 3` RGB bytes. */
  pixels: Uint8Array;
  /** Level-0 (x, y) of each patch in the batch. */
  coords: Int32Array;
  /** Position of each patch in the input coordinate list. */
  indices: Int32Array;
  n: number;
}

export interface ReadPatchesOptions {
  /** Patches per batch. Default 64. */
  batchSize?: number;
  /** Reads in flight (OpenSlide decodes on libuv's thread pool). Default 4. */
  concurrency?: number;
  onCorrupt?: 'fail' | 'skip';
  /** Called for each patch left out under `onCorrupt: 'skip'`. */
  onSkip?: (index: number, x: number, y: number, error: CorruptTileError) => void;
  /** Called after each batch with patches done so far (read or skipped) and the total. */
  onProgress?: (done: number, total: number) => void;
}

/** Yields the patches at `coords` (level-0 x, y pairs) in order, in batches. */
export async function* readPatches(
  slide: Slide,
  coords: Int32Array,
  geometry: PatchGeometry,
  opts: ReadPatchesOptions = {},
): AsyncGenerator<PatchBatch> {
  const batchSize = opts.batchSize ?? 64;
  const concurrency = Math.max(1, opts.concurrency ?? 4);
  const { patchLevel, readSize, patchSize } = geometry;
  const total = coords.length / 2;
  const bytes = patchSize * patchSize * 3;
  const read = async (i: number): Promise<Uint8Array | CorruptTileError> => {
    try {
      const rgb = await readRegionRgb(slide, patchLevel, coords[2 * i], coords[2 * i + 1], readSize, readSize);
      return readSize === patchSize ? rgb.data : resizeRgb(rgb, patchSize, patchSize).data;
    } catch (err) {
      if (err instanceof CorruptTileError) return err;
      throw err;
    }
  };
  let done = 0;
  for (let start = 0; start < total; start += batchSize) {
    const end = Math.min(total, start + batchSize);
    const results: (Uint8Array | CorruptTileError)[] = new Array(end - start);
    let next = start;
    const worker = async () => {
      while (next < end) {
        const i = next++;
        results[i - start] = await read(i);
      }
    };
    await Promise.all(Array.from({ length: Math.min(concurrency, end - start) }, worker));
    const kept: number[] = [];
    for (let k = 0; k < results.length; k++) {
      const r = results[k];
      const i = start + k;
      if (r instanceof CorruptTileError) {
        if (opts.onCorrupt !== 'skip') throw r;
        opts.onSkip?.(i, coords[2 * i], coords[2 * i + 1], r);
      } else {
        kept.push(k);
      }
    }
    done = end;
    opts.onProgress?.(done, total);
    if (kept.length === 0) continue;
    const pixels = new Uint8Array(kept.length * bytes);
    const outCoords = new Int32Array(kept.length * 2);
    const indices = new Int32Array(kept.length);
    kept.forEach((k, j) => {
      const i = start + k;
      pixels.set(results[k] as Uint8Array, j * bytes);
      outCoords[2 * j] = coords[2 * i];
      outCoords[2 * j + 1] = coords[2 * i + 1];
      indices[j] = i;
    });
    yield { pixels, coords: outCoords, indices, n: kept.length };
  }
}
