/**
 * String builders for the static figures: self-contained SVG/HTML with inline attributes only, no
 * scripts, no external resources and no element ids (two outputs on one page, e.g. two notebooks
 * open side by side, can never capture each other's references). Figures are drawn on white with
 * dark text, so they read the same on a light or dark page and after rasterising to PNG.
 */

export function esc(s: string | number): string {
  return String(s).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** Font stack: DejaVu Sans is what the kernel's PNG rasteriser ships; browsers fall back to their sans-serif. */
export const FONT = 'DejaVu Sans, Verdana, sans-serif';
/** Text and axes colours on the white figure background (ink 16:1, muted 7:1 contrast). */
export const INK = '#1a1a1a';
export const MUTED = '#555555';
export const GRID = '#e3e3e3';

/** Okabe–Ito colours (distinguishable with every common colour-vision deficiency). */
export const OKABE_ITO = {
  blue: '#0072B2',
  orange: '#E69F00',
  green: '#009E73',
  vermillion: '#D55E00',
  purple: '#CC79A7',
  sky: '#56B4E9',
  yellow: '#F0E442',
  black: '#000000',
} as const;

/** Viridis (perceptually uniform, colour-blind safe), 10 anchors. */
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

/** viridis as [r, g, b] bytes (the canvas renderer's lookup table). */
export function viridisRgb(t: number, levels = 256): [number, number, number] {
  const h = viridis(t, levels);
  return [1, 3, 5].map((k) => parseInt(h.slice(k, k + 2), 16)) as [number, number, number];
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

/**
 * Where each instance sits on a cell grid: patch coordinates divided by the patch step, or instance order wrapped into
 * rows.
 */
export interface CellGrid {
  col: Int32Array;
  row: Int32Array;
  cols: number;
  rows: number;
  /** True when cells follow instance order (the bag has no coordinates). */
  ordered: boolean;
}

export function cellGrid(n: number, coords?: ArrayLike<number>, patchSize = 1, wrap = 32): CellGrid {
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

/** Pixels per cell of a grid drawn at most `maxPx` on its longer side. */
export function cellSize(g: Pick<CellGrid, 'cols' | 'rows' | 'ordered'>, maxPx = 420): number {
  return Math.max(0.5, Math.min(g.ordered ? 28 : 16, maxPx / Math.max(g.cols, g.rows)));
}

/** Outline colour of known positive instances (vermillion, ≥ 3:1 against every viridis colour's neighbours). */
export const POSITIVE_OUTLINE = '#e8175d';

/**
 * An SVG group of grid cells at (x, y), one `<path>` per fill colour (compact: ~15 bytes per cell),
 * drawn in cell units and scaled by `cell` pixels. `fill(i)` returns the cell's colour or null to
 * leave it out; `outline` marks cells with a contrasting border (e.g. known positives).
 */
export function gridGroup(
  g: CellGrid,
  fill: (i: number) => string | null,
  opts: { x?: number; y?: number; cell: number; outline?: (i: number) => boolean; labels?: boolean; title?: string },
): string {
  const n = g.col.length;
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
    if (d.length)
      parts.push(
        `<path fill="none" stroke="${POSITIVE_OUTLINE}" ` +
          `stroke-width="${Math.max(0.16, 1.6 / opts.cell)}" d="${d.join('')}"/>`,
      );
  }
  if (opts.labels && g.ordered && opts.cell >= 14) {
    for (let i = 0; i < n; i++) {
      parts.push(
        `<text x="${g.col[i] + 0.5}" y="${g.row[i] + 0.68}" font-size="0.42" text-anchor="middle" ` +
          `fill="#fff" stroke="#000" stroke-width="0.04" paint-order="stroke">${i}</text>`,
      );
    }
  }
  const title = opts.title ? `<title>${esc(opts.title)}</title>` : '';
  const w = g.cols * opts.cell;
  const h = g.rows * opts.cell;
  return (
    `<g transform="translate(${opts.x ?? 0} ${opts.y ?? 0})">${title}<rect ` +
    `width="${w.toFixed(1)}" height="${h.toFixed(1)}" fill="#f4f4f4"/>` +
    `<g transform="scale(${opts.cell})" shape-rendering="crispEdges">${parts.join('')}</g></g>`
  );
}

/** A horizontal colour bar (32 steps, no gradient ids) with end labels, at (x, y). */
export function colourBarGroup(x: number, y: number, width: number, low: string, high: string, caption = ''): string {
  const steps = 32;
  const w = width / steps;
  const rects = Array.from(
    { length: steps },
    (_, k) =>
      `<rect x="${(k * w).toFixed(2)}" width="${(w + 0.3).toFixed(2)}" ` +
      `height="10" fill="${viridis(k / (steps - 1), 256)}"/>`,
  ).join('');
  return (
    `<g transform="translate(${x} ${y})" font-size="11" fill="${INK}">${rects}` +
    `<text y="23">${esc(low)}</text><text x="${width}" y="23" text-anchor="end">${esc(high)}</text>` +
    (caption ? `<text x="${width / 2}" y="23" text-anchor="middle" fill="${MUTED}">${esc(caption)}</text>` : '') +
    `</g>`
  );
}

/** A whole SVG document: white background, the figure font, given size. */
export function svgDoc(width: number, height: number, body: string, title?: string): string {
  return (
    `<svg xmlns="http://www.w3.org/2000/svg" width="${Math.ceil(width)}" height="${Math.ceil(height)}" ` +
    (`viewBox="0 0 ${Math.ceil(width)} ${Math.ceil(height)}` +
      `" font-family="${FONT}" font-size="12" fill="${INK}">`) +
    (title ? `<title>${esc(title)}</title>` : '') +
    `<rect width="100%" height="100%" fill="#ffffff"/>${body}</svg>`
  );
}

/** Legend swatch + label (HTML). */
export function swatch(colour: string, label: string): string {
  return (
    `<span style="display:inline-block;margin-right:12px"><span ` +
    `style="display:inline-block;width:11px;height:11px;background:${colour}` +
    `;margin-right:4px;vertical-align:-1px;border:1px solid #888"></span>${esc(label)}</span>`
  );
}

/** Outer box every static view shares. */
export function frame(title: string | undefined, body: string): string {
  const head = title ? `<div style="font-weight:600;margin-bottom:4px">${esc(title)}</div>` : '';
  return (
    `<div class="milkit-fallback" ` +
    `style="font-family:sans-serif;font-size:13px;line-height:1.4">${head}${body}</div>`
  );
}

/** A compact HTML table. */
export function table(head: string[], rows: string[][], opts: { boldCells?: Set<string> } = {}): string {
  const th = head
    .map((h) => `<th style="text-align:left;padding:2px 8px;border-bottom:1px solid #999">${esc(h)}</th>`)
    .join('');
  const body = rows
    .map(
      (r, i) =>
        `<tr>${r
          .map((c, j) => {
            const bold = opts.boldCells?.has(`${i},${j}`) ? 'font-weight:700' : '';
            return `<td style="padding:2px 8px;${bold}">${esc(c)}</td>`;
          })
          .join('')}</tr>`,
    )
    .join('');
  return (
    `<table ` +
    `style="border-collapse:collapse;margin-top:6px"><thead><tr>${th}</tr></thead><tbody>${body}</tbody></table>`
  );
}

export function fmt(x: number, digits = 4): string {
  if (!Number.isFinite(x)) return String(x);
  return Math.abs(x) >= 1e-3 || x === 0 ? Number(x.toPrecision(digits)).toString() : x.toExponential(digits - 1);
}

/** Approximate width of `text` in DejaVu Sans at `size` px (average advance ≈ 0.6 em): for layout, not typesetting. */
export function textWidth(text: string, size = 12): number {
  return text.length * size * 0.6;
}
