/**
 * One table for a sweep: per cohort × configuration (cohorts of one name pooled: repetitions of one
 * data set), every test metric as mean ± sample sd over its finished units (folds × seeds), with a
 * percentile bootstrap interval of that mean (units resampled with replacement, seeded: the same
 * results give the same interval). Written as JSON, CSV and Markdown to `SWEEP_DIR/results/`, with
 * the sweep's HTML report (the run report's sections per configuration). A partial sweep is
 * collected too, and says what is missing.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { bootstrap } from '../metrics/bootstrap';
import { meanSd } from '../metrics/util';
import { readRun, severalCohorts, sweepReportHtml, sweepRowKey } from '../report';
import type { RunResult } from '../train/results';
import { type SweepFolder, type TrainManifest, type Unit, toJson, writeTextAtomic } from './folder';
import { cohortsOf } from './plan';
import { type UnitState, sweepStatus } from './status';
import type { UnitResult } from './trainUnit';

export interface MetricCell {
  mean: number;
  sd: number;
  /** Units with a defined value. */
  n: number;
  /** Bootstrap percentile interval of the mean over units. */
  lower: number;
  upper: number;
}

export interface ConfigRow {
  config: string;
  /** The cohort name (entries of the plan's `cohorts` with this name). */
  cohort: string;
  label: string;
  model: { name: string; config: Record<string, unknown> };
  done: number;
  total: number;
  metrics: Record<string, MetricCell>;
}

export interface SweepTable {
  format: 'milkit-sweep-table';
  name: string;
  dir: string;
  metrics: string[];
  rows: ConfigRow[];
  complete: boolean;
  /** Units without a result, with their state. */
  missing: { id: string; state: UnitState; detail?: string }[];
  interval: { level: number; resamples: number; seed: number; over: 'units (folds × seeds)' };
}

const ORDER = ['auc', 'accuracy', 'balancedAccuracy', 'f1', 'precision', 'recall', 'kappa', 'cIndex', 'loss'];
const rank = (m: string) => (ORDER.includes(m) ? ORDER.indexOf(m) : ORDER.length - 1);

/** The train sweep's manifest; an embed sweep gets a clear error (its collect writes a cohort). */
export function trainManifest(folder: SweepFolder): TrainManifest {
  const m = folder.manifest();
  if (m.kind !== 'train')
    throw new Error(
      `${folder.dir} is an embed sweep: it has no metrics table (milkit sweep collect writes its cohort)`,
    );
  return m;
}

export function collectSweep(folder: SweepFolder, opts: { level?: number; resamples?: number } = {}): SweepTable {
  const manifest = trainManifest(folder);
  const status = sweepStatus(folder);
  const level = opts.level ?? 0.95;
  const resamples = opts.resamples ?? 1000;
  const results = manifest.units
    .filter((u) => fs.existsSync(folder.resultPath(u)))
    .map(
      (u) => JSON.parse(fs.readFileSync(folder.resultPath(u), 'utf8'), (_, v) => (v === null ? NaN : v)) as UnitResult,
    );
  const metrics = [...new Set(results.flatMap((r) => Object.keys(r.metrics)))].sort(
    (a, b) => rank(a) - rank(b) || a.localeCompare(b),
  );
  const plan = manifest.plan;
  const rows = plan.configs.flatMap((c) =>
    [...new Set(cohortsOf(plan, c).map((k) => k.name))].map((name): ConfigRow => {
      const inCohort = (u: Unit) => u.config === c.id && plan.cohorts[u.cohort].name === name;
      const mine = results.filter((r) => inCohort(r.unit));
      const cells: Record<string, MetricCell> = {};
      for (const m of metrics) {
        const values = mine.map((r) => r.metrics[m] ?? NaN).filter((v) => Number.isFinite(v));
        const { mean, sd, n } = meanSd(values);
        const ci =
          n > 0
            ? bootstrap(n, (ix) => ix.reduce((s, i) => s + values[i], 0) / ix.length, { resamples, level, seed: 0 })
            : { lower: NaN, upper: NaN };
        cells[m] = { mean, sd, n, lower: ci.lower, upper: ci.upper };
      }
      return {
        config: c.id,
        cohort: name,
        label: c.label,
        model: c.model,
        done: mine.length,
        total: manifest.units.filter(inCohort).length,
        metrics: cells,
      };
    }),
  );
  const missing = status.units
    .filter((u) => u.state !== 'done')
    .map((u) => ({ id: u.id, state: u.state, ...(u.detail ? { detail: u.detail } : {}) }));
  return {
    format: 'milkit-sweep-table',
    name: manifest.plan.name,
    dir: folder.dir,
    metrics,
    rows,
    complete: missing.length === 0,
    missing,
    interval: { level, resamples, seed: 0, over: 'units (folds × seeds)' },
  };
}

const f4 = (v: number) => (Number.isFinite(v) ? v.toFixed(4) : '');

/** CSV: one row per configuration; mean, sd, n, lower, upper per metric. */
export function tableCsv(t: SweepTable): string {
  const quote = (s: string) => (/[",\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s);
  const head = ['config', 'cohort', 'label', 'done', 'total'];
  for (const m of t.metrics) head.push(`${m}_mean`, `${m}_sd`, `${m}_n`, `${m}_lower`, `${m}_upper`);
  const lines = [head.join(',')];
  for (const r of t.rows) {
    const row = [r.config, quote(r.cohort), quote(r.label), String(r.done), String(r.total)];
    for (const m of t.metrics) {
      const c = r.metrics[m];
      row.push(...[c.mean, c.sd].map((v) => (Number.isFinite(v) ? String(v) : '')), String(c.n));
      row.push(...[c.lower, c.upper].map((v) => (Number.isFinite(v) ? String(v) : '')));
    }
    lines.push(row.join(','));
  }
  return `${lines.join('\n')}\n`;
}

/** The metrics a Markdown table shows (JSON and CSV hold every metric). */
const HEADLINE = ['auc', 'accuracy', 'balancedAccuracy', 'f1', 'cIndex'];

/** Markdown: `mean ± sd [lower, upper]` per headline metric, then what is missing. */
export function tableMarkdown(t: SweepTable): string {
  const shown = t.metrics.filter((m) => HEADLINE.includes(m));
  const pct = Math.round(t.interval.level * 100);
  const cohorts = severalCohorts(t);
  const lines = [
    `| ${cohorts ? 'cohort | ' : ''}config | units | ${shown.join(' | ')} |`,
    `| ${cohorts ? '--- | ' : ''}--- | --- | ${shown.map(() => '---').join(' | ')} |`,
    ...t.rows.map(
      (r) =>
        `| ${cohorts ? `${r.cohort} | ` : ''}${r.label.replace(/\|/g, '\\|')} | ${r.done}/${r.total} | ${shown
          .map((m) => {
            const c = r.metrics[m];
            return c.n ? `${f4(c.mean)} ± ${f4(c.sd)} [${f4(c.lower)}, ${f4(c.upper)}]` : '';
          })
          .join(' | ')} |`,
    ),
    '',
    `mean ± sd over folds × seeds; [${pct} % bootstrap interval ` +
      `of the mean, ${t.interval.resamples} resamples of the units]`,
  ];
  if (!t.complete)
    lines.push(
      '',
      `**Partial sweep**: ${t.missing.length} unit(s) without a result: ${t.missing
        .slice(0, 20)
        .map((m) => `${m.id} (${m.state})`)
        .join(', ')}${t.missing.length > 20 ? ', ...' : ''}`,
    );
  return `${lines.join('\n')}\n`;
}

/** Per row (`sweepRowKey`): the run results of its finished units (each unit's trainer folder). */
export function unitRuns(folder: SweepFolder): Record<string, RunResult[]> {
  const manifest = trainManifest(folder);
  const runs: Record<string, RunResult[]> = {};
  for (const u of manifest.units) {
    const dir = path.join(folder.unitDir(u), 'train');
    if (!fs.existsSync(folder.resultPath(u)) || !fs.existsSync(path.join(dir, 'results.json'))) continue;
    (runs[sweepRowKey({ cohort: manifest.plan.cohorts[u.cohort].name, config: u.config })] ??= []).push(readRun(dir));
  }
  return runs;
}

/** Writes results/summary.{json,csv,md} and results/report.html; returns their paths. */
export function writeTable(folder: SweepFolder, t: SweepTable): string[] {
  const dir = path.join(folder.dir, 'results');
  const files = ['summary.json', 'summary.csv', 'summary.md', 'report.html'].map((f) => path.join(dir, f));
  writeTextAtomic(files[0], `${toJson(t)}\n`);
  writeTextAtomic(files[1], tableCsv(t));
  writeTextAtomic(files[2], tableMarkdown(t));
  writeTextAtomic(files[3], sweepReportHtml({ table: t, runs: unitRuns(folder) }));
  return files;
}
