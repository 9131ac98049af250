/**
 * Training view: loss/metric curves plus a progress line, rebuilt from the trainer's event stream
 * and re-sent in place (update_display_data) while a cell trains.
 */
import { MAX_CURVE_POINTS, VIZ_VERSIONS, roundSig } from './schema';
import type { ResultsPayload } from './results';

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

/** Accumulates curve points and the latest progress; `view()` gives the current payload. */
export class TrainingCurves {
  private readonly series = new Map<string, TrainingSeries>();
  private progress?: TrainingProgress;
  private summary?: ResultsPayload;
  private done = false;

  constructor(readonly title?: string) {}

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
