/**
 * A small line chart for the static figures (training curves, ROC / precision–recall, βh decay,
 * hyperparameter curves): axis titles with units, nice ticks, light grid, a legend outside the plot
 * area (right) so it never covers data or axis titles. Returns an SVG group and its size, so a
 * figure can place several panels side by side.
 */
import { GRID, INK, MUTED, esc, fmt, textWidth } from './svg';

export interface ChartSeries {
  /** Legend entry; series without a name are not listed (e.g. faint per-fold lines). */
  name?: string;
  colour: string;
  x: number[];
  y: number[];
  width?: number;
  opacity?: number;
  dash?: string;
  /** Draw a dot per point (always for a single point). */
  markers?: boolean;
  /** Hover text per point (SVG <title>). */
  tips?: string[];
  /** Error bar half-widths per point. */
  errors?: number[];
  /** CSS class of the markers (tests and the report find points by it). */
  markerClass?: string;
}

export interface ChartOptions {
  width?: number;
  height?: number;
  title?: string;
  xLabel: string;
  yLabel: string;
  xDomain?: [number, number];
  yDomain?: [number, number];
  /** Custom x ticks (e.g. categorical settings); default: nice numeric ticks. */
  xTicks?: { value: number; label: string }[];
  /** Dashed y = x reference (ROC chance line). */
  diagonal?: boolean;
  /** Extra legend-only entries (e.g. "folds (faint)"). */
  legendExtra?: { name: string; colour: string; dash?: string; width?: number; opacity?: number }[];
  /** false: no legend column (e.g. when a figure draws one shared legend). */
  legend?: boolean;
}

export interface Chart {
  svg: string;
  width: number;
  height: number;
}

/** About `count` round tick values covering [lo, hi]. */
export function niceTicks(lo: number, hi: number, count = 5): number[] {
  if (!(hi > lo)) return [lo];
  const raw = (hi - lo) / count;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * mag).find((s) => (hi - lo) / s <= count) ?? 10 * mag;
  const ticks: number[] = [];
  for (let v = Math.ceil(lo / step - 1e-9) * step; v <= hi + 1e-9 * step; v += step)
    ticks.push(Number(v.toPrecision(12)));
  return ticks;
}

function domainOf(values: number[], pad: number): [number, number] {
  let lo = Infinity;
  let hi = -Infinity;
  for (const v of values) {
    if (!Number.isFinite(v)) continue;
    lo = Math.min(lo, v);
    hi = Math.max(hi, v);
  }
  if (!Number.isFinite(lo)) return [0, 1];
  if (lo === hi) return [lo - 0.5, hi + 0.5];
  const p = (hi - lo) * pad;
  return [lo - p, hi + p];
}

export function lineChart(series: ChartSeries[], o: ChartOptions): Chart {
  const plotW = (o.width ?? 300) - 0;
  const plotH = o.height ?? 190;
  const entries = [
    ...series
      .filter((s) => s.name)
      .map((s) => ({ name: s.name!, colour: s.colour, dash: s.dash, width: s.width, opacity: s.opacity })),
    ...(o.legendExtra ?? []),
  ];
  const legendW =
    o.legend === false || entries.length === 0 ? 0 : 26 + Math.max(...entries.map((e) => textWidth(e.name, 11)));
  const [L, T, B] = [52, o.title ? 22 : 8, 40];
  const width = L + plotW + 12 + legendW;
  const height = T + plotH + B;
  const [x0, x1] =
    o.xDomain ??
    domainOf(
      series.flatMap((s) => s.x),
      0,
    );
  const [y0, y1] =
    o.yDomain ??
    domainOf(
      series.flatMap((s) => s.y.flatMap((y, i) => [y - (s.errors?.[i] ?? 0), y + (s.errors?.[i] ?? 0)])),
      0.06,
    );
  const sx = (x: number) => L + ((x - x0) / (x1 - x0 || 1)) * plotW;
  const sy = (y: number) => T + (1 - (y - y0) / (y1 - y0 || 1)) * plotH;
  const parts: string[] = [];
  const yTicks = niceTicks(y0, y1, 5).filter((v) => v >= y0 - 1e-12 && v <= y1 + 1e-12);
  const xTicks = o.xTicks ?? niceTicks(x0, x1, 5).map((v) => ({ value: v, label: fmt(v, 3) }));
  for (const v of yTicks) {
    const y = sy(v).toFixed(1);
    parts.push(
      `<line x1="${L}" x2="${L + plotW}" y1="${y}" y2="${y}" stroke="${GRID}"/><text x="${L - 5}" ` +
        `y="${(sy(v) + 4).toFixed(1)}" text-anchor="end" font-size="11">${esc(fmt(v, 3))}</text>`,
    );
  }
  for (const t of xTicks) {
    const x = sx(t.value).toFixed(1);
    parts.push(
      `<line x1="${x}" x2="${x}" y1="${T + plotH}" y2="${T + plotH + 4}" stroke="${MUTED}"/><text ` +
        `x="${x}" y="${T + plotH + 16}" text-anchor="middle" font-size="11">${esc(t.label)}</text>`,
    );
  }
  parts.push(`<rect x="${L}" y="${T}" width="${plotW}" height="${plotH}" fill="none" stroke="${MUTED}"/>`);
  if (o.diagonal)
    parts.push(
      `<line x1="${sx(Math.max(x0, y0))}" y1="${sy(Math.max(x0, y0))}" x2="${sx(Math.min(x1, y1))}" ` +
        `y2="${sy(Math.min(x1, y1))}" stroke="${MUTED}" stroke-dasharray="4 3"/>`,
    );
  for (const s of series) {
    const pts = s.x.map((x, i) => `${sx(x).toFixed(1)},${sy(s.y[i]).toFixed(1)}`);
    const style =
      `stroke="${s.colour}" stroke-width="${s.width ?? 1.8}"` +
      (s.opacity !== undefined ? ` stroke-opacity="${s.opacity}"` : '') +
      (s.dash ? ` stroke-dasharray="${s.dash}"` : '');
    if (s.errors)
      s.x.forEach((x, i) => {
        const e = s.errors![i];
        if (e > 0)
          parts.push(
            `<line x1="${sx(x).toFixed(1)}" x2="${sx(x).toFixed(1)}" y1="${sy(s.y[i] - e).toFixed(1)}" ` +
              `y2="${sy(s.y[i] + e).toFixed(1)}" stroke="${s.colour}" stroke-width="1.2"/>`,
          );
      });
    if (pts.length > 1) parts.push(`<polyline fill="none" ${style} points="${pts.join(' ')}"/>`);
    if (s.markers || pts.length === 1)
      s.x.forEach((x, i) =>
        parts.push(
          `<circle${s.markerClass ? ` class="${s.markerClass}"` : ''} ` +
            `cx="${sx(x).toFixed(1)}" cy="${sy(s.y[i]).toFixed(1)}" r="3" fill="${s.colour}"` +
            `${s.opacity !== undefined ? ` fill-opacity="${s.opacity}"` : ''}>` +
            `${s.tips?.[i] ? `<title>${esc(s.tips[i])}</title>` : ''}</circle>`,
        ),
      );
  }
  parts.push(
    `<text x="${L + plotW / 2}" y="${T + plotH + 33}" text-anchor="middle" font-size="12">${esc(o.xLabel)}</text>`,
    `<text transform="translate(13 ${T + plotH / 2}) rotate(-90)" ` +
      `text-anchor="middle" font-size="12">${esc(o.yLabel)}</text>`,
  );
  if (o.title) parts.push(`<text x="${L}" y="14" font-weight="bold" font-size="12">${esc(o.title)}</text>`);
  if (legendW) {
    const lx = L + plotW + 12;
    entries.forEach((e, k) => {
      const y = T + 8 + 16 * k;
      parts.push(
        `<line x1="${lx}" x2="${lx + 18}" y1="${y}" y2="${y}" stroke="${e.colour}` +
          `" stroke-width="${e.width ?? 2}"${e.opacity !== undefined ? ` stroke-opacity="${e.opacity}"` : ''}` +
          `${e.dash ? ` stroke-dasharray="${e.dash}"` : ''}/>`,
        `<text x="${lx + 23}" y="${y + 4}" font-size="11">${esc(e.name)}</text>`,
      );
    });
  }
  return { svg: `<g class="milkit-chart" fill="${INK}">${parts.join('')}</g>`, width, height };
}

/** Charts side by side (wrapping after `perRow`), as one group with its size. */
export function chartRow(charts: Chart[], perRow = 3, gap = 16): Chart {
  let x = 0;
  let y = 0;
  let rowH = 0;
  let width = 0;
  const parts: string[] = [];
  charts.forEach((c, i) => {
    if (i > 0 && i % perRow === 0) {
      y += rowH + gap;
      x = 0;
      rowH = 0;
    }
    parts.push(`<g transform="translate(${x} ${y})">${c.svg}</g>`);
    x += c.width + gap;
    width = Math.max(width, x - gap);
    rowH = Math.max(rowH, c.height);
  });
  return { svg: parts.join(''), width, height: y + rowH };
}
