/**
 * The slide view (`application/vnd.milkit.slide+json`, from milkit-kernel's showSlideHeatmap):
 * patch scores over the slide's thumbnail on one canvas (heatmap.ts: wheel zooms, drag pans,
 * double-click resets), with an opacity slider, a score scale, a threshold, hover for a patch's
 * score and position, and the top patches at full resolution (embedded by the kernel when the cell
 * ran: tslab has no comms, so a saved notebook keeps everything the view shows). Clicking a top
 * patch, in the list or on the map, shows it large.
 */
import type { IRenderMime } from '@jupyterlab/rendermime-interfaces';
import { Widget } from '@lumino/widgets';
import {
  HEAT_SCALES,
  type HeatScale,
  SLIDE_MIME,
  type SlidePayload,
  checkSlidePayload,
  formatScore,
  scaleScores,
  viridisRgb,
} from 'milkit/core';
import { el, slider, suppressShortcuts } from './dom.js';
import { HeatmapCanvas } from './heatmap.js';
import { themeColors } from './theme.js';

/** Patch positions as cells of one patch each, over a grid that covers the whole slide. */
function slideGrid(p: SlidePayload) {
  const n = p.scores.length;
  const col = new Int32Array(n);
  const row = new Int32Array(n);
  let cols = Math.ceil(p.slide.width / p.patchSize);
  let rows = Math.ceil(p.slide.height / p.patchSize);
  for (let i = 0; i < n; i++) {
    col[i] = Math.max(0, Math.round(p.coords[2 * i] / p.patchSize));
    row[i] = Math.max(0, Math.round(p.coords[2 * i + 1] / p.patchSize));
    cols = Math.max(cols, col[i] + 1);
    rows = Math.max(rows, row[i] + 1);
  }
  return { col, row, cols, rows };
}

async function loadImage(src: string): Promise<HTMLImageElement> {
  const img = new Image();
  img.src = src; // a base64 JPEG/PNG data URI (checkSlidePayload)
  await img.decode();
  return img;
}

export class SlideRenderer extends Widget implements IRenderMime.IRenderer {
  constructor() {
    super();
    this.addClass('milkit-viz');
    this.addClass('milkit-slide');
  }

  async renderModel(model: IRenderMime.IMimeModel): Promise<void> {
    const t0 = performance.now();
    try {
      const p = checkSlidePayload(model.data[SLIDE_MIME]);
      await this.render(p);
    } catch (err) {
      const box = el('div', 'milkit-error');
      box.append(el('strong', undefined, 'milkit: cannot show this output. '), el('span', undefined, String(err)));
      this.node.replaceChildren(box);
      return;
    }
    // Time to the first complete picture (payload check, thumbnail decode, draw): the timing test reads it.
    this.node.dataset.renderMs = (performance.now() - t0).toFixed(1);
  }

  private async render(p: SlidePayload): Promise<void> {
    const colours = themeColors(this.node);
    const grid = slideGrid(p);
    const heat = new HeatmapCanvas(grid, { outline: colours.outline, hover: colours.font, empty: colours.empty });
    // The thumbnail spans the slide, the grid whole patches: draw it over the slide's share of the grid.
    const thumb = await loadImage(p.image.src);
    const under = document.createElement('canvas');
    [under.width, under.height] = [heat.canvas.width, heat.canvas.height];
    const k = heat.cell / p.patchSize;
    under.getContext('2d')!.drawImage(thumb, 0, 0, p.slide.width * k, p.slide.height * k);
    heat.setUnderlay(under);
    heat.opacity = p.opacity;

    const header = el('div', 'milkit-header');
    const mpp = p.slide.mpp ? `, ${p.slide.mpp} µm/px` : '';
    header.append(
      el('span', 'milkit-title', p.title ?? `${p.scoreName} over ${p.slideId}`),
      el(
        'span',
        'milkit-meta',
        `${p.scores.length} patches of ${p.patchSize} px · slide ${p.slide.width} × ${p.slide.height} px${mpp}`,
      ),
    );
    const bar = el('div', 'milkit-colourbar');
    const [low, high] = [el('span', 'milkit-colourbar-low'), el('span', 'milkit-colourbar-high')];
    const ramp = el('canvas', 'milkit-colourbar-ramp');
    [ramp.width, ramp.height] = [256, 1];
    const rampPx = new ImageData(256, 1);
    for (let x = 0; x < 256; x++) rampPx.data.set([...viridisRgb(x / 255), 255], 4 * x);
    ramp.getContext('2d')!.putImageData(rampPx, 0, 0);
    bar.append(low, ramp, high);

    let scale: HeatScale = p.scale;
    const recolour = () => {
      const scaled = scaleScores(p.scores, scale);
      low.textContent = scaled.low;
      high.textContent = scaled.high;
      heat.setScores(scaled.t);
    };
    const controls = el('div', 'milkit-controls');
    const scaleRow = el('label', 'milkit-slider milkit-scale-row');
    const select = suppressShortcuts(el('select', 'milkit-scale'));
    for (const s of HEAT_SCALES) {
      const o = el('option', undefined, s === 'percentile' ? 'percentile rank' : s);
      o.value = s;
      select.append(o);
    }
    select.value = scale;
    select.addEventListener('change', () => {
      scale = select.value as HeatScale;
      recolour();
    });
    scaleRow.append(el('span', 'milkit-slider-label', 'colour scale'), select);
    controls.append(
      scaleRow,
      slider('hide patches below (colour position)', 'milkit-slider-threshold', 0, 1, 0.01, 0, (v) =>
        heat.setThreshold(v),
      ).wrap,
      slider('opacity', 'milkit-slider-opacity', 0, 1, 0.05, p.opacity, (v) => heat.setOpacity(v)).wrap,
    );

    // The top patches at full resolution: a list, and one shown large.
    const images = new Map(p.patches.map((q) => [q.index, q]));
    const detail = el('figure', 'milkit-slide-detail');
    const where = (i: number) =>
      `patch ${i} at (${p.coords[2 * i]}, ${p.coords[2 * i + 1]}) · ${p.scoreName} ${formatScore(p.scores[i])}`;
    const showPatch = (i: number) => {
      const q = images.get(i);
      detail.replaceChildren();
      if (q) {
        const img = el('img', 'milkit-slide-patch');
        img.src = q.src;
        img.alt = where(i);
        [img.width, img.height] = [q.size, q.size];
        detail.append(img);
      }
      detail.append(
        el(
          'figcaption',
          undefined,
          q ? where(i) : `${where(i)} · full resolution kept for the top ${p.patches.length} patches only`,
        ),
      );
      detail.dataset.patch = String(i);
      heat.setHover(i);
    };
    const list = el('ol', 'milkit-toplist milkit-slide-top');
    list.append(el('li', 'milkit-toplist-head', `top ${p.patches.length} by ${p.scoreName}`));
    for (const q of p.patches) {
      const item = suppressShortcuts(el('li', 'milkit-toplist-item'));
      item.tabIndex = 0;
      const img = el('img');
      img.src = q.src;
      img.alt = where(q.index);
      [img.width, img.height] = [48, 48];
      item.append(img, el('span', undefined, ` ${formatScore(p.scores[q.index])}`));
      item.addEventListener('click', () => showPatch(q.index));
      item.addEventListener('keydown', (e) => e.key === 'Enter' && showPatch(q.index));
      list.append(item);
    }

    const tip = el('div', 'milkit-hover');
    const at = (e: MouseEvent) => {
      const r = heat.canvas.getBoundingClientRect();
      return heat.instanceAt(e.clientX - r.left, e.clientY - r.top);
    };
    heat.canvas.addEventListener('mousemove', (e) => {
      const i = at(e);
      heat.setHover(i);
      tip.textContent = i < 0 ? '' : where(i);
    });
    heat.canvas.addEventListener('click', (e) => {
      const i = at(e);
      if (i >= 0) showPatch(i);
    });

    const left = el('div', 'milkit-heatmap');
    left.append(heat.canvas, bar, tip);
    const side = el('div', 'milkit-slide-side');
    side.append(list, detail);
    const body = el('div', 'milkit-body');
    body.append(left, side);
    this.node.replaceChildren(header, controls, body);
    recolour();
    if (p.patches.length) showPatch(p.patches[0].index);
  }
}

/** The slide view as a MIME extension entry (index.ts lists it with the other views). */
export const slideExtension: IRenderMime.IExtension = {
  id: 'milkit-jupyterlab:slide',
  description: `Renders milkit slide heatmaps (${SLIDE_MIME})`,
  // Below text/html (50), as the other views: the interactive view beats milkit-kernel's static fallback.
  rendererFactory: { safe: true, mimeTypes: [SLIDE_MIME], defaultRank: 40, createRenderer: () => new SlideRenderer() },
  rank: 40,
  dataType: 'json',
};
