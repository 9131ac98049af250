/**
 * Hyperparameter curves in the style of the MHIM paper's Figure 6, from a results table whose rows
 * are settings such as "βh = 0.03": one panel per metric, the settings' values evenly spaced in value
 * order on x (so 0, 0.01 and 0.4 share one readable axis), mean ± sd as a line with error bars.
 * Rows without a value (e.g. "AB-MIL baseline") become dashed reference lines. Static SVG and text
 * only: a curve has no milkit MIME type, so it looks the same everywhere.
 */
import { type ResultsInput, resultsView } from 'milkit/core';
import { esc, fmt, frame } from './svg';

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

/** The swept setting of a row label: "βh = 0.03" → { βh, 0.03 }; else the label's last number; undefined without one. */
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

const LINE = '#4c78a8';
const REF = '#888';
const PUB = '#f58518';

function panelSvg(p: CurvePanel): string {
  const W = 300;
  const H = 190;
  const L = 44;
  const R = 10;
  const T = 10;
  const B = 34;
  const pubs = p.points.flatMap((q) => (q.published === undefined ? [] : [q.published]));
  const lo = Math.min(...p.points.map((q) => q.mean - (q.sd ?? 0)), ...p.references.map((r) => r.mean), ...pubs);
  const hi = Math.max(...p.points.map((q) => q.mean + (q.sd ?? 0)), ...p.references.map((r) => r.mean), ...pubs);
  const pad = (hi - lo || 0.1) * 0.08;
  const [y0, y1] = [lo - pad, hi + pad];
  const xs = [...new Set(p.points.map((q) => q.x))];
  const sx = (x: number) => L + ((xs.indexOf(x) + 0.5) / xs.length) * (W - L - R);
  const sy = (y: number) => T + (1 - (y - y0) / (y1 - y0)) * (H - T - B);
  const parts: string[] = [
    `<rect x="${L}" y="${T}" width="${W - L - R}" height="${H - T - B}" fill="none" stroke="#aaa"/>`,
  ];
  for (const y of [y0 + pad, (y0 + y1) / 2, y1 - pad]) {
    parts.push(
      `<text x="${L - 3}" y="${(sy(y) + 3).toFixed(1)}" text-anchor="end" fill="currentColor">${esc(fmt(y, 3))}</text>`,
    );
  }
  for (const x of xs)
    parts.push(
      `<text x="${sx(x).toFixed(1)}" y="${H - B + 13}" text-anchor="middle" fill="currentColor">${esc(fmt(x, 3))}</text>`,
    );
  parts.push(
    `<text x="${(L + W - R) / 2}" y="${H - 6}" text-anchor="middle" font-weight="bold" fill="currentColor">${esc(`${p.metric} vs ${p.parameter}`)}</text>`,
  );
  for (const r of p.references) {
    const y = sy(r.mean).toFixed(1);
    parts.push(
      `<line x1="${L}" x2="${W - R}" y1="${y}" y2="${y}" stroke="${REF}" stroke-dasharray="4 3"><title>${esc(`${r.label}: ${fmt(r.mean, 3)}`)}</title></line>`,
    );
  }
  const withPub = p.points.filter((q) => q.published !== undefined);
  if (withPub.length > 1)
    parts.push(
      `<polyline fill="none" stroke="${PUB}" stroke-width="1.2" stroke-dasharray="3 2" points="${withPub.map((q) => `${sx(q.x).toFixed(1)},${sy(q.published!).toFixed(1)}`).join(' ')}"/>`,
    );
  for (const q of withPub) {
    parts.push(
      `<circle class="milkit-curve-published" cx="${sx(q.x).toFixed(1)}" cy="${sy(q.published!).toFixed(1)}" r="3.2" fill="none" stroke="${PUB}" stroke-width="1.5"><title>${esc(`${q.label}, published: ${fmt(q.published!, 3)}`)}</title></circle>`,
    );
  }
  const pts = p.points.map((q) => `${sx(q.x).toFixed(1)},${sy(q.mean).toFixed(1)}`).join(' ');
  if (p.points.length > 1) parts.push(`<polyline fill="none" stroke="${LINE}" stroke-width="1.8" points="${pts}"/>`);
  for (const q of p.points) {
    const cx = sx(q.x).toFixed(1);
    if (q.sd)
      parts.push(
        `<line x1="${cx}" x2="${cx}" y1="${sy(q.mean - q.sd).toFixed(1)}" y2="${sy(q.mean + q.sd).toFixed(1)}" stroke="${LINE}" stroke-width="1"/>`,
      );
    const tip = `${q.label}: ${fmt(q.mean, 3)}${q.sd ? ` ± ${fmt(q.sd, 2)}` : ''}`;
    parts.push(
      `<circle class="milkit-curve-point" cx="${cx}" cy="${sy(q.mean).toFixed(1)}" r="3" fill="${LINE}"><title>${esc(tip)}</title></circle>`,
    );
  }
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" font-family="sans-serif" font-size="10" style="margin-right:12px">${parts.join('')}</svg>`;
}

/** The panels as self-contained HTML (inline SVG) and a text summary (values and the best setting per panel). */
export function renderCurves(panels: CurvePanel[], title?: string, caption?: string): { html: string; text: string } {
  const refs = [...new Set(panels.flatMap((p) => p.references.map((r) => r.label)))];
  const anyPub = panels.some((p) => p.points.some((q) => q.published !== undefined));
  const legend =
    `<span style="color:${LINE}">● ours, mean ± sd</span>` +
    (anyPub ? ` · <span style="color:${PUB}">○ published</span>` : '') +
    (refs.length ? ` · <span style="color:${REF}">- - -</span> ${esc(refs.join(', '))}` : '');
  const cap = caption ? `<div style="margin-top:4px;color:#666">${esc(caption)}</div>` : '';
  const html = frame(title, `<div>${panels.map(panelSvg).join('')}</div><div>${legend}</div>${cap}`);
  const lines = panels.map((p) => {
    const best = p.points.reduce((a, b) => (b.mean > a.mean ? b : a));
    const values = p.points
      .map(
        (q) =>
          `${fmt(q.x, 3)} → ${q.mean.toFixed(3)}${q.sd ? ` ± ${q.sd.toFixed(3)}` : ''}${q.published !== undefined ? ` (published ${q.published.toFixed(3)})` : ''}`,
      )
      .join(', ');
    const ref = p.references.map((r) => `; ${r.label} ${r.mean.toFixed(3)}`).join('');
    return `${p.metric} vs ${p.parameter}: ${values} (highest at ${p.parameter} = ${fmt(best.x, 3)}${ref})`;
  });
  return { html, text: [title ?? '', ...lines].filter(Boolean).join('\n') };
}
