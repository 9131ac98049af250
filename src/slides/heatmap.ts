/**
 * Patch scores over a slide as a PNG figure (`milkit heatmap`): the slide drawn whole (a thumbnail,
 * or a chosen pyramid level), the scores blended in at the patch positions with the mapping of
 * overlay.ts (the one the notebook views share), and a colour bar labelled with score values.
 * Several named maps (two models' attention) are drawn side by side, each titled, under one
 * colour scale and bar (viz/scale.ts `scaleScoreMaps`), as in the MHIM-MIL paper's Figures 7–8.
 * A slide that is not the one the patches came from is refused, never drawn.
 */
import { PNG } from 'pngjs';
import { MilkitDataError } from '../data/errors';
import { CHAR_HEIGHT, CHAR_WIDTH, drawText } from './font';
import { type HeatScale, extent, scaleScoreMaps } from '../viz/scale';
import {
  type OverlayOptions,
  type ScoreMaps,
  blendScores,
  colorBar,
  patchRects,
  scoreMapList,
  scoreTicks,
} from './overlay';
import { slideIdentity } from './pipeline';
import { readThumbnail } from './slide';
import type { RgbPixels, Slide } from './types';

/** Most pixels a drawn slide may have (a level of a 40× slide can be gigapixels). */
export const MAX_HEATMAP_PIXELS = 64 * 2 ** 20;

export interface SlideHeatmapOptions extends OverlayOptions {
  /** Patch side in level-0 pixels. */
  patchSize: number;
  /** Score → [0, 1]: `percentile` (default), `linear` or `log` (viz/scale.ts). */
  scale?: HeatScale;
  /** Longest side of the drawn slide in pixels (default 2048); ignored with `level`. */
  maxSide?: number;
  /** Draw the whole of this pyramid level instead of a thumbnail. */
  level?: number;
  /** The colour bar's title (e.g. "attention"). */
  title?: string;
}

export interface SlideHeatmap {
  /** The figure: the slide with the overlay (one panel per map), and the colour bar. */
  png: Buffer;
  /** The slide as drawn, without the overlay (what the interactive view draws over). */
  slideImage: RgbPixels;
  width: number;
  height: number;
  /** The drawn slide: its size and level-0 pixels per image pixel. */
  image: { width: number; height: number; downsample: { x: number; y: number } };
  /**
   * The scale used, the finite scores' range over all maps, and per map its range and each patch's
   * colour position in [0, 1].
   */
  scaled: {
    scale: HeatScale;
    min: number;
    max: number;
    maps: { name: string; min: number; max: number; t: Float32Array }[];
  };
}

/**
 * Refuses a slide that is not the one a bag's patches came from: a different size than the cohort
 * recorded (`meta.slide_width/height`), different content (`meta.slide_identity`), or patches
 * outside the slide. Cohorts from `slides embed` record all three; others are checked by bounds.
 */
export function checkSlideMatchesBag(
  slide: Pick<Slide, 'path' | 'width' | 'height'>,
  bag: { id: string; coords: ArrayLike<number>; meta: Record<string, string | number | null> },
  patchSize: number,
): void {
  const { meta } = bag;
  const where = { file: slide.path, bag: bag.id };
  const source = typeof meta.slide_path === 'string' && meta.slide_path ? meta.slide_path : undefined;
  const fix = `give the slide bag "${bag.id}" was tiled from${source ? ` (${source})` : ''}`;
  if (
    typeof meta.slide_width === 'number' &&
    typeof meta.slide_height === 'number' &&
    (meta.slide_width !== slide.width || meta.slide_height !== slide.height)
  )
    throw new MilkitDataError(
      `the slide is ${slide.width} × ${slide.height} px, but the bag's patches come from a ` +
        `${meta.slide_width} × ${meta.slide_height} px slide: a heatmap over it would put scores on the wrong tissue`,
      where,
      fix,
    );
  if (typeof meta.slide_identity === 'string' && slideIdentity(slide.path) !== meta.slide_identity)
    throw new MilkitDataError(
      'the slide has the size of the one the bag was tiled from, but other ' +
        'content: a heatmap over it would put scores on the wrong tissue',
      where,
      fix,
    );
  for (let i = 0; i < bag.coords.length; i += 2) {
    const [x, y] = [bag.coords[i], bag.coords[i + 1]];
    if (x < 0 || y < 0 || x + patchSize > slide.width || y + patchSize > slide.height)
      throw new MilkitDataError(
        `patch ${i / 2} at (${x}, ${y}), ${patchSize} px wide, ` +
          `lies outside the ${slide.width} × ${slide.height} px slide`,
        where,
        `${fix}, with the patch size in level-0 pixels the patches were tiled with`,
      );
  }
}

/**
 * Draws `scores` (one per patch at level-0 `coords`), or named maps of them side by side, over
 * `slide`; see the module comment.
 */
export async function slideHeatmap(
  slide: Slide,
  scores: ArrayLike<number> | ScoreMaps,
  coords: ArrayLike<number>,
  opts: SlideHeatmapOptions,
): Promise<SlideHeatmap> {
  const maps = scoreMapList(scores);
  if (maps[0].scores.length * 2 !== coords.length)
    throw new Error(`${maps[0].scores.length} scores for ${coords.length / 2} patch positions`);
  let downsample: number;
  if (opts.level !== undefined) {
    if (!Number.isInteger(opts.level) || opts.level < 0 || opts.level >= slide.levels.length)
      throw new MilkitDataError(
        `the slide has levels 0 to ${slide.levels.length - 1}, not ${opts.level}`,
        { file: slide.path, field: 'level' },
        'choose one of them, or leave --level out for a thumbnail',
      );
    downsample = slide.levels[opts.level].downsample;
  } else downsample = Math.max(1, Math.max(slide.width, slide.height) / (opts.maxSide ?? 2048));
  const pixels = (slide.width / downsample) * (slide.height / downsample);
  if (pixels > MAX_HEATMAP_PIXELS)
    throw new MilkitDataError(
      `drawing the slide ${downsample === 1 ? 'at full resolution' : `${downsample.toFixed(1)}× smaller`} makes ` +
        `${(pixels / 1e6).toFixed(0)} megapixels (at most ${MAX_HEATMAP_PIXELS / 2 ** 20} Mi)`,
      { file: slide.path, field: 'level' },
      'choose a coarser --level, or a --size (longest side in pixels)',
    );
  const thumb = await readThumbnail(slide, downsample);
  const { width: w, height: h } = thumb;
  const scale = opts.scale ?? 'percentile';
  const pooled = new Float64Array(maps.length * maps[0].scores.length);
  maps.forEach((m, k) => pooled.set(m.scores, k * m.scores.length));
  const [min, max] = extent(pooled);
  if (!(min <= max)) throw new Error(`no finite score among ${pooled.length} scores`);
  if (scale === 'log' && !(min > 0))
    throw new Error(`the log scale needs positive scores, and the smallest is ${min}: use linear or percentile`);
  const { t } = scaleScoreMaps(
    maps.map((m) => m.scores),
    scale,
  );
  // Percentile ranks each map within itself: a shared bar names ranks, not one map's scores.
  const ticks =
    maps.length > 1 && scale === 'percentile'
      ? [0, 25, 50, 75, 100].map((p) => ({ at: p / 100, label: `${p}%` }))
      : scoreTicks(pooled, scale);
  const rects = patchRects(coords, opts.patchSize, slide, thumb);
  const images = t.map((tk) => blendScores(thumb.data, w, h, rects, tk, opts));

  // Panels side by side (each titled when maps are named), then the colour bar: title, bar, ticks.
  const s = h >= 700 ? 2 : 1;
  const named = maps.length > 1 || maps[0].name !== '';
  const head = named ? (CHAR_HEIGHT + 8) * s : 0;
  const gap = 12 * s;
  const panelsW = maps.length * w + (maps.length - 1) * gap;
  const title = [opts.title ?? 'score', `${scale} scale`];
  const labelChars = Math.max(...title.map((t) => t.length), ...ticks.map((t) => t.label.length + 2));
  const [pad, barW] = [12 * s, 16 * s];
  const panelW = pad + barW + 6 * s + labelChars * CHAR_WIDTH * s + pad;
  const W = panelsW + panelW;
  const top = head + pad + 2 * (CHAR_HEIGHT + 4) * s;
  const H = Math.max(head + h, top + 80 * s + pad);
  const barH = H - top - pad - CHAR_HEIGHT * s;
  const out = new Uint8Array(W * H * 3).fill(255);
  images.forEach((image, k) => {
    const x0 = k * (w + gap);
    for (let y = 0; y < h; y++) out.set(image.subarray(y * w * 3, (y + 1) * w * 3), ((head + y) * W + x0) * 3);
    const name = maps[k].name.slice(0, Math.floor(w / (CHAR_WIDTH * s)));
    if (named) drawText(out, W, H, x0, 4 * s, name, [0, 0, 0], s);
  });
  title.forEach((t, i) => drawText(out, W, H, panelsW + pad, head + pad + i * (CHAR_HEIGHT + 4) * s, t, [0, 0, 0], s));
  const bar = colorBar(barW, barH);
  const barX = panelsW + pad;
  for (let y = 0; y < barH; y++) out.set(bar.subarray(y * barW * 3, (y + 1) * barW * 3), ((top + y) * W + barX) * 3);
  for (const tick of ticks) {
    const y = top + Math.round((1 - tick.at) * (barH - 1));
    // The tick crosses the bar (a mark beside the label would read as a minus sign).
    for (let x = barX - 2 * s; x < barX + barW + 2 * s; x++)
      for (let dy = 0; dy < s; dy++) out.set([0, 0, 0], ((y + dy) * W + x) * 3);
    const ty = y - Math.floor((CHAR_HEIGHT * s) / 2);
    drawText(out, W, H, barX + barW + 6 * s, ty, tick.label, [0, 0, 0], s);
  }
  return {
    png: rgbPng({ width: W, height: H, data: out }),
    slideImage: thumb,
    width: W,
    height: H,
    image: { width: w, height: h, downsample: thumb.downsample },
    scaled: {
      scale,
      min,
      max,
      maps: maps.map((m, k) => {
        const [lo, hi] = extent(m.scores);
        return { name: m.name, min: lo, max: hi, t: t[k] };
      }),
    },
  };
}

interface JpegEncoder {
  encode(img: { width: number; height: number; data: Uint8Array }, quality: number): { data: Uint8Array };
}
// eslint-disable-next-line @typescript-eslint/no-require-imports -- jpeg-js ships no type declarations
const jpeg: JpegEncoder = require('jpeg-js');

/** An RGB image as JPEG bytes (photographs of tissue: a fraction of the PNG's size). */
export function rgbJpeg(img: RgbPixels, quality = 85): Buffer {
  const rgba = new Uint8Array(img.width * img.height * 4);
  for (let i = 0; i < img.width * img.height; i++) {
    rgba.set(img.data.subarray(3 * i, 3 * i + 3), 4 * i);
    rgba[4 * i + 3] = 255;
  }
  return Buffer.from(jpeg.encode({ width: img.width, height: img.height, data: rgba }, quality).data);
}

/** An RGB image as PNG bytes. */
export function rgbPng(img: RgbPixels): Buffer {
  const png = new PNG({ width: img.width, height: img.height });
  for (let i = 0; i < img.width * img.height; i++) {
    png.data[4 * i] = img.data[3 * i];
    png.data[4 * i + 1] = img.data[3 * i + 1];
    png.data[4 * i + 2] = img.data[3 * i + 2];
    png.data[4 * i + 3] = 255;
  }
  return PNG.sync.write(png);
}
