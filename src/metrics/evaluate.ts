/**
 * All classification metrics of one evaluation set in one call (pure TypeScript).
 *
 * Input: labels and per-class probabilities `probs[i][c]`; the predicted class is the argmax
 * (p₁ ≥ 0.5 for two classes, as MHIM v2). For two classes, passing a threshold fitted on other data
 * (`fitYoudenThreshold` on the training/validation fold) adds the metrics at that threshold.
 */
import { macroAuc } from './auc';
import {
  accuracy,
  argmaxRows,
  balancedAccuracy,
  cohenKappa,
  confusionMatrix,
  macroF1,
  macroPrecision,
  macroRecall,
} from './classification';
import { type BinaryThreshold, applyThreshold } from './threshold';

export interface ClassificationMetrics {
  /** Binary AUC, or macro one-vs-rest AUC; NaN when a class is missing from the labels. */
  auc: number;
  accuracy: number;
  balancedAccuracy: number;
  f1: number;
  precision: number;
  recall: number;
  kappa: number;
  /** Binary only, with a fitted threshold: accuracy / F1 / precision / recall of the positive class at it. */
  accuracyYouden?: number;
  f1Youden?: number;
  precisionYouden?: number;
  recallYouden?: number;
}

export function classificationMetrics(
  labels: ArrayLike<number>,
  probs: ArrayLike<ArrayLike<number>>,
  numClasses: number,
  opts: { threshold?: BinaryThreshold | number } = {},
): ClassificationMetrics {
  const cm = confusionMatrix(labels, argmaxRows(probs), numClasses);
  const m: ClassificationMetrics = {
    auc: macroAuc(labels, probs, numClasses),
    accuracy: accuracy(cm),
    balancedAccuracy: balancedAccuracy(cm),
    f1: macroF1(cm),
    precision: macroPrecision(cm),
    recall: macroRecall(cm),
    kappa: cohenKappa(cm),
  };
  if (numClasses === 2 && opts.threshold !== undefined)
    Object.assign(
      m,
      thresholdMetrics(
        labels,
        Array.from(probs, (p) => p[1]),
        opts.threshold,
      ),
    );
  return m;
}

/** Binary metrics of the positive class at a given threshold (NaN for a NaN threshold). */
export function thresholdMetrics(labels: ArrayLike<number>, scores: ArrayLike<number>, t: BinaryThreshold | number) {
  const thr = typeof t === 'number' ? t : t.threshold;
  if (Number.isNaN(thr)) return { accuracyYouden: NaN, f1Youden: NaN, precisionYouden: NaN, recallYouden: NaN };
  const pred = applyThreshold(scores, thr);
  let tp = 0,
    fp = 0,
    fn = 0,
    tn = 0;
  for (let i = 0; i < pred.length; i++) {
    if (labels[i] === 1) {
      if (pred[i]) tp++;
      else fn++;
    } else if (pred[i]) fp++;
    else tn++;
  }
  const div = (a: number, b: number) => (b === 0 ? 0 : a / b);
  return {
    accuracyYouden: (tp + tn) / pred.length,
    f1Youden: div(2 * tp, 2 * tp + fp + fn),
    precisionYouden: div(tp, tp + fp),
    recallYouden: div(tp, tp + fn),
  };
}
