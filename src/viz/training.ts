/**
 * Training view: loss/metric curves plus a progress line, rebuilt from the trainer's event stream
 * and re-sent in place (update_display_data) while a cell trains.
 */
import type { TrainEvent } from '../train/events';
import { type ResultsPayload, resultsView } from './results';
import { MAX_CURVE_POINTS, VIZ_VERSIONS, roundSig } from './schema';

export interface TrainingSeries {
  /** Metric name, e.g. "loss", "auc". */
  metric: string;
  split: 'train' | 'val' | 'test';
  /** Cross-validation fold, when the run has folds. */
  fold?: number;
  /** x = epoch (fractional for within-epoch points), y = value; equal lengths. */
  x: number[];
  y: number[];
}

export interface TrainingProgress {
  fold?: number;
  folds?: number;
  epoch: number;
  epochs: number;
  /** Bags done in the current epoch and per epoch. */
  step?: number;
  steps?: number;
  elapsedSeconds: number;
  /** Estimated seconds left, when known. */
  etaSeconds?: number;
  /** Bags per second. */
  rate?: number;
  /** Free text shown after the numbers (e.g. "early stop"). */
  message?: string;
}

export interface TrainingPayload {
  version: 1;
  kind: 'training';
  title?: string;
  series: TrainingSeries[];
  progress?: TrainingProgress;
  done: boolean;
  /** Final table once the run has finished. */
  summary?: ResultsPayload;
}

/** Metrics drawn by default: classification AUC and accuracy, survival C-index. */
export const DEFAULT_CURVE_METRICS: readonly string[] = ['auc', 'accuracy', 'cIndex'];

/** Accumulates curve points and the latest progress; `view()` gives the current payload. */
export class TrainingCurves {
  private readonly series = new Map<string, TrainingSeries>();
  private progress?: TrainingProgress;
  private summary?: ResultsPayload;
  private done = false;
  private run = { folds: 1, epochs: 1, foldIndex: 0, epoch: 0, steps: 0, startMs: 0 };

  /**
   * @param metrics which evaluation metrics of trainer events become curves (loss always does);
   *   the default keeps the headline ones so a classification run draws 3 panels, not 12.
   */
  constructor(
    readonly title?: string,
    readonly metrics: readonly string[] = DEFAULT_CURVE_METRICS,
  ) {}

  /**
   * Folds one trainer event (src/train/events.ts) into the view: evaluation metrics and epoch
   * losses become curve points (one line per fold when the run has several), steps update the
   * progress line, 'run-end' adds the summary table. Trainer epochs are 0-based; the view counts
   * from 1 (x = 1 is the end of the first epoch). The ETA assumes no early stop.
   */
  apply(e: TrainEvent, nowMs = Date.now()): this {
    const r = this.run;
    const fold = r.folds > 1 ? r.foldIndex : undefined;
    switch (e.type) {
      case 'run-start':
        Object.assign(r, { folds: e.repeats * e.folds, epochs: e.epochs, foldIndex: 0, startMs: nowMs });
        this.foldsPerRepeat = e.folds;
        break;
      case 'fold-start':
        r.foldIndex = e.repeat * this.foldsPerRepeat + e.fold;
        break;
      case 'epoch-start':
        Object.assign(r, { epoch: e.epoch + 1, steps: e.steps });
        this.setProgress(this.progressAt(0, e.steps, undefined, nowMs));
        break;
      case 'step':
        this.setProgress(this.progressAt(e.step, e.steps, e.bagsPerSecond, nowMs));
        break;
      case 'eval':
        this.add('loss', e.split, e.epoch + 1, e.loss, fold);
        for (const [m, v] of Object.entries(e.metrics))
          if (m !== 'loss' && this.metrics.includes(m)) this.add(m, e.split, e.epoch + 1, v, fold);
        break;
      case 'epoch-end':
        this.add('loss', 'train', e.epoch + 1, e.trainLoss, fold);
        if (e.stop && this.progress) this.progress.message = `early stop after epoch ${e.epoch + 1}`;
        break;
      case 'run-end': {
        const shown = Object.keys(e.summary).filter((m) => this.metrics.includes(m));
        const metrics = shown.length ? shown : Object.keys(e.summary);
        const summary = metrics.length
          ? resultsView({
              title: 'Summary (mean ± sd over folds)',
              columns: metrics,
              rows: [{ label: this.title ?? 'run', cells: metrics.map((m) => e.summary[m]) }],
            })
          : undefined;
        if (this.progress)
          this.progress = {
            ...this.progress,
            elapsedSeconds: (nowMs - r.startMs) / 1000,
            etaSeconds: 0,
            message: e.interrupted ? 'interrupted' : 'done',
          };
        this.finish(summary);
        break;
      }
      default:
        break;
    }
    return this;
  }

  private foldsPerRepeat = 1;

  private progressAt(step: number, steps: number, rate: number | undefined, nowMs: number): TrainingProgress {
    const r = this.run;
    const p: TrainingProgress = {
      epoch: r.epoch,
      epochs: r.epochs,
      step,
      steps,
      elapsedSeconds: roundSig((nowMs - r.startMs) / 1000, 4),
    };
    if (r.folds > 1) Object.assign(p, { fold: r.foldIndex, folds: r.folds });
    if (rate && rate > 0) {
      p.rate = roundSig(rate, 3);
      // after the current one (r.epoch is 1-based)
      const epochsLeft = (r.folds - r.foldIndex - 1) * r.epochs + (r.epochs - r.epoch);
      p.etaSeconds = roundSig((epochsLeft * steps + (steps - step)) / rate, 3);
    }
    return p;
  }

  add(metric: string, split: TrainingSeries['split'], x: number, y: number, fold?: number): this {
    if (!Number.isFinite(y)) return this; // a NaN metric (e.g. AUC of a one-class fold) has no point to draw
    const key = `${fold ?? ''}/${split}/${metric}`;
    let s = this.series.get(key);
    if (!s) {
      s = { metric, split, x: [], y: [] };
      if (fold !== undefined) s.fold = fold;
      this.series.set(key, s);
    }
    s.x.push(roundSig(x, 6));
    s.y.push(roundSig(y));
    return this;
  }

  setProgress(p: TrainingProgress): this {
    this.progress = p;
    return this;
  }

  finish(summary?: ResultsPayload): this {
    this.done = true;
    this.summary = summary;
    return this;
  }

  view(): TrainingPayload {
    const payload: TrainingPayload = {
      version: VIZ_VERSIONS.training[VIZ_VERSIONS.training.length - 1] as 1,
      kind: 'training',
      series: [...this.series.values()].map((s) => thinSeries(s)),
      done: this.done,
    };
    if (this.title) payload.title = this.title;
    if (this.progress) payload.progress = { ...this.progress };
    if (this.summary) payload.summary = this.summary;
    return payload;
  }
}

/** Keeps at most MAX_CURVE_POINTS evenly spaced points, always the first and the last. */
export function thinSeries(s: TrainingSeries, max = MAX_CURVE_POINTS): TrainingSeries {
  if (s.x.length <= max) return { ...s, x: [...s.x], y: [...s.y] };
  const idx = Array.from({ length: max }, (_, i) => Math.round((i * (s.x.length - 1)) / (max - 1)));
  return { ...s, x: idx.map((i) => s.x[i]), y: idx.map((i) => s.y[i]) };
}

/**
 * The mean curve over folds of each split × metric (x = epoch): at each x, the mean of the folds
 * that have a point there (with early stopping, later epochs average fewer folds). Series without
 * a fold pass through unchanged; the result has no `fold`.
 */
export function foldMeans(series: readonly TrainingSeries[]): TrainingSeries[] {
  const groups = new Map<string, TrainingSeries[]>();
  for (const s of series) {
    const key = `${s.split}/${s.metric}`;
    let g = groups.get(key);
    if (!g) groups.set(key, (g = []));
    g.push(s);
  }
  return [...groups.values()].map((g) => {
    if (g.length === 1 && g[0].fold === undefined) return g[0];
    const sums = new Map<number, [number, number]>();
    for (const s of g)
      s.x.forEach((x, i) => {
        const acc = sums.get(x) ?? [0, 0];
        sums.set(x, [acc[0] + s.y[i], acc[1] + 1]);
      });
    const xs = [...sums.keys()].sort((a, b) => a - b);
    return {
      metric: g[0].metric,
      split: g[0].split,
      x: xs,
      y: xs.map((x) => roundSig(sums.get(x)![0] / sums.get(x)![1])),
    };
  });
}
