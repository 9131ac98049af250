/**
 * ROC and precision–recall curves of binary scores (pure): one point per distinct score threshold,
 * ties taken together (so the ROC's trapezoid area equals binaryAuc). Precision–recall starts at
 * recall 0 with the first threshold's precision, as scikit-learn draws it; average precision is
 * the step-wise sum Σ (R_k − R_{k−1}) P_k.
 */
import { checkPaired } from './util';

export interface RocCurve {
  fpr: number[];
  tpr: number[];
  /** Score threshold of each point (score ≥ threshold is positive); the first point is +∞. */
  thresholds: number[];
}

export interface PrCurve {
  recall: number[];
  precision: number[];
  thresholds: number[];
  averagePrecision: number;
}

/** Counts of true and false positives at each distinct threshold, highest first. */
function sweep(labels: ArrayLike<number | boolean>, scores: ArrayLike<number>) {
  checkPaired('curve', labels, scores);
  const order = Array.from({ length: scores.length }, (_, i) => i).sort((a, b) => scores[b] - scores[a]);
  const tp: number[] = [];
  const fp: number[] = [];
  const thresholds: number[] = [];
  let t = 0;
  let f = 0;
  for (let k = 0; k < order.length; k++) {
    if (Number(labels[order[k]]) > 0) t++;
    else f++;
    if (k === order.length - 1 || scores[order[k + 1]] !== scores[order[k]]) {
      tp.push(t);
      fp.push(f);
      thresholds.push(scores[order[k]]);
    }
  }
  return { tp, fp, thresholds, positives: t, negatives: f };
}

export function rocCurve(labels: ArrayLike<number | boolean>, scores: ArrayLike<number>): RocCurve {
  const s = sweep(labels, scores);
  const fpr = [0, ...s.fp.map((f) => (s.negatives ? f / s.negatives : NaN))];
  const tpr = [0, ...s.tp.map((t) => (s.positives ? t / s.positives : NaN))];
  return { fpr, tpr, thresholds: [Infinity, ...s.thresholds] };
}

export function prCurve(labels: ArrayLike<number | boolean>, scores: ArrayLike<number>): PrCurve {
  const s = sweep(labels, scores);
  const recall = s.tp.map((t) => (s.positives ? t / s.positives : NaN));
  const precision = s.tp.map((t, k) => t / (t + s.fp[k]));
  let ap = 0;
  recall.forEach((r, k) => (ap += (r - (k ? recall[k - 1] : 0)) * precision[k]));
  return {
    recall: [0, ...recall],
    precision: [precision[0] ?? 1, ...precision],
    thresholds: [Infinity, ...s.thresholds],
    averagePrecision: ap,
  };
}
