/**
 * `tileSlides`: slide files → tissue masks and patch coordinates in an output folder (layout in
 * output.ts), one slide at a time. A slide whose coordinates file exists with the same fingerprint
 * (slide content + every tiling and tissue setting) is skipped, so an interrupted run resumes; one
 * tiled under other settings is refused unless `overwrite` is set, so runs never mix. A lock file
 * keeps two runs from writing the same folder.
 */
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { MilkitDataError } from '../data/errors';
import { openSlide } from './open';
import { removeStaleTempFiles, writeFileAtomic } from '../persist/atomic';
import { fingerprintDifferences, runFingerprint, type RunFingerprint } from '../persist/fingerprint';
import { maskPng, patchAttrs, previewPng, readPatchFile, writePatchFile } from './output';
import { resizeRgb } from './resample';
import { readThumbnail } from './slide';
import {
  DEFAULT_TILING,
  definedFields,
  gridPatches,
  type PatchGrid,
  planTiling,
  type TilingConfig,
  type TilingPlan,
} from './tiling';
import { DEFAULT_TISSUE, detectTissue, type TissueConfig } from './tissue';
import type { SlideBackend } from './types';

/** Longest side of the preview image in pixels. */
const PREVIEW_SIDE = 1024;

export interface TileSlidesOptions {
  tiling?: Partial<TilingConfig>;
  tissue?: Partial<TissueConfig>;
  backend?: SlideBackend | 'auto';
  /** Re-tile slides whose existing coordinates were made under other settings. */
  overwrite?: boolean;
  /**
   * An undecodable tile: `fail` the slide (default), or `skip` it (its area counts as glass, so no
   * patch covers it; the tiles are listed in the result and in the file's `corrupt_tiles`).
   */
  onCorrupt?: 'fail' | 'skip';
  /** Progress within one slide (thumbnail blocks read). */
  onProgress?: (slideId: string, done: number, total: number) => void;
  /** Called as each slide finishes (or fails). */
  onSlide?: (result: TileResult) => void;
}

export interface TileResult {
  slideId: string;
  path: string;
  status: 'tiled' | 'skipped' | 'failed';
  /** Patches kept (tiled or skipped). */
  patches?: number;
  /** Patches on the grid before the tissue filter. */
  gridSize?: number;
  tissueFraction?: number;
  plan?: TilingPlan;
  files?: { patches: string; mask: string; preview: string };
  error?: string;
  /** Undecodable tiles left out under `onCorrupt: 'skip'` ("level L col C row R"). */
  corruptTiles?: string[];
  seconds: number;
}

/** CLAM/TRIDENT's slide id: the file name without its extension. */
export function slideIdOf(file: string): string {
  return path.basename(file).replace(/\.[^.]+$/, '');
}

/** Content identity of a slide without reading it whole: size plus the first and last MiB. */
export function slideIdentity(file: string): string {
  const size = fs.statSync(file).size;
  const h = createHash('sha256').update(String(size));
  const fd = fs.openSync(file, 'r');
  try {
    const chunk = Buffer.alloc(Math.min(size, 2 ** 20));
    fs.readSync(fd, chunk, 0, chunk.length, 0);
    h.update(chunk);
    fs.readSync(fd, chunk, 0, chunk.length, Math.max(0, size - chunk.length));
    h.update(chunk);
  } finally {
    fs.closeSync(fd);
  }
  return h.digest('hex').slice(0, 16);
}

/** The settings that decide a slide's coordinates, every default filled in. */
export function tilingSettings(opts: Pick<TileSlidesOptions, 'tiling' | 'tissue'>): {
  tiling: TilingConfig;
  tissue: TissueConfig;
} {
  const tiling = { ...DEFAULT_TILING, ...definedFields(opts.tiling ?? {}) };
  if (tiling.targetMpp !== undefined) delete tiling.magnification;
  return { tiling, tissue: { ...DEFAULT_TISSUE, ...definedFields(opts.tissue ?? {}) } };
}

/** What decides a slide's coordinates: its content and every setting (persist/fingerprint.ts). */
function fingerprintOf(identity: string, settings: ReturnType<typeof tilingSettings>): RunFingerprint {
  return runFingerprint({ slide: identity, ...settings });
}

/** The fingerprint an existing coordinates file was made under. */
function savedFingerprint(attrs: Record<string, unknown>): RunFingerprint {
  let parts: Record<string, unknown> = {};
  try {
    parts = JSON.parse(String(attrs.fingerprint_parts ?? '{}')) as Record<string, unknown>;
  } catch {
    // an old or foreign file: the hash alone says it differs
  }
  return { hash: String(attrs.fingerprint ?? ''), parts };
}

/**
 * Holds `dir/.milkit-<step>.lock` while `fn` runs (`step`: tile, embed); a lock left by a dead
 * process is taken over.
 */
export async function withFolderLock<T>(dir: string, step: string, fn: () => Promise<T>): Promise<T> {
  fs.mkdirSync(dir, { recursive: true });
  const lock = path.join(dir, `.milkit-${step}.lock`);
  const me = `${process.pid}@${os.hostname()}`;
  for (let attempt = 0; ; attempt++) {
    try {
      fs.writeFileSync(lock, me, { flag: 'wx' });
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST' || attempt > 0) throw err;
      const owner = fs.readFileSync(lock, 'utf8');
      const [pid, host] = owner.split('@');
      let alive = host !== os.hostname();
      if (!alive) {
        try {
          process.kill(Number(pid), 0);
          alive = true;
        } catch {
          alive = false;
        }
      }
      if (alive)
        throw new MilkitDataError(
          `another milkit slides ${step} (${owner}) is writing to this folder; wait for it or use another --out`,
          { file: dir },
        );
      fs.rmSync(lock, { force: true });
    }
  }
  try {
    return await fn();
  } finally {
    fs.rmSync(lock, { force: true });
  }
}

/** The grid without the patches that overlap any of `rects` (level-0 x0, y0, x1, y1). */
function withoutRects(grid: PatchGrid, plan: TilingPlan, rects: [number, number, number, number][]): PatchGrid {
  if (rects.length === 0) return grid;
  const s = plan.patchSizeLevel0;
  const keep: number[] = [];
  for (let i = 0; i < grid.tissue.length; i++) {
    const [x, y] = [grid.coords[2 * i], grid.coords[2 * i + 1]];
    if (!rects.some(([x0, y0, x1, y1]) => x < x1 && x + s > x0 && y < y1 && y + s > y0)) keep.push(i);
  }
  return {
    coords: Int32Array.from(keep.flatMap((i) => [grid.coords[2 * i], grid.coords[2 * i + 1]])),
    tissue: Float32Array.from(keep, (i) => grid.tissue[i]),
    gridSize: grid.gridSize,
  };
}

/** Tiles one slide into `out` (see the module comment); never throws for the slide's own problems. */
export async function tileSlide(file: string, out: string, opts: TileSlidesOptions = {}): Promise<TileResult> {
  const start = Date.now();
  const slideId = slideIdOf(file);
  const seconds = () => (Date.now() - start) / 1000;
  const settings = tilingSettings(opts);
  const files = {
    patches: path.join(out, 'patches', `${slideId}.h5`),
    mask: path.join(out, 'masks', `${slideId}.png`),
    preview: path.join(out, 'previews', `${slideId}.png`),
  };
  try {
    if (!fs.existsSync(file)) throw new MilkitDataError('no such file', { file });
    const fingerprint = fingerprintOf(slideIdentity(file), settings);
    if (fs.existsSync(files.patches)) {
      const old = await readPatchFile(files.patches);
      const changed = fingerprintDifferences(savedFingerprint(old.attrs), fingerprint);
      if (changed.length === 0)
        return { slideId, path: file, status: 'skipped', patches: old.coords.length / 2, files, seconds: seconds() };
      if (!opts.overwrite)
        throw new MilkitDataError(
          `${files.patches} was made from another version of this slide or under other tiling/tissue settings ` +
            `(${changed.join('; ')}); use another --out, or --overwrite to redo it`,
          { file },
        );
    }
    const slide = await openSlide(file, { backend: opts.backend });
    try {
      const plan = planTiling(slide, settings.tiling);
      // The mask resolution: the tissue setting, at least 8 mask pixels per patch side, never finer
      // than level 0, and never more than maxSide pixels on the long side.
      const maskMpp = Math.max(
        Math.min(settings.tissue.mpp, (plan.targetMpp * plan.patchSize) / 8),
        plan.level0Mpp,
        (plan.level0Mpp * Math.max(slide.width, slide.height)) / settings.tissue.maxSide,
      );
      // One read serves both: a preview of up to PREVIEW_SIDE pixels, area-averaged down to the mask.
      const maskW = Math.max(1, Math.round((slide.width * plan.level0Mpp) / maskMpp));
      const maskH = Math.max(1, Math.round((slide.height * plan.level0Mpp) / maskMpp));
      const previewDs = Math.min(
        maskMpp / plan.level0Mpp,
        Math.max(1, Math.max(slide.width, slide.height) / PREVIEW_SIDE),
      );
      const corruptTiles: string[] = [];
      const corruptRects: [number, number, number, number][] = []; // level-0 x0, y0, x1, y1
      const preview = await readThumbnail(slide, previewDs, {
        onBlock: (done, total) => opts.onProgress?.(slideId, done, total),
        onCorrupt:
          opts.onCorrupt === 'skip'
            ? (e) => {
                const lv = slide.levels[e.level];
                for (const t of e.tiles) {
                  const name = `level ${e.level} col ${t.col} row ${t.row}`;
                  if (corruptTiles.includes(name)) continue; // several sub-blocks may cover one tile
                  corruptTiles.push(name);
                  const [tw, th] = [lv.tileWidth ?? lv.width, lv.tileHeight ?? lv.height];
                  const d = lv.downsample;
                  corruptRects.push([t.col * tw * d, t.row * th * d, (t.col + 1) * tw * d, (t.row + 1) * th * d]);
                }
              }
            : undefined,
      });
      const thumb = resizeRgb(preview, maskW, maskH);
      const mask = detectTissue(thumb, (plan.level0Mpp * slide.width) / maskW, settings.tissue);
      const grid = withoutRects(gridPatches(plan, slide, mask, settings.tiling.minTissue), plan, corruptRects);
      writeFileAtomic(files.mask, [maskPng(mask)]);
      writeFileAtomic(files.preview, [previewPng(preview, mask, grid, plan, slide)]);
      if (grid.coords.length === 0)
        throw new MilkitDataError(
          mask.tissueFraction === 0
            ? `no tissue found (saturation threshold ${mask.threshold}); look at ${files.preview}, and if there is ` +
                'tissue lower the threshold (tissue config "threshold"/"minThreshold") or the minimum region size'
            : `no patch has at least ${settings.tiling.minTissue} tissue (tissue covers ` +
                (`${(100 * mask.tissueFraction).toFixed(1)} % of the ` +
                  `slide); look at ${files.preview} and lower --min-tissue`),
          { file },
        );
      const attrs = patchAttrs(slideId, slide, plan, settings.tiling.minTissue, mask, fingerprint);
      if (corruptTiles.length) attrs.corrupt_tiles = corruptTiles.join('; ');
      await writePatchFile(files.patches, grid, attrs);
      return {
        slideId,
        path: file,
        status: 'tiled',
        patches: grid.coords.length / 2,
        gridSize: grid.gridSize,
        tissueFraction: mask.tissueFraction,
        plan,
        files,
        ...(corruptTiles.length ? { corruptTiles } : {}),
        seconds: seconds(),
      };
    } finally {
      slide.close();
    }
  } catch (err) {
    if (!(err instanceof MilkitDataError)) throw err;
    return { slideId, path: file, status: 'failed', error: err.message, seconds: seconds() };
  }
}

/** Tiles each slide into `out`, one at a time, under one lock. Slide ids must be unique. */
export async function tileSlides(files: string[], out: string, opts: TileSlidesOptions = {}): Promise<TileResult[]> {
  const seen = new Map<string, string>();
  for (const f of files) {
    const id = slideIdOf(f);
    if (seen.has(id))
      throw new MilkitDataError(`two slides have the id "${id}" (${seen.get(id)} and ${f}); rename one`, { file: f });
    seen.set(id, f);
  }
  return withFolderLock(out, 'tile', async () => {
    // What a killed run left half-written (its final names were never written).
    for (const sub of ['patches', 'masks', 'previews']) removeStaleTempFiles(path.join(out, sub));
    const results: TileResult[] = [];
    for (const f of files) {
      const r = await tileSlide(f, out, opts);
      opts.onSlide?.(r);
      results.push(r);
    }
    return results;
  });
}
