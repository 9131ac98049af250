/**
 * The static results table: one row per model or setting, the best value of each column in bold,
 * drawn as an SVG chart for the PNG while the HTML keeps the table itself (numbers stay copyable).
 */
import { type ResultsPayload, formatCell } from '../results';
import type { Chart } from './chart';
import { INK, MUTED, esc, table, textWidth } from './svg';
import { type StaticView, staticFigure } from './views';

/** The table's cells: header, formatted rows, and the best cell of each column ("row,column"). */
function tableCells(p: ResultsPayload): { head: string[]; rows: string[][]; best: Set<string> } {
  const best = new Set<string>();
  p.columns.forEach((_, j) => {
    const higher = p.higherIsBetter?.[j] ?? true;
    let bi = -1;
    p.rows.forEach((r, i) => {
      const c = r.cells[j];
      if (
        c &&
        Number.isFinite(c.mean) &&
        (bi < 0 || (higher ? c.mean > p.rows[bi].cells[j]!.mean : c.mean < p.rows[bi].cells[j]!.mean))
      )
        bi = i;
    });
    if (bi >= 0 && p.rows.length > 1) best.add(`${bi},${j + 1}`);
  });
  const rows = p.rows.map((r) => [r.label, ...r.cells.map((c) => formatCell(c))]);
  return { head: ['', ...p.columns], rows, best };
}

/** The table drawn as a chart, titled when the payload has a title: for figures that hold a table. */
export function resultsChart(p: ResultsPayload): Chart {
  const { head, rows, best } = tableCells(p);
  const chart = tableChart(head, rows, best, p.caption);
  if (!p.title) return chart;
  return {
    svg:
      `<text y="13" font-size="13" font-weight="bold">${esc(p.title)}</text>` +
      `<g transform="translate(0 22)">${chart.svg}</g>`,
    width: Math.max(chart.width, textWidth(p.title, 13)),
    height: chart.height + 22,
  };
}

export function renderResults(p: ResultsPayload): StaticView {
  const { head, rows, best } = tableCells(p);
  const caption = p.caption ? `<div style="margin-top:4px;color:${INK};opacity:0.8">${esc(p.caption)}</div>` : '';
  const figure = staticFigure(
    tableChart(head, rows, best, p.caption),
    `table${p.title ? ` ${p.title}` : ''}: ${p.rows.length} rows (${p.rows.map((r) => r.label).join(', ')}) ` +
      `× ${p.columns.length} columns (${p.columns.join(', ')}), mean ± sd`,
    p.title,
  );
  const widths = [0, ...p.columns.map((_, j) => j + 1)].map((j) =>
    Math.max(...[j === 0 ? '' : p.columns[j - 1], ...rows.map((r) => r[j])].map((s) => s.length)),
  );
  const line = (cells: string[]) =>
    cells
      .map((c, j) => c.padEnd(widths[j]))
      .join('  ')
      .trimEnd();
  const text = [p.title ?? '', line(['', ...p.columns]), ...rows.map(line), p.caption ?? ''].filter(Boolean).join('\n');
  return {
    title: p.title,
    figure,
    htmlShowsFigure: true,
    before: '',
    after: table(head, rows, { boldCells: best }) + caption,
    text,
  };
}

/** Width of table text in DejaVu Sans: digits and ± are wider than textWidth's average letter. */
const cellWidth = (s: string, bold: boolean) => textWidth(s, 12) * (bold ? 1.16 : 1.07);

/** Words of `text` in lines of at most `width` pixels at `size`. */
export function wrapText(text: string, width: number, size = 11): string[] {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(/\s+/).filter(Boolean)) {
    const next = line ? `${line} ${word}` : word;
    if (line && textWidth(next, size) > width) {
      lines.push(line);
      line = word;
    } else line = next;
  }
  if (line) lines.push(line);
  return lines;
}

/**
 * A results table drawn as a figure (the PNG of a table for viewers that show images only): a rule
 * under the header, the best value per column in bold (`best` holds "row,column" keys, columns
 * counted from the label column), the caption wrapped below.
 */
function tableChart(head: string[], rows: string[][], best: Set<string>, caption?: string): Chart {
  const rowH = 20;
  const pad = 16;
  const widths = head.map((h, j) =>
    Math.max(cellWidth(h, true), ...rows.map((r, i) => cellWidth(r[j], best.has(`${i},${j}`)))),
  );
  const xs = widths.map((_, j) => widths.slice(0, j).reduce((a, w) => a + w + pad, 0));
  const tableW = xs[xs.length - 1] + widths[widths.length - 1];
  const cell = (s: string, j: number, y: number, bold: boolean) =>
    s ? `<text x="${xs[j].toFixed(1)}" y="${y}"${bold ? ' font-weight="bold"' : ''}>${esc(s)}</text>` : '';
  const parts = [
    ...head.map((h, j) => cell(h, j, 14, true)),
    `<line x1="0" x2="${tableW.toFixed(1)}" y1="${rowH + 0.5}" y2="${rowH + 0.5}" stroke="${MUTED}"/>`,
    ...rows.flatMap((r, i) => r.map((c, j) => cell(c, j, rowH * (i + 2) - 4, best.has(`${i},${j}`)))),
  ];
  let height = rowH * (rows.length + 1) + 4;
  let width = tableW;
  if (caption) {
    const lines = wrapText(caption, Math.max(tableW, 420));
    const texts = lines.map((l, k) => `<text y="${height + 14 + 15 * k}">${esc(l)}</text>`);
    parts.push(`<g font-size="11" fill="${MUTED}">${texts.join('')}</g>`);
    width = Math.max(width, ...lines.map((l) => textWidth(l, 11)));
    height += 8 + 15 * lines.length;
  }
  return { svg: parts.join(''), width, height };
}
