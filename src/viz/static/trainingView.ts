/**
 * The static training view: loss and metric curves per split (folds faint, their mean bold), the
 * progress line and, once the run ends, its results table; as SVG for the PNG and the report.
 */
import { type TrainingPayload, type TrainingProgress, type TrainingSeries, foldMeans } from '../training';
import { type Chart, type ChartSeries, chartRow, lineChart } from './chart';
import { renderResults, resultsChart } from './resultsView';
import { MUTED, OKABE_ITO, esc, fmt, textWidth } from './svg';
import { type StaticView, staticFigure, staticHtml } from './views';

/** Okabe–Ito colour per split. */
export const SPLIT_COLOURS = { train: OKABE_ITO.blue, val: OKABE_ITO.orange, test: OKABE_ITO.green } as const;

/** Axis title of a metric. */
export function metricLabel(metric: string): string {
  const names: Record<string, string> = {
    auc: 'AUC',
    accuracy: 'accuracy',
    balancedAccuracy: 'balanced accuracy',
    f1: 'F1',
    cIndex: 'C-index',
    loss: 'loss',
  };
  return names[metric] ?? metric;
}

export function progressLine(pr: TrainingProgress, done = false): string {
  const parts = [
    pr.folds ? `fold ${(pr.fold ?? 0) + 1}/${pr.folds}` : '',
    `epoch ${pr.epoch}/${pr.epochs}`,
    pr.steps && !done ? `${pr.step ?? 0}/${pr.steps} bags` : '',
    pr.rate ? `${fmt(pr.rate, 3)} bags/s` : '',
    `${duration(pr.elapsedSeconds)} elapsed`,
    pr.etaSeconds !== undefined && !done ? `ETA ${duration(pr.etaSeconds)}` : '',
    pr.message && !(done && pr.message === 'done') ? pr.message : '',
  ];
  return parts.filter(Boolean).join(' · ');
}

export function duration(s: number): string {
  if (s < 60) return `${s.toFixed(1)} s`;
  const m = Math.floor(s / 60);
  return m < 60 ? `${m} min ${String(Math.round(s % 60)).padStart(2, '0')} s` : `${Math.floor(m / 60)} h ${m % 60} min`;
}

/** One panel per metric: each split in its colour, folds as faint lines, their mean bold. */
export function trainingPanels(series: readonly TrainingSeries[], metrics?: string[], legend = true): Chart[] {
  const names = metrics ?? [...new Set(series.map((s) => s.metric))];
  const folds = new Set(series.map((s) => s.fold).filter((f) => f !== undefined)).size;
  const splits = (['train', 'val', 'test'] as const).filter((sp) => series.some((s) => s.split === sp));
  const shared = [
    ...splits.map((sp) => ({
      name: `${sp}${folds > 1 ? `, mean of ${folds} folds` : ''}`,
      colour: SPLIT_COLOURS[sp],
      width: 2.4,
    })),
    ...(folds > 1 ? [{ name: 'one fold', colour: MUTED, width: 1, opacity: 0.5 }] : []),
  ];
  // One epoch axis for every panel (a test metric drawn once, at the last epoch, sits at its end).
  const xs = series.flatMap((s) => s.x);
  const xDomain: [number, number] = [Math.min(1, ...xs), Math.max(2, ...xs)];
  return names.map((metric, k) => {
    const own = series.filter((s) => s.metric === metric && s.x.length > 0);
    const ys = own.flatMap((s) => s.y);
    const [lo, hi] = [Math.min(...ys), Math.max(...ys)];
    const pad = Math.max((hi - lo) * 0.08, 0.02);
    // Scores bounded by [0, 1] (AUC, accuracy, F1, ...) never get an axis beyond them.
    const bounded = !/loss/i.test(metric) && lo >= 0 && hi <= 1;
    const yDomain: [number, number] = bounded ? [Math.max(0, lo - pad), Math.min(1, hi + pad)] : [lo - pad, hi + pad];
    const faint: ChartSeries[] =
      folds > 1 ? own.map((s) => ({ colour: SPLIT_COLOURS[s.split], x: s.x, y: s.y, width: 1, opacity: 0.3 })) : [];
    const means = foldMeans(own).map((s) => ({
      colour: SPLIT_COLOURS[s.split],
      x: s.x,
      y: s.y,
      width: 2.4,
    }));
    const last = k === names.length - 1;
    return lineChart([...faint, ...means], {
      width: 230,
      height: 150,
      xDomain,
      yDomain,
      xLabel: 'epoch',
      yLabel: metricLabel(metric),
      legend: legend && last,
      legendExtra: last ? shared : [],
    });
  });
}

export function renderTraining(p: TrainingPayload): StaticView {
  const title = p.title ?? 'Training';
  const progress = p.progress ? progressLine(p.progress, p.done) : '';
  const status = p.done ? 'finished' : 'training…';
  const summary = p.summary ? renderResults(p.summary) : undefined;
  const panels = trainingPanels(p.series);
  // Before the first point there are no curves yet; the figure then says where training stands,
  // so an image-only viewer still shows the output.
  const waiting = `${status}${progress ? ` · ${progress}` : ''} · no curve points yet`;
  // A finished run's summary table goes into the figure too: an image-only viewer (GitHub, an
  // untrusted notebook) shows the PNG alone and would otherwise lose the run's numbers.
  const withSummary = (body: Chart) => (p.summary ? chartRow([body, resultsChart(p.summary)], 1, 24) : body);
  const summaryAlt = p.summary ? `, then the summary table${p.summary.title ? ` ${p.summary.title}` : ''}` : '';
  const fig = panels.length
    ? staticFigure(
        withSummary(chartRow(panels, 4, 16)),
        `training curves of ${title}: ${[...new Set(p.series.map((s) => s.metric))].join(', ')} by epoch` + summaryAlt,
        title,
      )
    : staticFigure(
        withSummary({
          svg: `<text y="14" fill="${MUTED}">${esc(waiting)}</text>`,
          width: textWidth(waiting, 12),
          height: 20,
        }),
        `${title}: ${waiting}${summaryAlt}`,
        title,
      );
  const before = `<div>${esc(status)}${progress ? ` · ${esc(progress)}` : ''}</div>`;
  const after = summary ? staticHtml(summary) : '';
  // The text line reports the latest fold only (a 5 × 10-fold run would otherwise print 50 of each).
  const lastFold = Math.max(-1, ...p.series.map((s) => s.fold ?? -1));
  const last = p.series
    .filter((s) => (s.fold ?? -1) === lastFold)
    .map(
      (s) =>
        `${s.fold !== undefined ? `fold ${s.fold + 1} ` : ''}` +
        `${s.split} ${s.metric} ${fmt(s.y[s.y.length - 1] ?? NaN, 4)}`,
    );
  const text = [
    `${title}: ${status}${progress ? ` · ${progress}` : ''}`,
    last.length ? `last: ${last.join(', ')}` : '',
    summary?.text ?? '',
  ]
    .filter(Boolean)
    .join('\n');
  return { title, figure: fig, before, after, text };
}
