import { strict as assert } from 'node:assert';
import { binaryAuc, prCurve, rocCurve } from '../../src/metrics';

describe('metrics: ROC and precision–recall curves', () => {
  // Hand-worked: scores 0.9 (+), 0.8 (−), 0.7 (+), 0.7 (−), 0.2 (−); 2 positives, 3 negatives.
  const labels = [1, 0, 1, 0, 0];
  const scores = [0.9, 0.8, 0.7, 0.7, 0.2];

  it('ROC: one point per distinct threshold, ties taken together', () => {
    const r = rocCurve(labels, scores);
    assert.deepEqual(r.thresholds, [Infinity, 0.9, 0.8, 0.7, 0.2]);
    assert.deepEqual(r.tpr, [0, 0.5, 0.5, 1, 1]);
    assert.deepEqual(
      r.fpr.map((v) => Number(v.toFixed(6))),
      [0, 0, 0.333333, 0.666667, 1],
    );
  });

  it("ROC's trapezoid area equals binaryAuc (ties count half)", () => {
    const r = rocCurve(labels, scores);
    let area = 0;
    for (let k = 1; k < r.fpr.length; k++) area += ((r.fpr[k] - r.fpr[k - 1]) * (r.tpr[k] + r.tpr[k - 1])) / 2;
    assert.ok(Math.abs(area - binaryAuc(labels, scores)) < 1e-12);
    // Pairs (positive, negative): 0.9 beats all 3; 0.7 loses to 0.8, ties 0.7 (½), beats 0.2: 4.5 / 6.
    assert.ok(Math.abs(area - 0.75) < 1e-12, `area ${area}`);
  });

  it('precision–recall and average precision by hand', () => {
    const p = prCurve(labels, scores);
    assert.deepEqual(p.recall, [0, 0.5, 0.5, 1, 1]);
    assert.deepEqual(
      p.precision.map((v) => Number(v.toFixed(6))),
      [1, 1, 0.5, 0.5, 0.4],
    );
    // AP = Σ ΔR·P = 0.5·1 + 0·0.5 + 0.5·0.5 + 0·0.4 = 0.75
    assert.ok(Math.abs(p.averagePrecision - 0.75) < 1e-12);
  });

  it('refuses mismatched input', () => {
    assert.throws(() => rocCurve([1, 0], [0.3]), /2 entries/);
  });
});
