/**
 * The shared renderer shell: reads the bundle (JSON object or, from tslab's display.raw, a JSON
 * string), validates it with milkit's own schema reader, and either draws the view or shows the
 * reason in the cell (unknown version, bad field) instead of leaving it blank.
 */
import type { IRenderMime } from '@jupyterlab/rendermime-interfaces';
import { Widget } from '@lumino/widgets';
import Plotly from 'plotly.js-dist-min';
import { VIZ_MIME, type VizKind, type VizPayloads, parseViz } from 'milkit/core';
import { el } from './dom.js';
import { watchTheme } from './theme.js';

export abstract class VizRenderer<K extends VizKind> extends Widget implements IRenderMime.IRenderer {
  private payload?: VizPayloads[K];
  private readonly themeObserver: MutationObserver;
  private readonly sizeObserver: ResizeObserver;

  constructor(readonly kind: K) {
    super();
    this.addClass('milkit-viz');
    this.addClass(`milkit-${kind}`);
    // Theme switches change the CSS variables the plots read their colours from.
    this.themeObserver = watchTheme(() => this.payload && void this.draw(this.payload));
    // Plotly sizes a plot once, from its div at draw time. JupyterLab renders outputs before they
    // are attached (zero width: plotly falls back to 700 px) and cells change width later; an
    // oversized plot spills over the top list. Refit every plot whose div width differs from it
    // (a refit rejects while the cell is hidden; the next size change retries).
    this.sizeObserver = new ResizeObserver((entries) => {
      for (const { target, contentRect } of entries) {
        const plot = target as HTMLElement & { _fullLayout?: { width: number } };
        const width = Math.round(contentRect.width);
        if (width > 0 && plot._fullLayout && Math.abs(plot._fullLayout.width - width) > 1)
          void Plotly.Plots.resize(plot)?.catch(() => {});
      }
    });
  }

  async renderModel(model: IRenderMime.IMimeModel): Promise<void> {
    const t0 = performance.now();
    try {
      this.payload = parseViz(this.kind, model.data[VIZ_MIME[this.kind]]);
    } catch (err) {
      this.payload = undefined;
      this.showError(err);
      return;
    }
    await this.draw(this.payload);
    // Time to the first complete picture (payload check + draw), read by the performance test.
    this.node.dataset.renderMs = (performance.now() - t0).toFixed(1);
  }

  private async draw(payload: VizPayloads[K]): Promise<void> {
    this.sizeObserver.disconnect();
    this.node.replaceChildren();
    try {
      await this.render(payload);
    } catch (err) {
      this.showError(err);
    }
    this.node.querySelectorAll('.js-plotly-plot').forEach((plot) => this.sizeObserver.observe(plot));
  }

  /** Draws a validated payload into `this.node` (which is empty). */
  protected abstract render(payload: VizPayloads[K]): Promise<void> | void;

  private showError(err: unknown): void {
    const box = el('div', 'milkit-error');
    box.append(
      el('strong', undefined, 'milkit: cannot show this output. '),
      el('span', undefined, (err as Error)?.message ?? String(err)),
    );
    this.node.replaceChildren(box);
  }

  override dispose(): void {
    this.themeObserver.disconnect();
    this.sizeObserver.disconnect();
    super.dispose();
  }
}
