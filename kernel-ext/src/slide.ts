/**
 * `showSlideHeatmap`: patch scores over the tissue of a whole-slide image. One bundle: the slide
 * view payload (zoom, pan, opacity, scale, top patches with milkit-jupyterlab), the figure of
 * `milkit heatmap` as image/png (GitHub, untrusted notebooks, no extension), HTML showing that
 * PNG, and text.
 */
import { inspect } from 'node:util';
import {
  type HeatScale,
  type Slide,
  type SlidePayload,
  SLIDE_MIME,
  SLIDE_VIEW_VERSION,
  checkSlideMatchesBag,
  checkSlidePayload,
  esc,
  formatScore,
  openSlide,
  resizeRgb,
  rgbJpeg,
  rgbaToRgbOnWhite,
  roundScore,
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

/** Top patches at full resolution (level 0, area-resized to at most 256 px). */
async function patchImages(slide: Slide, coords: ArrayLike<number>, size: number, indices: number[]) {
  const side = Math.min(256, size);
  const out = [];
  for (const index of indices) {
    const region = await slide.readRegion(0, coords[2 * index], coords[2 * index + 1], size, size);
    const rgb = resizeRgb(rgbaToRgbOnWhite(region), side, side);
    out.push({ index, src: jpegUri(rgb), size: side });
  }
  return out;
}

/**
 * Draws `scores` (one per patch, level-0 top-left `coords` as x, y pairs) over `slide` (a path or
 * an open slide, which stays open) and displays it; see the module comment.
 */
export async function showSlideHeatmap(
  slide: Slide | string,
  scores: ArrayLike<number>,
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
    const heat = await slideHeatmap(s, scores, coords, {
      patchSize: opts.patchSize,
      scale,
      opacity,
      maxSide: opts.maxSide ?? 1024,
      ...(opts.level !== undefined ? { level: opts.level } : {}),
      title: scoreName,
    });
    const top = topPatches(scores, opts.topK ?? 8);
    const payload = checkSlidePayload({
      kind: 'slide',
      version: SLIDE_VIEW_VERSION,
      slideId,
      ...(opts.title ? { title: opts.title } : {}),
      slide: { width: s.width, height: s.height, ...(s.mpp ? { mpp: s.mpp.x } : {}) },
      image: {
        src: jpegUri(heat.slideImage),
        width: heat.slideImage.width,
        height: heat.slideImage.height,
      },
      patchSize: opts.patchSize,
      coords: Array.from(coords, Math.round),
      scores: Array.from(scores, roundScore),
      scoreName,
      scale,
      opacity,
      patches: await patchImages(s, coords, opts.patchSize, top),
    });
    const title = opts.title ?? `${scoreName} over ${slideId}`;
    const text =
      `${title}: ${scores.length} patches of ${opts.patchSize} px (level 0) on a ${s.width} × ${s.height} px slide, ` +
      `${scoreName} ${formatScore(heat.scaled.min)} to ${formatScore(heat.scaled.max)} (${scale} scale)` +
      (top.length
        ? `\ntop patch: #${top[0]} at ` +
          `(${coords[2 * top[0]]}, ${coords[2 * top[0] + 1]}), ${formatScore(scores[top[0]])}`
        : '');
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
