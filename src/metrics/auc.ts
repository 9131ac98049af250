/**
 * Area under the ROC curve (pure TypeScript).
 *
 * Binary AUC is the Mann–Whitney statistic with average ranks for tied scores, which equals the
 * trapezoidal area under the ROC curve (a tie between a positive and a negative counts ½).
 * It is NaN when the labels hold a single class: the ROC curve does not exist (scikit-learn raises).
 */
import { checkLabels, checkPaired } from './util';

/** AUC of `scores` for the positives `labels[i] === 1` (0/1 labels or booleans). */
export function binaryAuc(labels: ArrayLike<number | boolean>, scores: ArrayLike<number>): number {
  checkPaired('binaryAuc', labels, scores);
  const n = scores.length;
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => scores[a] - scores[b]);
  let rankSumPos = 0;
  let pos = 0;
  for (let i = 0; i < n;) {
    let j = i;
    while (j + 1 < n && scores[order[j + 1]] === scores[order[i]]) j++;
    const avgRank = (i + j) / 2 + 1; // ranks are 1-based; tied scores share the mean rank
    for (let k = i; k <= j; k++) {
      if (Number(labels[order[k]]) === 1) {
        rankSumPos += avgRank;
        pos++;
      }
    }
    i = j + 1;
  }
  const neg = n - pos;
  if (pos === 0 || neg === 0) return NaN;
  return (rankSumPos - (pos * (pos + 1)) / 2) / (pos * neg);
}

/**
 * AUC for C classes from per-class scores `probs[i][c]`: for C = 2 the AUC of the class-1 score,
 * otherwise the unweighted mean of the one-vs-rest AUCs (sklearn `multi_class='ovr', average='macro'`).
 * NaN when any class is absent from the labels (its one-vs-rest AUC is undefined).
 */
export function macroAuc(labels: ArrayLike<number>, probs: ArrayLike<ArrayLike<number>>, numClasses: number): number {
  checkPaired('macroAuc', labels, probs, 'labels', 'probs');
  checkLabels('macroAuc', labels, numClasses);
  const column = (c: number) => Array.from(probs, (p) => p[c]);
  if (numClasses === 2)
    return binaryAuc(
      Array.from(labels, (y) => (y === 1 ? 1 : 0)),
      column(1),
    );
  let sum = 0;
  for (let c = 0; c < numClasses; c++)
    sum += binaryAuc(
      Array.from(labels, (y) => (y === c ? 1 : 0)),
      column(c),
    );
  return sum / numClasses;
}
