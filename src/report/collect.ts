/**
 * What a run report shows, gathered from a run folder (`milkit train --out DIR`): results.json
 * (per-fold metrics, training history, thresholds, test predictions) and, for the heatmaps, the
 * fold models re-run on the cohort the run trained on. Everything is computed here; page.ts only
 * draws it.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { bootstrap, type BootstrapResult } from '../metrics/bootstrap';
import { binaryAuc, macroAuc } from '../metrics/auc';
import { accuracy, argmaxRows, balancedAccuracy, confusionMatrix, macroF1 } from '../metrics/classification';
import type { RunResult } from '../train/results';
import type { AttentionPayload } from '../viz/attention';

export interface FoldPredictions {
  repeat: number;
  fold: number;
  bagIds: string[];
  labels: number[];
  /** P(class) per bag. */
  probabilities: number[][];
  /** The fold's Youden threshold on P(positive), fitted on its training or validation bags. */
  threshold?: number;
}

export interface ReportData {
  runDir: string;
  run: RunResult;
  /** Test predictions of every finished fold that recorded them. */
  predictions: FoldPredictions[];
  /** Pooled test bags: the headline metrics on all of them (the point estimates)... */
  pooled: Record<string, number>;
  /** ...and their bootstrap 95 % intervals. */
  intervals: Record<string, BootstrapResult>;
  /** Confusion matrices pooled over folds: at argmax, and (binary) at each fold's Youden threshold. */
  confusion: { argmax: number[][]; youden?: number[][] };
  /** Attention views of the highest-scored test bags, or why there are none. */
  heatmaps: AttentionPayload[];
  heatmapNote?: string;
}

/** Metrics the report bootstraps on the pooled test bags. */
const BOOTSTRAPPED: Record<string, (labels: number[], probs: number[][], k: number) => number> = {
  auc: (y, p, k) =>
    k === 2
      ? binaryAuc(
          y,
          p.map((r) => r[1]),
        )
      : macroAuc(y, p, k),
  accuracy: (y, p, k) => accuracy(confusionMatrix(y, argmaxRows(p), k)),
  balancedAccuracy: (y, p, k) => balancedAccuracy(confusionMatrix(y, argmaxRows(p), k)),
  f1: (y, p, k) => macroF1(confusionMatrix(y, argmaxRows(p), k)),
};

export function readRun(runDir: string): RunResult {
  const file = path.join(runDir, 'results.json');
  if (!fs.existsSync(file))
    throw new Error(
      `${file} not found: RUN_DIR must be the --out folder of a finished \`milkit train\` run (it holds results.json)`,
    );
  const run = JSON.parse(fs.readFileSync(file, 'utf8')) as RunResult;
  if (run.format !== 'milkit-results')
    throw new Error(`${file} is not a milkit results file (format ${JSON.stringify(run.format)})`);
  return run;
}

/** Gathers everything but the heatmaps (pure given the run; seeded bootstrap). */
export function summariseRun(runDir: string, run: RunResult, resamples = 1000): Omit<ReportData, 'heatmaps'> {
  const predictions: FoldPredictions[] = run.folds
    .filter((f) => !f.interrupted && f.predictions)
    .map((f) => ({
      repeat: f.repeat,
      fold: f.fold,
      ...f.predictions!,
      ...(f.threshold && Number.isFinite(f.threshold.threshold) ? { threshold: f.threshold.threshold } : {}),
    }));
  const k = run.task.kind === 'class' ? run.task.numClasses : 2;
  const labels = predictions.flatMap((p) => p.labels);
  const probs = predictions.flatMap((p) => p.probabilities);
  const pooled: Record<string, number> = {};
  const intervals: Record<string, BootstrapResult> = {};
  if (labels.length > 1) {
    for (const [name, metric] of Object.entries(BOOTSTRAPPED)) {
      pooled[name] = metric(labels, probs, k);
      intervals[name] = bootstrap(
        labels.length,
        (ix) =>
          metric(
            ix.map((i) => labels[i]),
            ix.map((i) => probs[i]),
            k,
          ),
        { resamples, seed: 0 },
      );
    }
  }
  const confusion: ReportData['confusion'] = {
    argmax: labels.length ? confusionMatrix(labels, argmaxRows(probs), k) : [],
  };
  if (k === 2 && predictions.length && predictions.every((p) => p.threshold !== undefined)) {
    confusion.youden = [
      [0, 0],
      [0, 0],
    ];
    for (const p of predictions)
      p.labels.forEach((y, i) => confusion.youden![y][p.probabilities[i][1] >= p.threshold! ? 1 : 0]++);
  }
  return {
    runDir,
    run,
    predictions,
    pooled,
    intervals,
    confusion,
    ...(predictions.length
      ? {}
      : { heatmapNote: 'this run recorded no test predictions (trained before milkit wrote them)' }),
  };
}
