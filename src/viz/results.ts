/**
 * Results view: tables like the paper's (rows = methods or settings, columns = metrics or data
 * sets, cells = mean ± sd over folds/repeats, optionally with the per-fold values).
 */
import { meanSd } from '../metrics/util';
import { VIZ_VERSIONS, VizSchemaError, roundSig } from './schema';

export interface ResultCell {
  mean: number;
  sd?: number;
  /** Number of values behind mean ± sd. */
  n?: number;
  /** The per-fold (or per-repeat) values, when kept. */
  values?: number[];
}

export interface ResultsRow {
  label: string;
  /** One cell per column; null = not measured. */
  cells: (ResultCell | null)[];
}

export interface ResultsPayload {
  version: 1;
  kind: 'results';
  title?: string;
  columns: string[];
  rows: ResultsRow[];
  /** Whether larger is better per column (for highlighting the best row); default true. */
  higherIsBetter?: boolean[];
  caption?: string;
}

export interface ResultsInput {
  title?: string;
  caption?: string;
  columns: string[];
  /** Each row: label and, per column, either raw values (mean ± sd computed here) or a ready cell. */
  rows: { label: string; cells: (ResultCell | ArrayLike<number> | null | undefined)[] }[];
  higherIsBetter?: boolean[];
}

/** Builds a results table; raw value arrays become mean ± sample sd (n − 1) with the values kept. */
export function resultsView(input: ResultsInput): ResultsPayload {
  const cols = input.columns.length;
  if (cols === 0) throw new VizSchemaError('results', 'a table needs at least one column', 'columns');
  if (input.higherIsBetter && input.higherIsBetter.length !== cols) {
    throw new VizSchemaError('results', `${input.higherIsBetter.length} entries for ${cols} columns`, 'higherIsBetter');
  }
  const rows = input.rows.map((row) => {
    if (row.cells.length !== cols)
      throw new VizSchemaError(
        'results',
        `row "${row.label}" has ${row.cells.length} cells for ${cols} columns`,
        'rows',
      );
    return { label: row.label, cells: row.cells.map((c) => toCell(c, row.label)) };
  });
  const payload: ResultsPayload = {
    version: VIZ_VERSIONS.results[VIZ_VERSIONS.results.length - 1] as 1,
    kind: 'results',
    columns: [...input.columns],
    rows,
  };
  if (input.title) payload.title = input.title;
  if (input.caption) payload.caption = input.caption;
  if (input.higherIsBetter) payload.higherIsBetter = [...input.higherIsBetter];
  return payload;
}

function toCell(c: ResultCell | ArrayLike<number> | null | undefined, row: string): ResultCell | null {
  if (c === null || c === undefined) return null;
  if (typeof (c as ResultCell).mean === 'number') {
    const cell = c as ResultCell;
    const out: ResultCell = { mean: roundSig(cell.mean) };
    if (cell.sd !== undefined) out.sd = roundSig(cell.sd);
    if (cell.n !== undefined) out.n = cell.n;
    if (cell.values) out.values = cell.values.map((v) => roundSig(v));
    return out;
  }
  const values = Array.from(c as ArrayLike<number>);
  if (values.length === 0) throw new VizSchemaError('results', `row "${row}" has an empty list of values`, 'rows');
  const { mean, sd, n } = meanSd(values); // non-finite values (e.g. AUC of a one-class fold) are left out
  const out: ResultCell = { mean: roundSig(mean), n, values: values.map((v) => roundSig(v)) };
  if (n > 1) out.sd = roundSig(sd);
  return out;
}

/** "0.892 ± 0.041" (digits after the point). */
export function formatCell(c: ResultCell | null, digits = 3): string {
  if (!c) return '–';
  // One value (a single fold or run) has no spread worth printing.
  return c.sd === undefined || c.n === 1
    ? c.mean.toFixed(digits)
    : `${c.mean.toFixed(digits)} ± ${c.sd.toFixed(digits)}`;
}
