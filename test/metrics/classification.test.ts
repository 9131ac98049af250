import { strict as assert } from 'node:assert';
import {
  accuracy,
  applyThreshold,
  argmaxRows,
  balancedAccuracy,
  binaryAuc,
  classificationMetrics,
  cohenKappa,
  confusionMatrix,
  fitYoudenThreshold,
  macroAuc,
  macroF1,
  macroPrecision,
  macroRecall,
} from '../../src/core';
import { Rng } from '../../src/random';

const close = (a: number, b: number, tol = 1e-12) => assert.ok(Math.abs(a - b) <= tol, `${a} ≠ ${b}`);

/** Plain reference: the fraction of (positive, negative) pairs ordered correctly, ties ½. */
function pairwiseAuc(labels: number[], scores: number[]): number {
  let num = 0,
    den = 0;
  labels.forEach((yi, i) =>
    labels.forEach((yj, j) => {
      if (yi !== 1 || yj !== 0) return;
      den++;
      num += scores[i] > scores[j] ? 1 : scores[i] === scores[j] ? 0.5 : 0;
    }),
  );
  return num / den;
}

describe('metrics: AUC', () => {
  it('matches a worked example without ties (3 of 4 pairs ordered)', () => {
    // positives 0.35, 0.8; negatives 0.1, 0.4 → pairs (0.35>0.1) (0.35<0.4) (0.8>0.1) (0.8>0.4) = 3/4
    close(binaryAuc([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8]), 0.75);
  });
  it('counts a tied positive/negative pair as one half (trapezoid rule)', () => {
    // positives {0.5, 0.9}, negatives {0.5, 0.2}: ½ + 1 + 1 + 1 = 3.5 of 4
    close(binaryAuc([0, 1, 0, 1], [0.5, 0.5, 0.2, 0.9]), 0.875);
    close(binaryAuc([1, 0], [0.3, 0.3]), 0.5);
  });
  it('agrees with the pairwise count on random scores with many ties', () => {
    const rng = new Rng(3);
    const labels = Array.from({ length: 200 }, () => rng.int(2));
    const scores = Array.from({ length: 200 }, () => rng.int(10) / 10);
    close(binaryAuc(labels, scores), pairwiseAuc(labels, scores), 1e-12);
  });
  it('is NaN for a single class and throws for empty or mismatched input', () => {
    assert.ok(Number.isNaN(binaryAuc([1, 1, 1], [0.1, 0.2, 0.3])));
    assert.ok(Number.isNaN(binaryAuc([0, 0], [0.1, 0.2])));
    assert.throws(() => binaryAuc([], []), /empty input/);
    assert.throws(() => binaryAuc([0, 1], [0.5]), /2 entries but scores has 1/);
  });
  it('macro one-vs-rest AUC averages the per-class AUCs (3 classes, worked example)', () => {
    const labels = [0, 1, 2, 2];
    const probs = [
      [0.7, 0.2, 0.1],
      [0.3, 0.4, 0.3],
      [0.2, 0.5, 0.3],
      [0.1, 0.1, 0.8],
    ];
    // class 0: pos 0.7 vs neg {0.3,0.2,0.1} → 1
    // class 1: pos 0.4 vs neg {0.2,0.5,0.1} → 2/3
    // class 2: pos {0.3,0.8} vs neg {0.1,0.3} → (1 + ½ + 1 + 1) / 4 = 0.875
    close(macroAuc(labels, probs, 3), (1 + 2 / 3 + 0.875) / 3);
    // two classes: the AUC of the class-1 column
    close(
      macroAuc(
        [0, 1, 1],
        [
          [0.9, 0.1],
          [0.2, 0.8],
          [0.6, 0.4],
        ],
        2,
      ),
      1,
    );
    assert.ok(Number.isNaN(macroAuc([0, 1, 1], probs.slice(0, 3), 3)), 'class 2 absent → NaN');
    assert.throws(
      () =>
        macroAuc(
          [0, 3],
          [
            [1, 0, 0],
            [0, 1, 0],
          ],
          3,
        ),
      /label 3 at position 1/,
    );
  });
});

describe('metrics: confusion-matrix metrics (worked 3-class example)', () => {
  // labels 0 0 1 1 2 2, predicted 0 1 1 1 2 0
  const cm = confusionMatrix([0, 0, 1, 1, 2, 2], [0, 1, 1, 1, 2, 0], 3);
  it('builds the confusion matrix (rows = truth, columns = prediction)', () => {
    assert.deepEqual(cm, [
      [1, 1, 0],
      [0, 2, 0],
      [1, 0, 1],
    ]);
  });
  it('accuracy, balanced accuracy, macro precision / recall / F1, kappa', () => {
    close(accuracy(cm), 4 / 6);
    close(balancedAccuracy(cm), (1 / 2 + 1 + 1 / 2) / 3); // recalls
    close(macroRecall(cm), (1 / 2 + 1 + 1 / 2) / 3);
    close(macroPrecision(cm), (1 / 2 + 2 / 3 + 1) / 3); // column-wise
    close(macroF1(cm), (2 / 4 + 4 / 5 + 2 / 3) / 3); // 2TP/(2TP+FP+FN) per class
    // p_o = 4/6; p_e = (2/6)(2/6) + (2/6)(3/6) + (2/6)(1/6) = 1/3; κ = (2/3 − 1/3)/(1 − 1/3) = 0.5
    close(cohenKappa(cm), 0.5);
  });
  it('degenerate inputs: a class never predicted counts 0, κ with certain chance agreement is NaN', () => {
    const allZero = confusionMatrix([0, 0, 0], [0, 0, 0], 2);
    close(accuracy(allZero), 1);
    close(balancedAccuracy(allZero), 1); // only class 0 occurs
    close(macroPrecision(allZero), 0.5); // class 1 never predicted: 0 (zero_division=0)
    assert.ok(Number.isNaN(cohenKappa(allZero)));
    assert.throws(() => confusionMatrix([], [], 2), /empty input/);
  });
  it('argmax takes the first index on ties', () => {
    assert.deepEqual(
      argmaxRows([
        [0.5, 0.5],
        [0.2, 0.8],
        [0.3, 0.3, 0.4],
      ]),
      [0, 1, 2],
    );
  });
});

describe('metrics: Youden threshold (fit on train, apply to test)', () => {
  // scores sorted: 0.9(+) 0.8(+) 0.7(−) 0.35(+) 0.3(−) 0.1(−); J at 0.8 = 2/3 − 0 and at 0.35 = 1 − 1/3: tie
  const labels = [0, 0, 1, 1, 0, 1];
  const scores = [0.1, 0.3, 0.35, 0.8, 0.7, 0.9];
  it('maximises TPR − FPR and takes the highest threshold on ties', () => {
    const t = fitYoudenThreshold(labels, scores);
    close(t.threshold, 0.8);
    close(t.j, 2 / 3);
    close(t.tpr, 2 / 3);
    close(t.fpr, 0);
  });
  it('applies a fitted threshold to other scores with score ≥ threshold', () => {
    const t = fitYoudenThreshold(labels, scores);
    assert.deepEqual(applyThreshold([0.79, 0.8, 0.95], t), [0, 1, 1]);
  });
  it('single-class fitting data gives a NaN threshold with a reason, which cannot be applied', () => {
    const t = fitYoudenThreshold([1, 1], [0.2, 0.4]);
    assert.ok(Number.isNaN(t.threshold));
    assert.match(t.reason!, /only positives/);
    assert.throws(() => applyThreshold([0.5], t), /only positives/);
  });
  it('a worthless score keeps +∞ (nothing predicted positive, J = 0)', () => {
    const t = fitYoudenThreshold([1, 0], [0.1, 0.9]);
    assert.equal(t.threshold, Infinity);
    assert.equal(t.j, 0);
  });
  it('classificationMetrics adds the binary metrics at a threshold fitted elsewhere', () => {
    const t = fitYoudenThreshold(labels, scores); // 0.8
    const test = [0, 1, 1, 0];
    const p1 = [0.85, 0.9, 0.5, 0.2]; // at 0.8: predicted 1 1 0 0 → TP 1, FP 1, FN 1, TN 1
    const m = classificationMetrics(
      test,
      p1.map((p) => [1 - p, p]),
      2,
      { threshold: t },
    );
    close(m.accuracyYouden!, 0.5);
    close(m.f1Youden!, 0.5);
    close(m.precisionYouden!, 0.5);
    close(m.recallYouden!, 0.5);
    // argmax (p ≥ 0.5 wins ties toward class 0 only at exactly 0.5): predicted 1 1 0 0 as well
    close(m.accuracy, 0.5);
    close(m.auc, binaryAuc(test, p1));
    assert.equal(
      classificationMetrics(
        test,
        p1.map((p) => [1 - p, p]),
        2,
      ).accuracyYouden,
      undefined,
    );
  });
});
