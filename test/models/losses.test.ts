/** Bag losses against plain hand-computed references, and their gradients against central differences. */
import { strict as assert } from 'node:assert';
import * as tf from '@tensorflow/tfjs';
import { bagLoss } from '../../src/models/losses';
import { expectGradMatches, onCpu } from './helpers/gradcheck';

/** The reference survival NLL (MHIM-MIL's discrete-time hazard loss), written with products and clamps. */
function survivalReference(logits: number[], y: number, censored: boolean): number {
  const h = logits.map((z) => 1 / (1 + Math.exp(-z)));
  const s: number[] = [];
  h.reduce((acc, hk) => (s.push(acc * (1 - hk)), acc * (1 - hk)), 1);
  const sPad = [1, ...s];
  const log = (v: number) => Math.log(Math.max(v, 1e-7));
  const c = censored ? 1 : 0;
  return -(1 - c) * (log(sPad[y]) + log(h[y])) - c * log(sPad[y + 1]);
}

describe('models/losses', () => {
  it('cross-entropy equals −log softmax of the label, for 2 and 4 classes', () => {
    for (const logits of [
      [0.3, -1.2],
      [1, 2, -0.5, 0.1],
    ]) {
      for (let label = 0; label < logits.length; label++) {
        const ref = -(logits[label] - Math.log(logits.reduce((s, z) => s + Math.exp(z), 0)));
        const got = tf.tidy(
          () => bagLoss(tf.tensor1d(logits), { kind: 'class', label, numClasses: logits.length }).dataSync()[0],
        );
        assert.ok(Math.abs(got - ref) < 1e-5, `${logits} label ${label}: ${got} vs ${ref}`);
      }
    }
  });

  it('survival NLL equals the reference formula for every bin, censored or not, including clamped extremes', () => {
    for (const logits of [
      [-1, 0.5, 0.2, 2],
      [-30, -30, 25, 40],
      [5, -2, 0, -8],
    ]) {
      for (let bin = 0; bin < 4; bin++) {
        for (const censored of [false, true]) {
          if (censored && bin === 3) continue; // S_pad[y+1] = S[3]: still defined, checked below
          const ref = survivalReference(logits, bin, censored);
          const got = tf.tidy(
            () => bagLoss(tf.tensor1d(logits), { kind: 'survival', bin, censored, numBins: 4 }).dataSync()[0],
          );
          assert.ok(
            Math.abs(got - ref) < 1e-4 * Math.max(1, Math.abs(ref)),
            `${logits} bin ${bin} censored ${censored}: ${got} vs ${ref}`,
          );
        }
      }
      const ref = survivalReference(logits, 3, true);
      const got = tf.tidy(
        () => bagLoss(tf.tensor1d(logits), { kind: 'survival', bin: 3, censored: true, numBins: 4 }).dataSync()[0],
      );
      assert.ok(Math.abs(got - ref) < 1e-4 * Math.max(1, Math.abs(ref)));
    }
  });

  it('rejects labels and bins outside the logits, and mismatched class counts', () => {
    const l = tf.tensor1d([0, 1]);
    assert.throws(() => bagLoss(l, { kind: 'class', label: 2, numClasses: 2 }), /class label 2 is outside 0..1/);
    assert.throws(
      () => bagLoss(l, { kind: 'class', label: 0, numClasses: 3 }),
      /declares 3 outputs but the model has 2/,
    );
    assert.throws(() => bagLoss(l, { kind: 'survival', bin: -1, censored: false, numBins: 2 }), /survival bin -1/);
    l.dispose();
  });

  it('gradients of both losses match central differences', () =>
    onCpu(() => {
      const v = tf.variable(tf.tensor1d([-0.7, 0.4, 1.1, -0.2]));
      const all = [0, 1, 2, 3];
      expectGradMatches(() => bagLoss(v as unknown as tf.Tensor1D, { kind: 'class', label: 2, numClasses: 4 }), v, all);
      for (const censored of [false, true]) {
        expectGradMatches(
          () => bagLoss(v as unknown as tf.Tensor1D, { kind: 'survival', bin: 1, censored, numBins: 4 }),
          v,
          all,
        );
      }
      v.dispose();
    }));
});
