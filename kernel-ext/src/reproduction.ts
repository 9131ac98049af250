/**
 * Committed reproduction tables (`results/<name>.json`, written by milkit's `writeReproduction` in
 * the reproduce commands) as notebook outputs: our numbers with the published ones beside them,
 * the protocol and the command that regenerates the table. A file that is not there yet becomes a
 * visible "not measured yet: run <command>" line instead of an error, so a notebook runs before
 * every experiment has finished and picks each file up once it is committed.
 */
import * as fs from 'node:fs';
import type { ReproductionFile } from 'milkit';
import {
  type ResultCell,
  type ResultsInput,
  type StaticView,
  esc,
  resultsView,
  staticFigure,
  textWidth,
  wrapText,
} from 'milkit/core';

export type LoadedReproduction =
  | { status: 'measured'; path: string; file: ReproductionFile }
  | { status: 'missing'; path: string }
  | { status: 'invalid'; path: string; error: string };

/** Reads and checks one results file; never throws (a notebook shows what went wrong instead). */
export function loadReproduction(file: string): LoadedReproduction {
  if (!fs.existsSync(file)) return { status: 'missing', path: file };
  try {
    const r = JSON.parse(fs.readFileSync(file, 'utf8')) as ReproductionFile;
    if (r?.format !== 'milkit-reproduction')
      throw new Error(`not a milkit reproduction file (format ${JSON.stringify(r?.format)})`);
    if (r.version !== 1)
      throw new Error(`unsupported version ${JSON.stringify(r.version)} (this milkit-kernel reads version 1)`);
    if (typeof r.meta?.command !== 'string' || typeof r.meta?.protocol !== 'string')
      throw new Error('meta.command and meta.protocol must be strings');
    resultsView(r); // column counts, cell shapes
    return { status: 'measured', path: file, file: r };
  } catch (err) {
    return { status: 'invalid', path: file, error: (err as Error).message };
  }
}

/** The column our published-number column sits beside is called `<column> (published)`. */
export const PUBLISHED_SUFFIX = ' (published)';

/**
 * The file's table with a `<metric> (published)` column right after every metric that has a
 * published value (cells: the published mean; "–" for rows without one). Published rows the file
 * has not measured (yet) are appended with "–" for ours, so no published number goes unshown.
 */
export function withPublished(r: ReproductionFile): ResultsInput {
  const pub = r.meta.published?.values ?? {};
  const hasPub = r.columns.map((c) => Object.values(pub).some((row) => row[c] !== undefined));
  const columns: string[] = [];
  const better: boolean[] = [];
  r.columns.forEach((c, j) => {
    columns.push(c);
    better.push(r.higherIsBetter?.[j] ?? true);
    if (hasPub[j]) {
      columns.push(c + PUBLISHED_SUFFIX);
      better.push(r.higherIsBetter?.[j] ?? true);
    }
  });
  const rows = r.rows.map((row) => {
    const cells: (ResultCell | ArrayLike<number> | null | undefined)[] = [];
    row.cells.forEach((cell, j) => {
      cells.push(cell);
      const p = pub[row.label]?.[r.columns[j]];
      if (hasPub[j]) cells.push(p === undefined ? null : { mean: p });
    });
    return { label: row.label, cells };
  });
  const measured = new Set(r.rows.map((row) => row.label));
  for (const [label, values] of Object.entries(pub)) {
    if (measured.has(label)) continue;
    rows.push({
      label,
      cells: r.columns.flatMap((c, j) =>
        hasPub[j] ? [null, values[c] === undefined ? null : { mean: values[c] }] : [null],
      ),
    });
  }
  return { title: r.title ?? r.name, columns, rows, higherIsBetter: better, caption: reproductionCaption(r) };
}

/** One paragraph: the file's own caption, protocol, command, published source and when/where it was measured. */
export function reproductionCaption(r: ReproductionFile): string {
  const m = r.meta;
  const took = m.seconds === undefined ? '' : `, ${(m.seconds / 60).toFixed(1)} min`;
  return [
    r.caption ?? '',
    `Protocol: ${m.protocol}`,
    m.published ? `Published: ${m.published.source}.` : 'No published numbers for this table.',
    `Regenerate: ${m.command}`,
    `Measured ${m.date} at ${m.commit ?? 'an uncommitted tree'} ` +
      `on ${m.machine}${m.backend ? ` (${m.backend})` : ''}${took}.`,
  ]
    .filter(Boolean)
    .join(' · ');
}

/** The notice's orange bar. */
const NOTICE = '#f58518';

/**
 * A notice (e.g. a results file that is missing or unreadable) with the command to run: HTML, text
 * and, for viewers that show images only, the same words drawn as a figure.
 */
export function renderNotice(title: string, message: string, command?: string): StaticView {
  const cmd = command ? ` <code style="background:rgba(128,128,128,0.15);padding:0 3px">${esc(command)}</code>` : '';
  const body =
    `<div style="border-left:4px solid ${NOTICE};padding:4px ` +
    `8px;background:rgba(245,133,24,0.08)">${esc(message)}${cmd}</div>`;
  const text = `${title}: ${message}${command ? ` ${command}` : ''}`;
  const lines = wrapText(`${message}${command ? ` ${command}` : ''}`, 560, 12);
  const height = 8 + 17 * lines.length;
  const svg =
    `<rect width="4" height="${height}" fill="${NOTICE}"/>` +
    lines.map((l, k) => `<text x="12" y="${17 + 17 * k}">${esc(l)}</text>`).join('');
  const width = 12 + Math.max(...lines.map((l) => textWidth(l, 12)));
  const figure = staticFigure({ svg, width, height }, text, title);
  return { title, figure, htmlShowsFigure: true, before: body, after: '', text };
}
