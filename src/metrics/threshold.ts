/**
 * Decision thresholds for binary scores (pure TypeScript).
 *
 * The threshold is FITTED on training or validation scores and then APPLIED to the test scores:
 * `fitYoudenThreshold(trainLabels, trainScores)` → `applyThreshold(testScores, t)`. Nothing here
 * fits and applies in one call, so choosing the threshold on the test fold (a leak in the original
 * MHIM-MIL v1 code) cannot happen by accident.
 */
import { checkPaired } from './util';

export interface BinaryThreshold {
  /** Predict positive when `score >= threshold`. NaN when it could not be fitted (see `reason`). */
  threshold: number;
  /** Youden's J = TPR − FPR at the threshold, on the data it was fitted on. */
  j: number;
  tpr: number;
  fpr: number;
  /** Why the threshold is NaN (e.g. the fitting data holds a single class). */
  reason?: string;
}

/**
 * The threshold maximising Youden's J = TPR − FPR over the ROC curve's thresholds (the distinct
 * scores, plus +∞ which predicts nothing positive); on ties the highest threshold wins, as
 * `argmax` over sklearn's decreasing `roc_curve` thresholds does. NaN when the labels hold a
 * single class (TPR or FPR is undefined).
 */
export function fitYoudenThreshold(labels: ArrayLike<number | boolean>, scores: ArrayLike<number>): BinaryThreshold {
  checkPaired('fitYoudenThreshold', labels, scores);
  const n = scores.length;
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => scores[b] - scores[a]);
  const positives = Array.from(labels).filter((y) => Number(y) === 1).length;
  const negatives = n - positives;
  if (positives === 0 || negatives === 0) {
    return {
      threshold: NaN,
      j: NaN,
      tpr: NaN,
      fpr: NaN,
      reason: `the fitting data holds only ${positives ? 'positives' : 'negatives'}`,
    };
  }
  let best: BinaryThreshold = { threshold: Infinity, j: 0, tpr: 0, fpr: 0 };
  // Compare J·P·N = tp·N − fp·P in integers: J itself in floating point breaks exact ties (1 − 1/3 ≠ 2/3).
  let bestScaled = 0;
  let tp = 0;
  let fp = 0;
  for (let i = 0; i < n;) {
    const t = scores[order[i]];
    while (i < n && scores[order[i]] === t) {
      if (Number(labels[order[i++]]) === 1) tp++;
      else fp++;
    }
    const tpr = tp / positives;
    const fpr = fp / negatives;
    const scaled = tp * negatives - fp * positives;
    if (scaled > bestScaled) {
      bestScaled = scaled;
      best = { threshold: t, j: tpr - fpr, tpr, fpr };
    }
  }
  return best;
}

/** 1 where `score >= threshold`, else 0. Throws for a NaN threshold (one that could not be fitted). */
export function applyThreshold(scores: ArrayLike<number>, t: BinaryThreshold | number): number[] {
  const thr = typeof t === 'number' ? t : t.threshold;
  if (Number.isNaN(thr))
    throw new Error(`applyThreshold: the threshold is NaN${typeof t === 'object' && t.reason ? ` (${t.reason})` : ''}`);
  return Array.from(scores, (s) => (s >= thr ? 1 : 0));
}
