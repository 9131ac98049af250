/**
 * Results: the cross-validation table (mean ± sd, best per column in bold) and, when it compares
 * several rows, a grouped bar chart with sd error bars (hover: mean ± sd and n; a legend click
 * toggles a row). One row (e.g. one model's summary) is the table alone: a chart of two numbers
 * says nothing the table does not.
 */
import Plotly from 'plotly.js-dist-min';
import { type ResultsPayload, formatCell } from 'milkit/core';
import { el } from './dom.js';
import { plotText } from './format.js';
import { VizRenderer } from './renderer.js';
import { baseLayout, themeColors } from './theme.js';

export class ResultsRenderer extends VizRenderer<'results'> {
  constructor() {
    super('results');
  }

  protected async render(p: ResultsPayload): Promise<void> {
    await renderResults(this.node, p);
  }
}

/** Also used by the training view for its final summary. */
export async function renderResults(host: HTMLElement, p: ResultsPayload): Promise<void> {
  if (p.title) host.append(el('div', 'milkit-title', p.title));
  host.append(resultsTable(p));
  const measured = p.rows.filter((r) => r.cells.some((c) => c !== null)).length;
  if (measured < 2) return;
  const plot = el('div', 'milkit-plot milkit-results-plot');
  host.append(plot);
  const traces = p.rows.map((r) => ({
    type: 'bar',
    name: plotText(r.label),
    x: p.columns.map(plotText),
    y: r.cells.map((c) => c?.mean ?? null),
    error_y: { type: 'data', array: r.cells.map((c) => c?.sd ?? 0), visible: true },
    customdata: r.cells.map((c) => [formatCell(c), c?.n ?? '']),
    hovertemplate: '%{fullData.name}<br>%{x}: %{customdata[0]}<br>n = %{customdata[1]}<extra></extra>',
  }));
  const colors = themeColors(host);
  await Plotly.react(
    plot,
    traces,
    {
      ...baseLayout(colors),
      barmode: 'group',
      height: 320,
      yaxis: { gridcolor: colors.grid, title: { text: 'mean ± sd' } },
      legend: { orientation: 'v', x: 1.02, xanchor: 'left', y: 1 },
    },
    { responsive: true, displaylogo: false },
  );
}

function resultsTable(p: ResultsPayload): HTMLTableElement {
  const table = el('table', 'milkit-results-table');
  const head = el('tr');
  head.append(el('th', undefined, ''), ...p.columns.map((c) => el('th', undefined, c)));
  table.append(el('thead'), el('tbody'));
  table.tHead!.append(head);
  const best = p.columns.map((_, j) => {
    const means = p.rows.map((r) => r.cells[j]?.mean).filter((m): m is number => m !== undefined);
    if (means.length < 2) return undefined;
    return (p.higherIsBetter?.[j] ?? true) ? Math.max(...means) : Math.min(...means);
  });
  for (const r of p.rows) {
    const tr = el('tr');
    tr.append(el('th', undefined, r.label));
    r.cells.forEach((c, j) => {
      const td = el('td', c && c.mean === best[j] ? 'milkit-best' : undefined, formatCell(c));
      if (c?.values) td.title = `per fold: ${c.values.join(', ')}`;
      tr.append(td);
    });
    table.tBodies[0].append(tr);
  }
  if (p.caption) table.createCaption().textContent = p.caption;
  return table;
}
