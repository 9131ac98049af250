/**
 * Keeping every measured cell in the SSL result tables. A run over a subset of bag sizes or data
 * sets measures only that subset, but the tables it writes cover the whole protocol: each row comes
 * from the run folder's finished cells or, failing that, from the table already in results/ (when
 * that was measured under the same protocol), so a partial run never erases measured results.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { readReproduction, type ReproductionFile } from '../train/reproduction';
import type { ResultsInput } from '../viz/results';

/** The bag sizes and data sets every standard table covers (issue 5's protocol). */
export const STANDARD_SIZES = [64, 128, 256];
export const STANDARD_DATASETS = ['mnist', 'colon'];

export type TableRow = ResultsInput['rows'][number];

/** One row a table should hold: `cells` when the run folder has them measured. */
export interface PlannedRow {
  /** How the caption names it when nothing is measured, e.g. `colon/random/K64`. */
  id: string;
  label: string;
  cells?: TableRow['cells'];
}

/** Finished cells of a run folder, from their file names `cells/<dataset>-<method>-k<K>.json`. */
export function finishedCells(out: string): { dataset: string; method: string; k: number }[] {
  const dir = path.join(out, 'cells');
  if (!fs.existsSync(dir)) return [];
  return fs.readdirSync(dir).flatMap((name) => {
    const m = /^([a-z0-9]+)-([a-z0-9]+)-k(\d+)\.json$/.exec(name);
    return m ? [{ dataset: m[1], method: m[2], k: Number(m[3]) }] : [];
  });
}

/** The bag sizes a table covers: the union of the lists, ascending. */
export function unionSizes(...lists: number[][]): number[] {
  return [...new Set(lists.flat())].sort((a, b) => a - b);
}

/** Bag sizes named in row labels ("MNIST-bags, K = 128: …"), so a previous table's sizes stay covered. */
export function labelSizes(rows: readonly TableRow[]): number[] {
  return rows.flatMap((r) => {
    const m = /, K = (\d+):/.exec(r.label);
    return m ? [Number(m[1])] : [];
  });
}

/** `<dir>/<name>.json` if it exists. */
export function previousTable(dir: string, name: string): ReproductionFile | undefined {
  const file = path.join(dir, `${name}.json`);
  return fs.existsSync(file) ? readReproduction(file) : undefined;
}

export interface MergedRows {
  rows: TableRow[];
  /** Labels of the rows taken from the previous table. */
  kept: string[];
  /** Ids of planned rows measured nowhere. */
  missing: string[];
}

/**
 * The planned rows in order, each from the run folder's cells or else from `previous` (the same
 * label); previous rows outside the plan are appended, never dropped. `protocol` is the settings part
 * of the protocol text: rows measured under another one cannot share a table with this run's, so
 * when any would have to be kept this throws instead of mixing or erasing them.
 */
export function mergeRows(
  planned: readonly PlannedRow[],
  previous: ReproductionFile | undefined,
  protocol: string,
  file: string,
): MergedRows {
  const fresh = new Set(planned.filter((p) => p.cells).map((p) => p.label));
  const old = (previous?.rows ?? []).filter((r) => !fresh.has(r.label));
  if (old.length && !previous!.meta.protocol.startsWith(protocol)) {
    throw new Error(
      `${file} holds rows measured under other settings that this run does not measure (${old.map((r) => r.label).join('; ')}); ` +
        'write the tables elsewhere (--results), run with the original settings, or delete the file to replace it',
    );
  }
  const byLabel = new Map(old.map((r) => [r.label, r]));
  const rows: TableRow[] = [];
  const kept: string[] = [];
  const missing: string[] = [];
  for (const p of planned) {
    const before = byLabel.get(p.label);
    byLabel.delete(p.label);
    if (p.cells) {
      rows.push({ label: p.label, cells: p.cells });
    } else if (before) {
      rows.push(before);
      kept.push(p.label);
    } else {
      missing.push(p.id);
    }
  }
  for (const r of byLabel.values()) {
    rows.push(r);
    kept.push(r.label);
  }
  return { rows, kept, missing };
}
