/**
 * The report of a sweep (`milkit sweep collect` writes it as SWEEP_DIR/results/report.html): the
 * sweep's table (mean ± sd over folds × seeds with bootstrap intervals, per configuration) and a
 * comparison chart, then per configuration the run report's own sections drawn from its finished
 * units, as if they were the folds of one run: training curves, ROC and precision–recall,
 * confusion matrices. One page shell and one set of sections for runs and sweeps (page.ts).
 */
import { summarise, type RunResult } from '../train/results';
import type { SweepTable } from '../sweep/collect';
import { lineChart } from '../viz/static/chart';
import { OKABE_ITO, esc, svgDoc } from '../viz/static/svg';
import { metricLabel } from '../viz/static/trainingView';
import { summariseRun } from './collect';
import { confusionRow, curvesSection, reportPage, rocSection } from './page';

export interface SweepReportInput {
  table: SweepTable;
  /** Per row (`sweepRowKey`): its finished units' run results (`units/<id>/train/results.json`). */
  runs: Record<string, RunResult[]>;
}

/** Whether a sweep table's rows span more than one cohort (then its tables show the cohort). */
export const severalCohorts = (t: SweepTable) => new Set(t.rows.map((r) => r.cohort)).size > 1;

/** A sweep table row's key: its cohort and configuration. */
export const sweepRowKey = (r: Pick<SweepTable['rows'][number], 'cohort' | 'config'>) => `${r.cohort}/${r.config}`;

/** How a row is named in the report: its configuration, and its cohort when there are several. */
const rowName = (t: SweepTable, r: SweepTable['rows'][number]) =>
  `${severalCohorts(t) ? `${r.cohort} · ` : ''}${r.config}: ${r.label}`;

const f3 = (v: number) => (Number.isFinite(v) ? v.toFixed(3) : '');
/** Metrics the summary table shows (the JSON and CSV tables hold every metric). */
const HEADLINE = ['auc', 'accuracy', 'balancedAccuracy', 'f1', 'cIndex'];

function summaryTable(t: SweepTable): string {
  const shown = t.metrics.filter((m) => HEADLINE.includes(m));
  const head = `<tr><th>config</th><th>units</th>${shown.map((m) => `<th>${esc(metricLabel(m))}</th>`).join('')}</tr>`;
  const rows = t.rows.map((r) => {
    const cells = shown.map((m) => {
      const c = r.metrics[m];
      if (!c?.n) return '<td></td>';
      return `<td>${f3(c.mean)} ± ${f3(c.sd)}<br><span class="note">[${f3(c.lower)}, ${f3(c.upper)}]</span></td>`;
    });
    return `<tr><th>${esc(rowName(t, r))}</th><td>${r.done}/${r.total}</td>${cells.join('')}</tr>`;
  });
  const pct = Math.round(t.interval.level * 100);
  const missing = t.complete
    ? ''
    : `<p class="note"><b>Partial sweep</b>: ${t.missing.length} unit(s) without a result: ${esc(
        t.missing.map((m) => `${m.id} (${m.state})`).join(', '),
      )}. The rows are over the finished units only.</p>`;
  return (
    `<table class="summary"><thead>${head}</thead><tbody>${rows.join('')}</tbody></table>` +
    (`<p class="note">Test metrics: mean ± sample sd over each configuration's finished ` +
      `units (folds × seeds); [${pct} % percentile bootstrap interval of that ` +
      `mean, ${t.interval.resamples} resamples of the units, seed ${t.interval.seed}].</p>${missing}`)
  );
}

/** The headline metric of every configuration: mean with its bootstrap interval, side by side. */
function comparisonChart(t: SweepTable): string {
  const metric = ['auc', 'cIndex', 'accuracy'].find((m) => t.metrics.includes(m));
  const rows = t.rows.map((r, i) => ({ i, cell: metric ? r.metrics[metric] : undefined })).filter((r) => r.cell?.n);
  if (!metric || rows.length === 0) return '';
  const chart = lineChart(
    [
      ...rows.map(({ i, cell }) => ({ colour: OKABE_ITO.blue, x: [i, i], y: [cell!.lower, cell!.upper], width: 2 })),
      {
        colour: OKABE_ITO.blue,
        x: rows.map((r) => r.i),
        y: rows.map((r) => r.cell!.mean),
        width: 0,
        markers: true,
        tips: rows.map(
          ({ i, cell }) => `${rowName(t, t.rows[i])}: ${f3(cell!.mean)} [${f3(cell!.lower)}, ${f3(cell!.upper)}]`,
        ),
      },
    ],
    {
      width: Math.max(300, 60 * t.rows.length),
      height: 220,
      title: `${metricLabel(metric)} per configuration: mean, ${Math.round(t.interval.level * 100)} % interval`,
      xLabel: 'configuration',
      yLabel: metricLabel(metric),
      xDomain: [-0.5, t.rows.length - 0.5],
      xTicks: t.rows.map((r, i) => ({ value: i, label: severalCohorts(t) ? sweepRowKey(r) : r.config })),
    },
  );
  return (
    `<figure>${svgDoc(chart.width + 16, chart.height + 16, `<g transform="translate(8 8)">${chart.svg}</g>`)}` +
    `</figure>`
  );
}

/** One configuration's units as the folds of one run, so the run report's sections draw them. */
function asOneRun(runs: RunResult[]): RunResult {
  const folds = runs.flatMap((r) => r.folds.filter((f) => !f.interrupted));
  return { ...runs[0], folds, ...summarise(folds), interrupted: false };
}

function configSection(t: SweepTable, row: SweepTable['rows'][number], runs: RunResult[] | undefined): string {
  const head = `<summary><b>${esc(rowName(t, row))}</b> (${row.done}/${row.total} units) <code>${esc(
    `${row.model.name} ${JSON.stringify(row.model.config)}`,
  )}</code></summary>`;
  if (!runs?.length) return `<details>${head}<p>No finished unit yet.</p></details>`;
  const d = { ...summariseRun(t.dir, asOneRun(runs)), heatmaps: [] };
  const seeds = new Set(runs.map((r) => r.config.seed)).size;
  return `<details>${head}
<p class="note">${runs.length} unit(s) over ${seeds} seed(s), drawn as the folds of one run: faint lines are units, \
the bold line their mean; ROC and confusion matrices pool every unit's test bags\
${seeds > 1 ? ' (a bag counts once per seed)' : ''}.</p>
<h3>Training curves per unit</h3>${curvesSection(d)}
<h3>ROC and precision–recall (test bags)</h3>${rocSection(d)}
<h3>Confusion matrix (test bags, pooled over units)</h3>${confusionRow(d)}
</details>`;
}

export function sweepReportHtml({ table: t, runs }: SweepReportInput): string {
  const units = t.rows.reduce((a, r) => a + r.total, 0);
  const done = t.rows.reduce((a, r) => a + r.done, 0);
  const any = Object.values(runs).find((r) => r.length)?.[0];
  return reportPage(
    `milkit sweep report: ${t.name}`,
    [
      ['sweep folder', t.dir],
      ...(any
        ? ([
            ['data', `${any.data.path} (${any.data.bags} bags, ${any.data.dim} features per instance)`],
            ['task', any.task.kind === 'class' ? `${any.task.numClasses}-class classification` : any.task.kind],
          ] as [string, string][])
        : []),
      ['units', `${done} of ${units} finished${t.complete ? '' : ' (partial sweep)'}`],
      ['configurations', String(t.rows.length)],
      ['collected', new Date().toISOString()],
    ],
    [
      ['Summary', summaryTable(t) + comparisonChart(t)],
      [
        'Per configuration',
        `<p class="note">Open a configuration for its curves.</p>` +
          t.rows.map((r) => configSection(t, r, runs[sweepRowKey(r)])).join('\n'),
      ],
    ],
  );
}
