/**
 * What every backend shares: choosing a level for a downsample, RGB reads composited over white,
 * and thumbnails read block by block (bounded memory whatever the slide size).
 */
import { resampleArea, rgbaToRgbOnWhite } from './resample';
import { CorruptTileError, type RgbPixels, type RgbaImage, type Slide, type SlideLevel } from './types';

/**
 * The level to read for `downsample` (relative to level 0): the coarsest level that is not coarser
 * than asked, so reads downsample from the level just above and never upsample. A level within
 * 1 % of the request counts as a match (scanners record downsamples like 4.0003).
 */
export function bestLevelForDownsample(levels: readonly SlideLevel[], downsample: number): number {
  let best = 0;
  for (let l = 1; l < levels.length; l++)
    if (levels[l].downsample <= downsample * 1.01 && levels[l].downsample > levels[best].downsample) best = l;
  return best;
}

/** `readRegion` composited over white (RGB), the form tissue detection and patch encoders take. */
export async function readRegionRgb(
  slide: Slide,
  level: number,
  x: number,
  y: number,
  w: number,
  h: number,
): Promise<RgbPixels> {
  return rgbaToRgbOnWhite(await slide.readRegion(level, x, y, w, h));
}

/** Output pixels per block when reading a thumbnail: each block is one bounded read. */
const THUMB_BLOCK = 256;

export interface ThumbnailOptions {
  /** Progress: blocks read of the total. */
  onBlock?: (done: number, total: number) => void;
  /**
   * Called for each undecodable tile instead of failing: the area it covers (found by splitting
   * the failing block down to the tile) is painted white, i.e. glass, so no patch is placed there.
   */
  onCorrupt?: (error: CorruptTileError) => void;
}

/**
 * The whole slide as an RGB image `downsample` times smaller than level 0 (over white), read from
 * the best level in blocks of at most THUMB_BLOCK output pixels per side and area-averaged, so
 * memory stays bounded by the thumbnail plus one block.
 */
export async function readThumbnail(
  slide: Slide,
  downsample: number,
  opts: ThumbnailOptions = {},
): Promise<RgbPixels & { downsample: { x: number; y: number } }> {
  const outW = Math.max(1, Math.round(slide.width / downsample));
  const outH = Math.max(1, Math.round(slide.height / downsample));
  const level = bestLevelForDownsample(slide.levels, downsample);
  const lv = slide.levels[level];
  // Output pixel → level pixels (exact per axis: level sizes are rounded by the scanner).
  const fx = lv.width / outW;
  const fy = lv.height / outH;
  const out = new Uint8Array(outW * outH * 3);
  const tile = Math.max(lv.tileWidth ?? 256, lv.tileHeight ?? 256);
  /** Reads output pixels [ox, ox+ow) × [oy, oy+oh) into `out`, splitting around damaged tiles. */
  const block = async (ox: number, oy: number, ow: number, oh: number): Promise<void> => {
    // The level pixels this block covers, with their fractional edges.
    const lx0 = ox * fx;
    const ly0 = oy * fy;
    const lx1 = (ox + ow) * fx;
    const ly1 = (oy + oh) * fy;
    const rx = Math.floor(lx0);
    const ry = Math.floor(ly0);
    const rw = Math.min(lv.width, Math.ceil(lx1)) - rx;
    const rh = Math.min(lv.height, Math.ceil(ly1)) - ry;
    let region: RgbPixels;
    try {
      // ceil: the level-0 position whose level pixel (floor(x / downsample)) is exactly rx.
      region = await readRegionRgb(slide, level, Math.ceil(rx * lv.downsample), Math.ceil(ry * lv.downsample), rw, rh);
    } catch (err) {
      if (!(err instanceof CorruptTileError) || !opts.onCorrupt) throw err;
      if ((rw > tile || rh > tile) && (ow > 1 || oh > 1)) {
        const hw = Math.ceil(ow / 2);
        const hh = Math.ceil(oh / 2);
        for (const [x, y, w, h] of [
          [ox, oy, hw, hh],
          [ox + hw, oy, ow - hw, hh],
          [ox, oy + hh, hw, oh - hh],
          [ox + hw, oy + hh, ow - hw, oh - hh],
        ])
          if (w > 0 && h > 0) await block(x, y, w, h);
        return;
      }
      opts.onCorrupt(err);
      for (let r = 0; r < oh; r++) out.fill(255, ((oy + r) * outW + ox) * 3, ((oy + r) * outW + ox + ow) * 3);
      return;
    }
    const rect = { x0: lx0 - rx, y0: ly0 - ry, x1: lx1 - rx, y1: ly1 - ry };
    const pixels = resampleArea(region.data, rw, rh, 3, rect, ow, oh);
    for (let r = 0; r < oh; r++) out.set(pixels.subarray(r * ow * 3, (r + 1) * ow * 3), ((oy + r) * outW + ox) * 3);
  };
  const bx = Math.ceil(outW / THUMB_BLOCK);
  const by = Math.ceil(outH / THUMB_BLOCK);
  for (let j = 0; j < by; j++) {
    for (let i = 0; i < bx; i++) {
      const ox = i * THUMB_BLOCK;
      const oy = j * THUMB_BLOCK;
      await block(ox, oy, Math.min(THUMB_BLOCK, outW - ox), Math.min(THUMB_BLOCK, outH - oy));
      opts.onBlock?.(j * bx + i + 1, bx * by);
    }
  }
  return {
    width: outW,
    height: outH,
    data: out,
    downsample: { x: slide.width / outW, y: slide.height / outH },
  };
}

/** A plain summary of a slide (what `milkit slides info --json` prints). */
export function describeSlide(slide: Slide): {
  path: string;
  backend: string;
  vendor: string;
  width: number;
  height: number;
  mpp: { x: number; y: number } | null;
  objectivePower: number | null;
  levels: SlideLevel[];
  associatedImages: Record<string, { width: number; height: number }>;
  properties: Record<string, string>;
} {
  return {
    path: slide.path,
    backend: slide.backend,
    vendor: slide.vendor,
    width: slide.width,
    height: slide.height,
    mpp: slide.mpp ?? null,
    objectivePower: slide.objectivePower ?? null,
    levels: slide.levels.map((l) => ({ ...l })),
    associatedImages: { ...slide.associatedImages },
    properties: { ...slide.properties },
  };
}

/** Pixel data of an RGBA region as RGB without compositing (for tests and exports). */
export function rgbaPixel(img: RgbaImage, x: number, y: number): [number, number, number, number] {
  const i = 4 * (y * img.width + x);
  return [img.data[i], img.data[i + 1], img.data[i + 2], img.data[i + 3]];
}
