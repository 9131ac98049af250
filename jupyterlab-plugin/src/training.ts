/**
 * Training curves: the loss on the left, one chosen metric on the right (a selector lists the
 * metrics the run recorded). One colour per split (train / validation / test, Okabe–Ito), each
 * fold a faint line, the mean over folds bold; the legend sits right of the plots so it never
 * covers an axis. A progress line shows where the run is, and the final table appears once it is
 * done. Re-rendered in place on every update_display_data while a cell trains.
 */
import Plotly from 'plotly.js-dist-min';
import { SPLIT_COLOURS, type TrainingPayload, type TrainingSeries, foldMeans, metricLabel } from 'milkit/core';
import { el, suppressShortcuts } from './dom.js';
import { plotText, progressLine } from './format.js';
import { renderResults } from './results.js';
import { VizRenderer } from './renderer.js';
import { baseLayout, themeColors } from './theme.js';

export class TrainingRenderer extends VizRenderer<'training'> {
  /** The chosen metric, kept across live updates of the same display. */
  private metric?: string;

  constructor() {
    super('training');
  }

  protected async render(p: TrainingPayload): Promise<void> {
    if (p.title) this.node.append(el('div', 'milkit-title', p.title));
    this.node.append(el('div', `milkit-progress${p.done ? ' milkit-done' : ''}`, progressLine(p.progress, p.done)));
    const others = [...new Set(p.series.map((s) => s.metric))].filter((m) => !/loss/i.test(m));
    if (!this.metric || !others.includes(this.metric)) this.metric = others[0];
    if (p.series.length > 0) {
      const plot = el('div', 'milkit-plot milkit-curves');
      if (others.length > 1) {
        const row = el('label', 'milkit-slider milkit-metric-row');
        const select = suppressShortcuts(el('select', 'milkit-metric'));
        for (const m of others) {
          const o = el('option', undefined, metricLabel(m));
          o.value = m;
          select.append(o);
        }
        select.value = this.metric!;
        select.addEventListener('change', () => {
          this.metric = select.value;
          void draw();
        });
        row.append(el('span', 'milkit-slider-label', 'metric (right panel)'), select);
        this.node.append(row);
      }
      this.node.append(plot);
      const draw = () => drawCurves(plot, p.series, this.metric, themeColors(this.node));
      await draw();
    }
    if (p.summary) await renderResults(this.node, p.summary);
  }
}

function drawCurves(
  plot: HTMLElement,
  series: TrainingSeries[],
  metric: string | undefined,
  colors: ReturnType<typeof themeColors>,
) {
  const shown = series.filter((s) => /loss/i.test(s.metric) || s.metric === metric);
  const folds = new Set(series.map((s) => s.fold).filter((f) => f !== undefined)).size;
  const side = (s: TrainingSeries) =>
    /loss/i.test(s.metric) ? { xaxis: 'x', yaxis: 'y' } : { xaxis: 'x2', yaxis: 'y2' };
  const traces: Record<string, unknown>[] = [];
  const legendSeen = new Set<string>();
  if (folds > 1)
    for (const s of shown) {
      const name = plotText(`${s.split} ${metricLabel(s.metric)}, fold ${(s.fold ?? 0) + 1}`);
      traces.push({
        type: 'scatter',
        mode: s.x.length > 1 ? 'lines' : 'markers',
        x: s.x,
        y: s.y,
        ...side(s),
        name,
        showlegend: false,
        opacity: 0.3,
        line: { color: SPLIT_COLOURS[s.split], width: 1 },
        hovertemplate: `${name}<br>epoch %{x:.2f}: %{y:.4g}<extra></extra>`,
      });
    }
  for (const s of foldMeans(shown)) {
    const legend = `${s.split}${folds > 1 ? `, mean of ${folds} folds` : ''}`;
    const name = plotText(`${s.split} ${metricLabel(s.metric)}${folds > 1 ? ' (mean)' : ''}`);
    traces.push({
      type: 'scatter',
      mode: s.x.length > 1 ? 'lines' : 'markers',
      x: s.x,
      y: s.y,
      ...side(s),
      name: plotText(legend),
      legendgroup: s.split,
      showlegend: !legendSeen.has(s.split),
      line: { color: SPLIT_COLOURS[s.split], width: 2.5 },
      marker: { color: SPLIT_COLOURS[s.split] },
      hovertemplate: `${name}<br>epoch %{x:.2f}: %{y:.4g}<extra></extra>`,
    });
    legendSeen.add(s.split);
  }
  const axis = { gridcolor: colors.grid, zeroline: false };
  const layout = {
    ...baseLayout(colors),
    height: 320,
    grid: { rows: 1, columns: 2, pattern: 'independent' },
    xaxis: { ...axis, title: { text: 'epoch' } },
    yaxis: { ...axis, title: { text: 'loss' } },
    xaxis2: { ...axis, title: { text: 'epoch' } },
    yaxis2: { ...axis, title: { text: metric ? metricLabel(metric) : '' } },
    // Outside, right of both plots: never over data or axis titles.
    legend: { orientation: 'v', x: 1.02, xanchor: 'left', y: 1, yanchor: 'top' },
    margin: { l: 55, r: 10, t: 20, b: 45 },
  };
  return Plotly.react(plot, traces, layout, { responsive: true, displaylogo: false });
}
