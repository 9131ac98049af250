/**
 * Run results: per-fold metrics and their summary, written as `results.json` and `results.csv`.
 */
import * as path from 'node:path';
import { meanSd } from '../metrics/util';
import { writeFileAtomic } from '../persist/atomic';
import type { TrainConfig } from './config';
import type { FoldResult } from './fold';
import type { Task } from './targets';

export interface MetricSummary {
  mean: number;
  /** Sample standard deviation (n − 1). */
  sd: number;
  /** Folds with a defined value. */
  n: number;
}

export interface RunResult {
  format: 'milkit-results';
  version: 1;
  createdAt: string;
  model: { name: string; config: Record<string, unknown> };
  data: { path: string; bags: number; dim: number };
  task: Task;
  config: TrainConfig;
  /** The run's fingerprint hash (run.json holds its parts): every fold result in `folds` carries its own. */
  fingerprint?: string;
  folds: FoldResult[];
  /** Every test metric over all completed folds: mean ± sd. */
  summary: Record<string, MetricSummary>;
  /** Mean of each repetition's fold-mean, ± sd across repetitions (the MUSK "5 × 10-fold" convention). */
  repeatSummary?: Record<string, MetricSummary>;
  interrupted: boolean;
}

/** mean ± sd of every metric over the completed folds (and over repetition means when there are several). */
export function summarise(folds: FoldResult[]): {
  summary: Record<string, MetricSummary>;
  repeatSummary?: Record<string, MetricSummary>;
} {
  const done = folds.filter((f) => !f.interrupted);
  const names = [...new Set(done.flatMap((f) => Object.keys(f.metrics)))];
  const summary = Object.fromEntries(names.map((m) => [m, meanSd(done.map((f) => f.metrics[m] ?? NaN))]));
  const repeats = [...new Set(done.map((f) => f.repeat))];
  if (repeats.length < 2) return { summary };
  const repeatSummary = Object.fromEntries(
    names.map((m) => [
      m,
      meanSd(repeats.map((r) => meanSd(done.filter((f) => f.repeat === r).map((f) => f.metrics[m] ?? NaN)).mean)),
    ]),
  );
  return { summary, repeatSummary };
}

const fmt = (v: number | undefined) => (v === undefined || Number.isNaN(v) ? '' : String(v));

/** CSV: one row per fold, then `mean` and `sd` rows. */
export function resultsCsv(r: RunResult): string {
  const metrics = Object.keys(r.summary);
  const lines = [['repeat', 'fold', 'best_epoch', 'epochs_run', ...metrics].join(',')];
  for (const f of r.folds)
    lines.push([f.repeat, f.fold, f.bestEpoch, f.epochsRun, ...metrics.map((m) => fmt(f.metrics[m]))].join(','));
  lines.push(['mean', '', '', '', ...metrics.map((m) => fmt(r.summary[m].mean))].join(','));
  lines.push(['sd', '', '', '', ...metrics.map((m) => fmt(r.summary[m].sd))].join(','));
  return `${lines.join('\n')}\n`;
}

/** JSON with NaN written as null (JSON has no NaN). */
export function resultsJson(r: RunResult): string {
  return JSON.stringify(r, (_, v) => (typeof v === 'number' && !Number.isFinite(v) ? null : v), 2);
}

/** Writes `results.json` and `results.csv` into `dir` (atomically); returns the JSON path. */
export function writeResults(dir: string, r: RunResult): string {
  const json = path.join(dir, 'results.json');
  writeFileAtomic(json, [Buffer.from(resultsJson(r))]);
  writeFileAtomic(path.join(dir, 'results.csv'), [Buffer.from(resultsCsv(r))]);
  return json;
}
