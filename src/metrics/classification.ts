/**
 * Classification metrics from labels and predicted classes (pure TypeScript).
 *
 * Conventions (those of scikit-learn, which torchmetrics' macro averages agree with):
 * - macro averages are unweighted means over the classes 0..C−1;
 * - a precision whose class is never predicted, or a recall whose class never occurs, counts as 0
 *   (sklearn's `zero_division=0`) inside macro precision / F1, except that balanced accuracy
 *   averages recall over the classes that occur in the labels only (sklearn's balanced_accuracy);
 * - Cohen's κ is NaN when chance agreement is 1 (both raters always say one and the same class).
 * Empty or mismatched inputs throw.
 */
import { checkLabels, checkPaired } from './util';

/** `m[t][p]` = number of samples of true class t predicted as p. */
export function confusionMatrix(
  labels: ArrayLike<number>,
  predicted: ArrayLike<number>,
  numClasses: number,
): number[][] {
  checkPaired('confusionMatrix', labels, predicted, 'labels', 'predictions');
  checkLabels('confusionMatrix', labels, numClasses);
  checkLabels('confusionMatrix (predictions)', predicted, numClasses);
  const m = Array.from({ length: numClasses }, () => new Array<number>(numClasses).fill(0));
  for (let i = 0; i < labels.length; i++) m[labels[i]][predicted[i]]++;
  return m;
}

/** Index of the largest entry of each row (first one on ties, as argmax does). */
export function argmaxRows(rows: ArrayLike<ArrayLike<number>>): number[] {
  return Array.from(rows, (r) => {
    let best = 0;
    for (let c = 1; c < r.length; c++) if (r[c] > r[best]) best = c;
    return best;
  });
}

/** Fraction of correct predictions (micro accuracy). */
export function accuracy(cm: number[][]): number {
  let right = 0;
  let all = 0;
  cm.forEach((row, t) => row.forEach((v, p) => ((all += v), t === p && (right += v))));
  return right / all;
}

function perClass(cm: number[][]): { tp: number; fp: number; fn: number; support: number }[] {
  return cm.map((row, c) => {
    const tp = row[c];
    const support = row.reduce((s, v) => s + v, 0);
    const predicted = cm.reduce((s, r) => s + r[c], 0);
    return { tp, fp: predicted - tp, fn: support - tp, support };
  });
}

const ratio = (a: number, b: number) => (b === 0 ? 0 : a / b);
const mean = (v: number[]) => v.reduce((s, x) => s + x, 0) / v.length;

/** Mean of the per-class recalls over the classes present in the labels (= macro accuracy of torchmetrics). */
export function balancedAccuracy(cm: number[][]): number {
  const present = perClass(cm).filter((k) => k.support > 0);
  return mean(present.map((k) => k.tp / k.support));
}

export function macroPrecision(cm: number[][]): number {
  return mean(perClass(cm).map((k) => ratio(k.tp, k.tp + k.fp)));
}

export function macroRecall(cm: number[][]): number {
  return mean(perClass(cm).map((k) => ratio(k.tp, k.tp + k.fn)));
}

/** Unweighted mean of per-class F1 = 2TP / (2TP + FP + FN) (0 for a class never predicted nor present). */
export function macroF1(cm: number[][]): number {
  return mean(perClass(cm).map((k) => ratio(2 * k.tp, 2 * k.tp + k.fp + k.fn)));
}

/** Cohen's κ = (p_o − p_e) / (1 − p_e); NaN when p_e = 1 (agreement by chance is certain, κ undefined). */
export function cohenKappa(cm: number[][]): number {
  const n = cm.reduce((s, r) => s + r.reduce((a, b) => a + b, 0), 0);
  const k = perClass(cm);
  const po = k.reduce((s, c) => s + c.tp, 0) / n;
  const pe = k.reduce((s, c) => s + (c.support / n) * ((c.tp + c.fp) / n), 0);
  return pe === 1 ? NaN : (po - pe) / (1 - pe);
}
