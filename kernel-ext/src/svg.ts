/**
 * Small string builders for the static fallbacks: self-contained SVG/HTML with inline styles only,
 * no scripts and no external resources, so a saved notebook looks right in any viewer.
 */

export function esc(s: string | number): string {
  return String(s).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** Viridis (perceptually uniform, colour-blind safe, readable on light and dark backgrounds). */
const VIRIDIS = [
  '#440154',
  '#482878',
  '#3e4989',
  '#31688e',
  '#26828e',
  '#1f9e89',
  '#35b779',
  '#6ece58',
  '#b5de2b',
  '#fde725',
];

/** Colour of t ∈ [0, 1] on viridis, quantised to `levels` steps (so cells can share one path per colour). */
export function viridis(t: number, levels = 16): string {
  const q = Math.round(Math.min(1, Math.max(0, t)) * (levels - 1)) / (levels - 1);
  const x = q * (VIRIDIS.length - 1);
  const i = Math.min(VIRIDIS.length - 2, Math.floor(x));
  return mix(VIRIDIS[i], VIRIDIS[i + 1], x - i);
}

function mix(a: string, b: string, t: number): string {
  const ch = (h: string, k: number) => parseInt(h.slice(1 + 2 * k, 3 + 2 * k), 16);
  const out = [0, 1, 2].map((k) =>
    Math.round(ch(a, k) + (ch(b, k) - ch(a, k)) * t)
      .toString(16)
      .padStart(2, '0'),
  );
  return `#${out.join('')}`;
}

/** Where each instance sits on a cell grid: patch coordinates divided by the patch step, or instance order wrapped into rows. */
export interface CellGrid {
  col: Int32Array;
  row: Int32Array;
  cols: number;
  rows: number;
  /** True when cells follow instance order (the bag has no coordinates). */
  ordered: boolean;
}

export function cellGrid(n: number, coords?: number[], patchSize = 1, wrap = 32): CellGrid {
  const col = new Int32Array(n);
  const row = new Int32Array(n);
  if (!coords) {
    const cols = Math.min(n, wrap);
    for (let i = 0; i < n; i++) {
      col[i] = i % cols;
      row[i] = Math.floor(i / cols);
    }
    return { col, row, cols, rows: Math.ceil(n / cols), ordered: true };
  }
  let minX = Infinity;
  let minY = Infinity;
  for (let i = 0; i < n; i++) {
    minX = Math.min(minX, coords[2 * i]);
    minY = Math.min(minY, coords[2 * i + 1]);
  }
  let cols = 1;
  let rows = 1;
  for (let i = 0; i < n; i++) {
    col[i] = Math.round((coords[2 * i] - minX) / patchSize);
    row[i] = Math.round((coords[2 * i + 1] - minY) / patchSize);
    cols = Math.max(cols, col[i] + 1);
    rows = Math.max(rows, row[i] + 1);
  }
  return { col, row, cols, rows, ordered: false };
}

/**
 * An SVG of grid cells, one `<path>` per fill colour (compact: ~15 bytes per cell), drawn in cell
 * units and scaled to at most `maxPx` on the longer side. `fill(i)` returns the cell's colour or
 * null to leave it out; `outline` marks cells with a contrasting border (e.g. known positives).
 */
export function gridSvg(
  g: CellGrid,
  fill: (i: number) => string | null,
  opts: { maxPx?: number; outline?: (i: number) => boolean; labels?: boolean; title?: string } = {},
): string {
  const n = g.col.length;
  const maxPx = opts.maxPx ?? 420;
  const cell = Math.max(1, Math.min(g.ordered ? 28 : 16, maxPx / Math.max(g.cols, g.rows)));
  const w = Math.round(g.cols * cell);
  const h = Math.round(g.rows * cell);
  const paths = new Map<string, string[]>();
  for (let i = 0; i < n; i++) {
    const c = fill(i);
    if (c === null) continue;
    let list = paths.get(c);
    if (!list) paths.set(c, (list = []));
    list.push(`M${g.col[i]} ${g.row[i]}h1v1h-1z`);
  }
  const parts = [...paths].map(([c, d]) => `<path fill="${c}" d="${d.join('')}"/>`);
  if (opts.outline) {
    const d: string[] = [];
    for (let i = 0; i < n; i++) if (opts.outline(i)) d.push(`M${g.col[i] + 0.08} ${g.row[i] + 0.08}h0.84v0.84h-0.84z`);
    if (d.length) parts.push(`<path fill="none" stroke="#e8175d" stroke-width="0.16" d="${d.join('')}"/>`);
  }
  if (opts.labels && g.ordered && cell >= 14) {
    for (let i = 0; i < n; i++) {
      parts.push(
        `<text x="${g.col[i] + 0.5}" y="${g.row[i] + 0.68}" font-size="0.42" text-anchor="middle" fill="#fff" stroke="#000" stroke-width="0.04" paint-order="stroke">${i}</text>`,
      );
    }
  }
  const title = opts.title ? `<title>${esc(opts.title)}</title>` : '';
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${w}" height="${h}" viewBox="0 0 ${g.cols} ${g.rows}" shape-rendering="crispEdges" style="background:#f4f4f4">${title}${parts.join('')}</svg>`;
}

/** A horizontal colour bar with end labels. */
export function colourBar(lo: string, hi: string, width = 180): string {
  const stops = Array.from(
    { length: 11 },
    (_, k) => `<stop offset="${k / 10}" stop-color="${viridis(k / 10, 256)}"/>`,
  ).join('');
  return (
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width + 90}" height="22" font-family="sans-serif" font-size="11">` +
    `<defs><linearGradient id="milkit-cbar" x1="0" x2="1" y1="0" y2="0">${stops}</linearGradient></defs>` +
    `<text x="0" y="15" fill="currentColor">${esc(lo)}</text><rect x="40" y="4" width="${width}" height="12" fill="url(#milkit-cbar)"/>` +
    `<text x="${width + 46}" y="15" fill="currentColor">${esc(hi)}</text></svg>`
  );
}

/** Legend swatch + label. */
export function swatch(colour: string, label: string): string {
  return `<span style="display:inline-block;margin-right:12px"><span style="display:inline-block;width:11px;height:11px;background:${colour};margin-right:4px;vertical-align:-1px;border:1px solid #888"></span>${esc(label)}</span>`;
}

/** Outer box every fallback shares. */
export function frame(title: string | undefined, body: string): string {
  const head = title ? `<div style="font-weight:600;margin-bottom:4px">${esc(title)}</div>` : '';
  return `<div class="milkit-fallback" style="font-family:sans-serif;font-size:12px;line-height:1.4">${head}${body}</div>`;
}

/** A compact HTML table. */
export function table(head: string[], rows: string[][], opts: { boldCells?: Set<string> } = {}): string {
  const th = head
    .map((h) => `<th style="text-align:left;padding:2px 8px;border-bottom:1px solid #999">${esc(h)}</th>`)
    .join('');
  const body = rows
    .map(
      (r, i) =>
        `<tr>${r.map((c, j) => `<td style="padding:2px 8px;${opts.boldCells?.has(`${i},${j}`) ? 'font-weight:700' : ''}">${esc(c)}</td>`).join('')}</tr>`,
    )
    .join('');
  return `<table style="border-collapse:collapse;margin-top:6px">${`<thead><tr>${th}</tr></thead>`}<tbody>${body}</tbody></table>`;
}

export function fmt(x: number, digits = 4): string {
  if (!Number.isFinite(x)) return String(x);
  return Math.abs(x) >= 1e-3 || x === 0 ? Number(x.toPrecision(digits)).toString() : x.toExponential(digits - 1);
}
