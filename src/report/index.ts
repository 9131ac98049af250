/**
 * `milkit report`: one self-contained HTML file per training run (summary with confidence
 * intervals, per-fold curves, ROC and precision–recall, confusion matrices, the top bags' heatmaps).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { writeFileAtomic } from '../persist/atomic';
import { type ReportData, readRun, summariseRun } from './collect';
import { topBagHeatmaps } from './heatmaps';
import { reportHtml } from './page';

export { type ReportData, readRun, summariseRun } from './collect';
export { reportHtml } from './page';
export { type SweepReportInput, severalCohorts, sweepReportHtml, sweepRowKey } from './sweep';

export interface RunReportOptions {
  /** Heatmaps of this many top bags (0: none, no model is loaded). */
  heatmaps?: number;
}

/** Builds the report of `runDir` and writes it to `out` (atomically); returns what it shows. */
export async function writeRunReport(runDir: string, out: string, opts: RunReportOptions = {}): Promise<ReportData> {
  const run = readRun(runDir);
  const base = summariseRun(runDir, run);
  const count = opts.heatmaps ?? 4;
  const top =
    count > 0 ? await topBagHeatmaps(runDir, run, base.predictions, count) : { heatmaps: [], note: 'not requested' };
  const data: ReportData = { ...base, heatmaps: top.heatmaps, ...(top.note ? { heatmapNote: top.note } : {}) };
  fs.mkdirSync(path.dirname(path.resolve(out)), { recursive: true });
  writeFileAtomic(out, [Buffer.from(reportHtml(data))]);
  return data;
}
