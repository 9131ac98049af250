import { strict as assert } from 'node:assert';
import * as tf from '@tensorflow/tfjs';
import { Adam, initialStoppingState, learningRateAt, observeEpoch } from '../../src/train';

/** Plain torch-style Adam on numbers: the reference. */
function referenceAdam(theta: number[], grads: number[][], lr: number, wd: number, decoupled: boolean): number[] {
  const m = theta.map(() => 0);
  const v = theta.map(() => 0);
  const [b1, b2, eps] = [0.9, 0.999, 1e-8];
  grads.forEach((g0, s) => {
    const t = s + 1;
    theta.forEach((th, i) => {
      const g = decoupled ? g0[i] : g0[i] + wd * th;
      const base = decoupled ? th * (1 - lr * wd) : th;
      m[i] = b1 * m[i] + (1 - b1) * g;
      v[i] = b2 * v[i] + (1 - b2) * g * g;
      const mh = m[i] / (1 - b1 ** t);
      const vh = v[i] / (1 - b2 ** t);
      theta[i] = base - (lr * mh) / (Math.sqrt(vh) + eps);
    });
  });
  return theta;
}

describe('train/optimizer: Adam with weight decay', () => {
  const grads = [
    [0.5, -1, 2],
    [0.1, 0.2, -0.3],
    [1, 1, 1],
  ];
  for (const decoupled of [false, true]) {
    it(`matches a plain torch-style reference (${decoupled ? 'decoupled AdamW' : 'L2 added to the gradient'})`, () => {
      const x = tf.variable(tf.tensor1d([1, -2, 0.5]));
      const opt = new Adam([x], { lr: 0.01, weightDecay: 0.1, weightDecayMode: decoupled ? 'decoupled' : 'l2' });
      for (const g of grads) tf.tidy(() => opt.applyGradients({ [x.name]: tf.tensor1d(g) }));
      const want = referenceAdam([1, -2, 0.5], grads, 0.01, 0.1, decoupled);
      const got = Array.from(x.dataSync());
      got.forEach((v, i) => assert.ok(Math.abs(v - want[i]) < 1e-6, `${v} vs ${want[i]}`));
      opt.dispose();
      x.dispose();
    });
  }
  it('state round-trips: a restored optimiser continues exactly like the original', async () => {
    const mk = () => tf.variable(tf.tensor1d([1, 2]));
    const [a, b] = [mk(), mk()];
    const [oa, ob] = [new Adam([a], { lr: 0.1, weightDecay: 0.01 }), new Adam([b], { lr: 0.1, weightDecay: 0.01 })];
    tf.tidy(() => oa.applyGradients({ [a.name]: tf.tensor1d([1, -1]) }));
    tf.tidy(() => ob.applyGradients({ [b.name]: tf.tensor1d([1, -1]) }));
    const fresh = new Adam([b], { lr: 0.1, weightDecay: 0.01 });
    fresh.setState(await ob.getState());
    tf.tidy(() => oa.applyGradients({ [a.name]: tf.tensor1d([0.3, 0.7]) }));
    tf.tidy(() => fresh.applyGradients({ [b.name]: tf.tensor1d([0.3, 0.7]) }));
    assert.deepEqual(Array.from(a.dataSync()), Array.from(b.dataSync()));
    assert.equal(fresh.steps, 2);
    tf.dispose([a, b]);
    [oa, ob, fresh].forEach((o) => o.dispose());
  });
  it('works through tf.Optimizer.minimize (what model-specific steps call)', () => {
    const x = tf.variable(tf.scalar(3));
    const opt = new Adam([x], { lr: 0.5 });
    for (let i = 0; i < 50; i++) opt.minimize(() => tf.square(x) as tf.Scalar, false, [x]);
    assert.ok(Math.abs(x.dataSync()[0]) < 0.5);
    opt.dispose();
    x.dispose();
  });
});

describe('train/schedule and early stopping', () => {
  it('cosine: lr(e) = minLr + ½(lr − minLr)(1 + cos(πe/E)) (MHIM / timm)', () => {
    const s = { kind: 'cosine', lr: 2e-4, minLr: 1e-7, epochs: 4 } as const;
    assert.equal(learningRateAt(0, s), 2e-4);
    assert.ok(Math.abs(learningRateAt(2, s) - (1e-7 + 0.5 * (2e-4 - 1e-7))) < 1e-18);
    assert.ok(
      Math.abs(learningRateAt(3, s) - (1e-7 + 0.5 * (2e-4 - 1e-7) * (1 + Math.cos((3 * Math.PI) / 4)))) < 1e-18,
    );
  });
  it('warm-up rises linearly from minLr, then follows the cosine at the same t', () => {
    const s = { kind: 'cosine', lr: 1, minLr: 0, epochs: 10, warmupEpochs: 2 } as const;
    assert.deepEqual([learningRateAt(0, s), learningRateAt(1, s)], [0, 0.5]);
    assert.ok(Math.abs(learningRateAt(2, s) - 0.5 * (1 + Math.cos(Math.PI / 5))) < 1e-12);
    assert.equal(learningRateAt(5, { kind: 'constant', lr: 0.3, epochs: 10 }), 0.3);
  });
  it('stops after `patience` epochs without improvement, never before minEpochs', () => {
    const vals = [0.5, 0.7, 0.6, 0.7, 0.65, 0.8];
    let st = initialStoppingState();
    const log: string[] = [];
    for (const [e, v] of vals.entries()) {
      const o = observeEpoch(st, e, v, { patience: 2, minEpochs: 5, mode: 'max' });
      st = o.state;
      log.push(`${o.improved ? 'I' : '-'}${o.stop ? 'S' : ''}`);
    }
    // epoch 3: 2 epochs without improvement but minEpochs 5 not reached; epoch 4 (5th epoch) stops.
    assert.deepEqual(log, ['I', 'I', '-', '-', '-S', 'I']);
    assert.equal(st.best, 0.8);
    const nan = observeEpoch(initialStoppingState(), 0, NaN, { patience: 1, mode: 'max' });
    assert.equal(nan.improved, false, 'a NaN metric never counts as an improvement');
    assert.equal(
      observeEpoch({ best: 1, bestEpoch: 0, waited: 0 }, 1, 0.5, { patience: 1, mode: 'min' }).improved,
      true,
    );
  });
});
