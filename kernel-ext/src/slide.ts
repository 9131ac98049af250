/**
 * `showSlideHeatmap`: patch scores over the tissue of a whole-slide image, one map or several side
 * by side (two models' attention, under one colour scale). One bundle: the slide view payload
 * (zoom, pan, opacity, scale, top patches with milkit-jupyterlab), the figure of `milkit heatmap`
 * as image/png (GitHub, untrusted notebooks, no extension), HTML showing that PNG, and text.
 * `showSlidePatch` shows one patch at full resolution; the JupyterLab view calls it through the
 * notebook's kernel for patches its output does not carry.
 */
import { inspect } from 'node:util';
import {
  type HeatScale,
  type ScoreMaps,
  type Slide,
  type SlidePayload,
  SLIDE_MIME,
  SLIDE_VIEW_VERSION,
  MilkitDataError,
  checkSlideMatchesBag,
  checkSlidePayload,
  esc,
  formatScore,
  openSlide,
  resizeRgb,
  rgbJpeg,
  rgbaToRgbOnWhite,
  roundScore,
  scoreMapList,
  slideHeatmap,
  topPatches,
} from 'milkit';
import type { MimeBundle } from './bundle';
import { publish } from './display';

export interface SlideHeatmapOptions {
  /**
   * Patch side in level-0 pixels (a cohort from `milkit slides embed` records it per bag: `meta.patch_size_level0`).
   */
  patchSize: number;
  /** What the scores are (default "attention"). */
  scoreName?: string;
  /** Score → colour: percentile (default, CLAM's convention), linear or log. */
  scale?: HeatScale;
  /** Weight of the colours over the tissue, 0..1 (default 0.5). */
  opacity?: number;
  /** Longest side of the drawn slide in pixels (default 1024), or a pyramid level to draw whole. */
  maxSide?: number;
  level?: number;
  /** Top-scoring patches embedded at full resolution (default 8, each at most 256 px, as JPEG). */
  topK?: number;
  title?: string;
  /** Shown in the title and text (default: the file name). */
  slideId?: string;
  /** The bag's recorded slide metadata (`bag.meta`): a slide of another size or content is refused. */
  meta?: Record<string, string | number | null>;
}

/** What `showSlideHeatmap` displayed (tslab prints it as one line). */
export class SlideShown {
  constructor(
    readonly payload: SlidePayload,
    readonly bundle: MimeBundle,
  ) {}

  [inspect.custom](): string {
    return `[milkit slide view: ${String(this.bundle.data['text/plain']).split('\n')[0]}]`;
  }
}

const jpegUri = (img: Parameters<typeof rgbJpeg>[0]) => `data:image/jpeg;base64,${rgbJpeg(img).toString('base64')}`;

/** What `showSlidePatch` displayed. */
export class PatchShown {
  constructor(readonly bundle: MimeBundle) {}

  [inspect.custom](): string {
    return `[milkit patch: ${String(this.bundle.data['text/plain'])}]`;
  }
}

/** Patches shown at full resolution are at most this many pixels a side (area-resized beyond). */
const PATCH_SIDE = 256;

/** A patch at full resolution: level 0, area-resized to at most PATCH_SIDE px, as a JPEG. */
async function patchJpeg(slide: Slide, x: number, y: number, size: number): Promise<{ jpeg: Buffer; side: number }> {
  const side = Math.min(PATCH_SIDE, size);
  const region = await slide.readRegion(0, x, y, size, size);
  return { jpeg: rgbJpeg(resizeRgb(rgbaToRgbOnWhite(region), side, side)), side };
}

async function patchImages(slide: Slide, coords: ArrayLike<number>, size: number, indices: number[]) {
  const out = [];
  for (const index of indices) {
    const { jpeg, side } = await patchJpeg(slide, coords[2 * index], coords[2 * index + 1], size);
    out.push({ index, src: `data:image/jpeg;base64,${jpeg.toString('base64')}`, size: side });
  }
  return out;
}

/** Each map's scores for the payload, with its top patches read from the slide (one read at a time). */
async function mapPayloads(
  slide: Slide,
  maps: { name: string; scores: ArrayLike<number> }[],
  coords: ArrayLike<number>,
  patchSize: number,
  topK: number,
) {
  const out = [];
  for (const m of maps)
    out.push({
      name: m.name,
      scores: Array.from(m.scores, roundScore),
      patches: await patchImages(slide, coords, patchSize, topPatches(m.scores, topK)),
    });
  return out;
}

/**
 * Draws `scores` (one per patch, level-0 top-left `coords` as x, y pairs) over `slide` (a path or
 * an open slide, which stays open) and displays it; see the module comment. `scores` may name
 * several maps, `{ 'AB-MIL': a, 'MHIM-v2(AB-MIL)': b }`, drawn side by side in that order.
 */
export async function showSlideHeatmap(
  slide: Slide | string,
  scores: ArrayLike<number> | ScoreMaps,
  coords: ArrayLike<number>,
  opts: SlideHeatmapOptions,
): Promise<SlideShown> {
  const s = typeof slide === 'string' ? await openSlide(slide) : slide;
  try {
    const slideId = opts.slideId ?? s.path.replace(/^.*[\\/]/, '').replace(/\.[^.]+$/, '');
    if (opts.meta) checkSlideMatchesBag(s, { id: slideId, coords, meta: opts.meta }, opts.patchSize);
    const scoreName = opts.scoreName ?? 'attention';
    const scale = opts.scale ?? 'percentile';
    const opacity = opts.opacity ?? 0.5;
    const maps = scoreMapList(scores);
    const heat = await slideHeatmap(s, scores, coords, {
      patchSize: opts.patchSize,
      scale,
      opacity,
      maxSide: opts.maxSide ?? 1024,
      ...(opts.level !== undefined ? { level: opts.level } : {}),
      title: scoreName,
    });
    const payload = checkSlidePayload({
      kind: 'slide',
      version: SLIDE_VIEW_VERSION,
      slideId,
      ...(opts.title ? { title: opts.title } : {}),
      slide: { width: s.width, height: s.height, ...(s.mpp ? { mpp: s.mpp.x } : {}) },
      source: s.path,
      image: {
        src: jpegUri(heat.slideImage),
        width: heat.slideImage.width,
        height: heat.slideImage.height,
      },
      patchSize: opts.patchSize,
      coords: Array.from(coords, Math.round),
      maps: await mapPayloads(s, maps, coords, opts.patchSize, opts.topK ?? 8),
      scoreName,
      scale,
      opacity,
    });
    const title = opts.title ?? `${scoreName} over ${slideId}`;
    const lines = maps.map((m, k) => {
      const [top] = topPatches(m.scores, 1);
      const { min, max } = heat.scaled.maps[k];
      return (
        `${m.name ? `${m.name}: ` : ''}${scoreName} ${formatScore(min)} to ${formatScore(max)}` +
        (top === undefined
          ? ''
          : `, top patch #${top} at (${coords[2 * top]}, ${coords[2 * top + 1]}), ${formatScore(m.scores[top])}`)
      );
    });
    const text =
      `${title}: ${coords.length / 2} patches of ${opts.patchSize} px (level 0) ` +
      `on a ${s.width} × ${s.height} px slide ` +
      `(${scale} scale)\n${lines.join('\n')}`;
    const png = heat.png.toString('base64');
    const html =
      `<figure style="margin:0"><img src="data:image/png;base64,${png}" ` +
      `width="${heat.width}" height="${heat.height}" ` +
      (`alt="${esc(title)}" ` +
        `style="max-width:100%;height:auto"><figcaption>${esc(text).replace(/\n/g, '<br>')}</figcaption></figure>`);
    const bundle: MimeBundle = {
      data: { [SLIDE_MIME]: payload, 'image/png': png, 'text/html': html, 'text/plain': text },
      metadata: { 'image/png': { width: heat.width, height: heat.height } },
    };
    publish(bundle);
    return new SlideShown(payload, bundle);
  } finally {
    if (typeof slide === 'string') s.close();
  }
}

/**
 * Shows the `size`-pixel patch at level-0 (`x`, `y`) of `slide` at full resolution (as JPEG, at most
 * 256 px a side). With `expect`, a slide of another level-0 size is refused: the JupyterLab view
 * passes the size it was drawn for, so a file replaced since never shows the wrong tissue.
 */
export async function showSlidePatch(
  slide: Slide | string,
  x: number,
  y: number,
  size: number,
  expect?: { width: number; height: number },
): Promise<PatchShown> {
  const s = typeof slide === 'string' ? await openSlide(slide) : slide;
  try {
    const where = { file: s.path };
    if (expect && (expect.width !== s.width || expect.height !== s.height))
      throw new MilkitDataError(
        `the slide is ${s.width} × ${s.height} px, ` +
          `but the view was drawn for a ${expect.width} × ${expect.height} px slide`,
        where,
        'put the slide the heatmap was drawn from back at that path, or re-run the cell that drew it',
      );
    if (
      ![x, y, size].every(Number.isInteger) ||
      size < 1 ||
      x < 0 ||
      y < 0 ||
      x + size > s.width ||
      y + size > s.height
    )
      throw new MilkitDataError(
        `a ${size}-px patch at (${x}, ${y}) does not lie inside the ${s.width} × ${s.height} px slide`,
        where,
        'give whole level-0 pixel positions inside the slide',
      );
    const { jpeg, side } = await patchJpeg(s, x, y, size);
    const text = `patch at (${x}, ${y}), ${size} px at level 0${side < size ? ` (shown at ${side} px)` : ''}`;
    const bundle: MimeBundle = {
      data: { 'image/jpeg': jpeg.toString('base64'), 'text/plain': text },
      metadata: { 'image/jpeg': { width: side, height: side } },
    };
    publish(bundle);
    return new PatchShown(bundle);
  } finally {
    if (typeof slide === 'string') s.close();
  }
}
