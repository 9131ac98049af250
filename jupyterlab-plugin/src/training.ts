/**
 * Training curves: losses on the left, other metrics on the right, one line per metric × split
 * (× fold); hover for values, click a legend entry to toggle it. A progress line shows where the
 * run is, and the final table appears once it is done. Re-rendered in place on every
 * update_display_data while a cell trains.
 */
import Plotly from 'plotly.js-dist-min';
import type { TrainingPayload, TrainingSeries } from 'milkit/core';
import { el } from './dom';
import { plotText, progressLine } from './format';
import { renderResults } from './results';
import { VizRenderer } from './renderer';
import { baseLayout, themeColors } from './theme';

export class TrainingRenderer extends VizRenderer<'training'> {
  constructor() {
    super('training');
  }

  protected async render(p: TrainingPayload): Promise<void> {
    if (p.title) this.node.append(el('div', 'milkit-title', p.title));
    this.node.append(el('div', `milkit-progress${p.done ? ' milkit-done' : ''}`, progressLine(p.progress, p.done)));
    if (p.series.length > 0) {
      const plot = el('div', 'milkit-plot milkit-curves');
      this.node.append(plot);
      const colors = themeColors(this.node);
      const axis = { gridcolor: colors.grid, zeroline: false };
      const layout = {
        ...baseLayout(colors),
        height: 340,
        grid: { rows: 1, columns: 2, pattern: 'independent' },
        xaxis: { ...axis, title: { text: 'epoch' } },
        yaxis: { ...axis, title: { text: 'loss' } },
        xaxis2: { ...axis, title: { text: 'epoch' } },
        yaxis2: { ...axis, title: { text: 'metric' } },
        legend: { orientation: 'h', y: -0.25 },
      };
      await Plotly.react(plot, p.series.map(curve), layout, { responsive: true, displaylogo: false });
    }
    if (p.summary) await renderResults(this.node, p.summary);
  }
}

function curve(s: TrainingSeries) {
  const name = plotText(`${s.split} ${s.metric}${s.fold !== undefined ? ` (fold ${s.fold})` : ''}`);
  const isLoss = /loss/i.test(s.metric);
  return {
    type: 'scatter',
    mode: s.x.length > 1 ? 'lines' : 'markers',
    name,
    x: s.x,
    y: s.y,
    xaxis: isLoss ? 'x' : 'x2',
    yaxis: isLoss ? 'y' : 'y2',
    line: { dash: s.split === 'train' ? 'solid' : 'dot' },
    hovertemplate: `${name}<br>epoch %{x:.2f}: %{y:.4g}<extra></extra>`,
  };
}
