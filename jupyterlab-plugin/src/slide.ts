/**
 * The slide view (`application/vnd.milkit.slide+json`, from milkit-kernel's showSlideHeatmap):
 * patch scores over the slide's thumbnail on canvases (heatmap.ts: wheel zooms, drag pans,
 * double-click resets), one per score map side by side (two models' attention), zoomed and panned
 * together, under one colour scale; an opacity slider, the scale, a threshold, hover for a patch's
 * position and scores, and each map's top patches at full resolution (embedded by the kernel when
 * the cell ran, so a saved notebook keeps them). Clicking any patch shows it large: a top patch
 * from the output, any other one fetched from the notebook's running kernel (kernel.ts).
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
  scaleScoreMaps,
  viridisRgb,
} from 'milkit/core';
import { el, slider, suppressShortcuts } from './dom.js';
import { HeatmapCanvas } from './heatmap.js';
import { fetchPatch } from './kernel.js';
import { slideGrid } from './slideGrid.js';
import { themeColors } from './theme.js';

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
    const grid = slideGrid(p.coords, p.patchSize, p.slide);
    // Side by side, two maps fit a notebook's width at 400 px each.
    const maxPx = p.maps.length === 1 ? 520 : 400;
    const heats = p.maps.map(
      () => new HeatmapCanvas(grid, { outline: colours.outline, hover: colours.font, empty: colours.empty }, maxPx),
    );
    // The thumbnail spans the slide; the grid starts at its origin, `step` level-0 pixels per cell.
    const thumb = await loadImage(p.image.src);
    const under = document.createElement('canvas');
    [under.width, under.height] = [heats[0].canvas.width, heats[0].canvas.height];
    const k = heats[0].cell / grid.step;
    under
      .getContext('2d')!
      .drawImage(thumb, -grid.origin[0] * k, -grid.origin[1] * k, p.slide.width * k, p.slide.height * k);
    for (const heat of heats) {
      // For tests and screen readers of the pixels: level-0 pixels per cell and the grid's corner.
      heat.canvas.dataset.step = String(grid.step);
      heat.canvas.dataset.origin = grid.origin.join(',');
      heat.setUnderlay(under);
      heat.opacity = p.opacity;
      // Zoom and pan one map, the others follow: the same tissue stays side by side.
      heat.onView = (view) => heats.forEach((other) => other !== heat && other.setView(view));
    }

    const header = el('div', 'milkit-header');
    const mpp = p.slide.mpp ? `, ${p.slide.mpp} µm/px` : '';
    const n = p.coords.length / 2;
    const names = p.maps.map((m) => m.name).filter(Boolean);
    header.append(
      el('span', 'milkit-title', p.title ?? `${p.scoreName} over ${p.slideId}`),
      el(
        'span',
        'milkit-meta',
        `${n} patches of ${p.patchSize} px · slide ${p.slide.width} × ${p.slide.height} px${mpp}` +
          (names.length > 1 ? ` · ${names.join(' | ')}` : ''),
      ),
    );
    const bar = el('div', 'milkit-colourbar');
    const [low, high] = [el('span', 'milkit-colourbar-low'), el('span', 'milkit-colourbar-high')];
    const ramp = el('canvas', 'milkit-colourbar-ramp');
    [ramp.width, ramp.height] = [256, 1];
    const rampPx = new ImageData(256, 1);
    for (let x = 0; x < 256; x++) rampPx.data.set([...viridisRgb(x / 255), 255], 4 * x);
    ramp.getContext('2d')!.putImageData(rampPx, 0, 0);
    bar.append(el('span', 'milkit-colourbar-name', p.scoreName), low, ramp, high);

    let scale: HeatScale = p.scale;
    const recolour = () => {
      const scaled = scaleScoreMaps(
        p.maps.map((m) => m.scores),
        scale,
      );
      low.textContent = scaled.low;
      high.textContent = scaled.high;
      heats.forEach((heat, m) => heat.setScores(scaled.t[m]));
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
      slider('hide below', 'milkit-slider-threshold', 0, 1, 0.01, 0, (v) => heats.forEach((h) => h.setThreshold(v)))
        .wrap,
      slider('opacity', 'milkit-slider-opacity', 0, 1, 0.05, p.opacity, (v) => heats.forEach((h) => h.setOpacity(v)))
        .wrap,
    );
    controls.title =
      'hide below: patches whose colour position (0 = lowest, 1 = highest) is under the value are not drawn';

    // Patch images: the top patches from the output, and those fetched from the kernel since.
    const images = new Map<number, { src: string; size: number }>();
    for (const m of p.maps) for (const q of m.patches) images.set(q.index, q);
    const fetching = new Map<number, Promise<string>>();
    const scoresOf = (i: number) =>
      p.maps.map((m) => `${m.name ? `${m.name} ` : ''}${formatScore(m.scores[i])}`).join(' · ');
    const where = (i: number) =>
      `patch ${i} at (${p.coords[2 * i]}, ${p.coords[2 * i + 1]}) · ${p.scoreName} ${scoresOf(i)}`;
    const detail = el('figure', 'milkit-slide-detail');
    const showImage = (i: number, q: { src: string; size: number }) => {
      const img = el('img', 'milkit-slide-patch');
      img.src = q.src;
      img.alt = where(i);
      [img.width, img.height] = [q.size, q.size];
      return img;
    };
    const caption = (text: string, state: string) => {
      detail.append(el('figcaption', undefined, text));
      detail.dataset.state = state;
    };
    const showPatch = (i: number) => {
      heats.forEach((h) => h.setHover(i));
      detail.replaceChildren();
      detail.dataset.patch = String(i);
      const q = images.get(i);
      if (q) {
        detail.append(showImage(i, q));
        return caption(where(i), 'shown');
      }
      if (!p.source)
        return caption(
          `${where(i)} · this output carries the top patches only (re-run its cell to fetch others)`,
          'unavailable',
        );
      caption(`${where(i)} · fetching from the notebook's kernel…`, 'fetching');
      const size = p.patchSize;
      let request = fetching.get(i);
      if (!request) {
        request = fetchPatch(this.node, {
          source: p.source,
          x: p.coords[2 * i],
          y: p.coords[2 * i + 1],
          size,
          width: p.slide.width,
          height: p.slide.height,
        });
        fetching.set(i, request);
      }
      request.then(
        (src) => {
          images.set(i, { src, size: Math.min(256, size) });
          if (detail.dataset.patch === String(i)) showPatch(i);
        },
        (err: Error) => {
          fetching.delete(i); // a later click retries (the kernel may have been started since)
          if (detail.dataset.patch !== String(i)) return;
          detail.replaceChildren();
          caption(`${where(i)} · ${err.message}`, 'failed');
        },
      );
    };
    const side = el('div', 'milkit-slide-side');
    p.maps.forEach((m, k) => {
      const list = el('ol', 'milkit-toplist milkit-slide-top');
      list.dataset.map = String(k);
      list.append(
        el('li', 'milkit-toplist-head', `${m.name ? `${m.name}: ` : ''}top ${m.patches.length} by ${p.scoreName}`),
      );
      for (const q of m.patches) {
        const item = suppressShortcuts(el('li', 'milkit-toplist-item'));
        item.tabIndex = 0;
        const img = el('img');
        img.src = q.src;
        img.alt = where(q.index);
        [img.width, img.height] = [48, 48];
        item.append(img, el('span', undefined, ` ${formatScore(m.scores[q.index])}`));
        item.addEventListener('click', () => showPatch(q.index));
        item.addEventListener('keydown', (e) => e.key === 'Enter' && showPatch(q.index));
        list.append(item);
      }
      side.append(list);
    });
    side.append(detail);

    const tip = el('div', 'milkit-hover');
    const mapsRow = el('div', 'milkit-slide-maps');
    heats.forEach((heat, m) => {
      const at = (e: MouseEvent) => {
        const r = heat.canvas.getBoundingClientRect();
        return heat.instanceAt(e.clientX - r.left, e.clientY - r.top);
      };
      heat.canvas.addEventListener('mousemove', (e) => {
        const i = at(e);
        heats.forEach((h) => h.setHover(i));
        tip.textContent = i < 0 ? '' : where(i);
      });
      heat.canvas.addEventListener('click', (e) => {
        const i = at(e);
        if (i >= 0) showPatch(i);
      });
      const figure = el('figure', 'milkit-slide-map');
      figure.dataset.map = String(m);
      if (p.maps[m].name) figure.append(el('figcaption', 'milkit-slide-map-name', p.maps[m].name));
      figure.append(heat.canvas);
      mapsRow.append(figure);
    });
    const left = el('div', 'milkit-heatmap');
    left.append(mapsRow, bar, tip);
    const body = el('div', 'milkit-body');
    body.append(left, side);
    // Several maps fill the width: their top lists and the patch go in a row below them.
    this.node.classList.toggle('milkit-slide-multi', p.maps.length > 1);
    this.node.replaceChildren(header, controls, body);
    recolour();
    const first = p.maps[0].patches[0];
    if (first) showPatch(first.index);
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
