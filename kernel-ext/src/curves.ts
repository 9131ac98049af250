/**
 * Hyperparameter curves in the style of the MHIM paper's Figure 6, from a results table whose rows
 * are settings such as "βh = 0.03": one panel per metric, the settings' values evenly spaced in value
 * order on x (so 0, 0.01 and 0.4 share one readable axis), mean ± sd as a line with error bars.
 * Rows without a value (e.g. "AB-MIL baseline") become dashed reference lines. A static
 * figure (PNG in notebooks) and text: a curve has no milkit MIME type, so it looks the same everywhere.
 */
import {
  type ChartSeries,
  type ResultsInput,
  resultsView,
  MUTED,
  OKABE_ITO,
  type StaticView,
  chartRow,
  esc,
  fmt,
  lineChart,
  metricLabel,
  staticFigure,
} from 'milkit/core';

export interface CurvePoint {
  label: string;
  x: number;
  mean: number;
  sd?: number;
  /** The published value for this row and metric, when the table has one. */
  published?: number;
}

export interface CurvePanel {
  metric: string;
  /** The swept setting ("βh"). */
  parameter: string;
  /** Sorted by x. */
  points: CurvePoint[];
  /** Rows without a value, drawn as horizontal lines. */
  references: { label: string; mean: number }[];
}

const NUMBER = /-?\d+(?:\.\d+)?(?:e[-+]?\d+)?/gi;

/**
 * The swept setting of a row label: "βh = 0.03" → { βh, 0.03 }; else the label's last number; undefined without one.
 */
export function settingOf(label: string): { parameter: string; x: number } | undefined {
  const named = /^(.*?)\s*[=:]\s*(-?\d+(?:\.\d+)?(?:e[-+]?\d+)?)/i.exec(label);
  if (named) return { parameter: named[1].trim() || 'setting', x: Number(named[2]) };
  const numbers = [...label.matchAll(NUMBER)];
  const last = numbers[numbers.length - 1];
  if (!last) return undefined;
  const parameter = (label.slice(0, last.index) + label.slice(last.index! + last[0].length))
    .replace(/[\s,;:=]+$/, '')
    .trim();
  return { parameter: parameter || 'setting', x: Number(last[0]) };
}

/**
 * One panel per (swept setting, metric); `metrics` defaults to every column. Unmeasured cells are
 * left out. `published` (row label → metric → value, as in a reproduction file's meta) adds the
 * published value to each point that has one.
 */
export function curvePanels(
  table: ResultsInput,
  metrics?: string[],
  published: Record<string, Record<string, number>> = {},
): CurvePanel[] {
  const view = resultsView(table);
  const wanted = metrics ?? view.columns;
  for (const m of wanted)
    if (!view.columns.includes(m)) throw new Error(`curve: no column "${m}" (columns: ${view.columns.join(', ')})`);
  const parameters = [
    ...new Set(view.rows.map((r) => settingOf(r.label)?.parameter).filter((p): p is string => p !== undefined)),
  ];
  if (parameters.length === 0)
    throw new Error(
      `curve: no row label carries a setting value (e.g. "βh = 0.03"): ${view.rows.map((r) => r.label).join(', ')}`,
    );
  const panels: CurvePanel[] = [];
  for (const parameter of parameters) {
    for (const metric of wanted) {
      const j = view.columns.indexOf(metric);
      const points: CurvePoint[] = [];
      const references: CurvePanel['references'] = [];
      for (const row of view.rows) {
        const cell = row.cells[j];
        if (!cell || !Number.isFinite(cell.mean)) continue;
        const s = settingOf(row.label);
        if (!s) references.push({ label: row.label, mean: cell.mean });
        else if (s.parameter === parameter) {
          const pub = published[row.label]?.[metric];
          points.push({
            label: row.label,
            x: s.x,
            mean: cell.mean,
            ...(cell.sd !== undefined && cell.n !== 1 ? { sd: cell.sd } : {}),
            ...(pub !== undefined ? { published: pub } : {}),
          });
        }
      }
      points.sort((a, b) => a.x - b.x);
      if (points.length) panels.push({ metric, parameter, points, references });
    }
  }
  return panels;
}

/**
 * Rows ↔ columns, published values included: for tables whose settings are the columns (e.g.
 * MNIST-bags: rows = models, columns = "50 bags", "100 bags", ...).
 */
export function transposeResults(
  table: ResultsInput,
  published: Record<string, Record<string, number>> = {},
): { table: ResultsInput; published: Record<string, Record<string, number>> } {
  const view = resultsView(table);
  const rows = view.columns.map((c, j) => ({ label: c, cells: view.rows.map((r) => r.cells[j]) }));
  const flipped: Record<string, Record<string, number>> = {};
  for (const [row, values] of Object.entries(published))
    for (const [col, v] of Object.entries(values)) (flipped[col] ??= {})[row] = v;
  return {
    table: { title: table.title, caption: table.caption, columns: view.rows.map((r) => r.label), rows },
    published: flipped,
  };
}

/** How the panels are drawn: one chart each, or (`combine`) one chart with a line per panel. */
export interface CurveOptions {
  /** One chart with a line per panel (rows of the table, e.g. models) in its own colour. */
  combine?: boolean;
  xLabel?: string;
  yLabel?: string;
}

const LINE_COLOURS = [OKABE_ITO.blue, OKABE_ITO.vermillion, OKABE_ITO.green, OKABE_ITO.purple, OKABE_ITO.sky];

/** Ours (mean ± sd) and the published values of one panel as chart series, x at the settings' positions. */
function panelSeries(p: CurvePanel, xs: number[], colour: string, name: string, published: string): ChartSeries[] {
  const at = (x: number) => xs.indexOf(x);
  const pub = p.points.filter((q) => q.published !== undefined);
  return [
    ...(pub.length
      ? [
          {
            name: published,
            colour: pub.length && colour === OKABE_ITO.blue ? OKABE_ITO.orange : colour,
            x: pub.map((q) => at(q.x)),
            y: pub.map((q) => q.published!),
            dash: '3 2',
            markers: true,
            markerClass: 'milkit-curve-published',
            tips: pub.map((q) => `${q.label}, published: ${fmt(q.published!, 3)}`),
          },
        ]
      : []),
    {
      name,
      colour,
      x: p.points.map((q) => at(q.x)),
      y: p.points.map((q) => q.mean),
      errors: p.points.map((q) => q.sd ?? 0),
      markers: true,
      markerClass: 'milkit-curve-point',
      tips: p.points.map((q) => `${q.label}: ${fmt(q.mean, 3)}${q.sd ? ` ± ${fmt(q.sd, 2)}` : ''}`),
    },
  ];
}

/**
 * The panels as a static view: the settings evenly spaced on x, ours as mean ± sd, the published
 * values as dashed lines with markers, reference rows (no setting) as dashed horizontal lines.
 */
export function renderCurves(panels: CurvePanel[], title?: string, caption?: string, o: CurveOptions = {}): StaticView {
  const xsOf = (ps: CurvePanel[]) => [...new Set(ps.flatMap((p) => p.points.map((q) => q.x)))].sort((a, b) => a - b);
  const axis = (xs: number[]) => ({
    xDomain: [-0.5, xs.length - 0.5] as [number, number],
    xTicks: xs.map((x, i) => ({ value: i, label: fmt(x, 3) })),
  });
  const references = (p: CurvePanel, xs: number[]): ChartSeries[] =>
    p.references.map((r, k) => ({
      name: `${r.label} (${fmt(r.mean, 3)})`,
      colour: [MUTED, OKABE_ITO.purple, OKABE_ITO.sky][k % 3],
      x: [-0.5, xs.length - 0.5],
      y: [r.mean, r.mean],
      dash: '5 3',
      width: 1.2,
    }));
  let charts;
  if (o.combine && panels.length) {
    const xs = xsOf(panels);
    const series = panels.flatMap((p, k) => {
      const colour = LINE_COLOURS[k % LINE_COLOURS.length];
      return panelSeries(p, xs, colour, `${p.metric}, mean ± sd`, `${p.metric}, published`);
    });
    charts = [
      lineChart([...references(panels[0], xs), ...series], {
        width: 360,
        height: 220,
        xLabel: o.xLabel ?? panels[0].parameter,
        yLabel: o.yLabel ?? 'value',
        ...axis(xs),
      }),
    ];
  } else {
    charts = panels.map((p) => {
      const xs = xsOf([p]);
      return lineChart([...references(p, xs), ...panelSeries(p, xs, OKABE_ITO.blue, 'ours, mean ± sd', 'published')], {
        width: 260,
        height: 170,
        title: `${metricLabel(p.metric)} vs ${p.parameter}`,
        xLabel: o.xLabel ?? p.parameter,
        yLabel: o.yLabel ?? metricLabel(p.metric),
        ...axis(xs),
      });
    });
  }
  const figure = staticFigure(
    chartRow(charts, 2, 24),
    `${title ?? 'curves'}: ${panels.map((p) => `${p.metric} vs ${p.parameter}`).join(', ')}`,
    title,
  );
  const lines = panels.map((p) => {
    const best = p.points.reduce((a, b) => (b.mean > a.mean ? b : a));
    const values = p.points
      .map(
        (q) =>
          `${fmt(q.x, 3)} → ${q.mean.toFixed(3)}${q.sd ? ` ± ${q.sd.toFixed(3)}` : ''}` +
          `${q.published !== undefined ? ` (published ${q.published.toFixed(3)})` : ''}`,
      )
      .join(', ');
    const ref = p.references.map((r) => `; ${r.label} ${r.mean.toFixed(3)}`).join('');
    return `${p.metric} vs ${p.parameter}: ${values} (highest at ${p.parameter} = ${fmt(best.x, 3)}${ref})`;
  });
  const cap = caption ? `<div style="margin-top:4px">${esc(caption)}</div>` : '';
  return {
    title,
    figure,
    before: '',
    after: cap,
    text: [title ?? '', ...lines].filter(Boolean).join('\n'),
  };
}
