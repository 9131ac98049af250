/**
 * Training behaviour: no tensor leaks across 1000 Adam steps of AB-MIL, and learning on a synthetic
 * but honest task (the real-data learning tests need the trainer and data builders and live in
 * test/data-suite/models/).
 *
 * Task: bags of 8–16 instances drawn from N(0, I) in 16 dimensions; a positive bag has exactly one
 * instance shifted by 4 along a fixed unit direction (the standard "one key instance"
 * MIL assumption). Chance is 50 %; a model that finds the key instance is near 100 %.
 */
import { strict as assert } from 'node:assert';
import * as tf from '@tensorflow/tfjs';
import { type MilModel, type Target } from '../../src/models';
import { createModel } from '../../src/registry';
import { Rng } from '../../src/random';
import { totalLoss } from '../../src/models/losses';

const DIM = 16;

interface ToyBag {
  x: Float32Array;
  n: number;
  label: number;
}

function toyBags(count: number, seed: number): ToyBag[] {
  const rng = new Rng(seed);
  const dirRng = new Rng(99); // the same direction for every split
  const dir = Array.from({ length: DIM }, () => dirRng.normal());
  const norm = Math.hypot(...dir);
  return Array.from({ length: count }, (_, b) => {
    const n = 8 + rng.int(9);
    const label = b % 2;
    const x = new Float32Array(n * DIM);
    for (let i = 0; i < x.length; i++) x[i] = rng.normal();
    if (label === 1) {
      const k = rng.int(n);
      for (let d = 0; d < DIM; d++) x[k * DIM + d] += (4 * dir[d]) / norm;
    }
    return { x, n, label };
  });
}

function trainEpochs(model: MilModel, bags: ToyBag[], epochs: number, lr: number, seed: number): void {
  const opt = tf.train.adam(lr);
  const rng = new Rng(seed);
  for (let e = 0; e < epochs; e++) {
    for (const i of rng.shuffle(bags.map((_, j) => j))) {
      const { x, n, label } = bags[i];
      const target: Target = { kind: 'class', label, numClasses: 2 };
      const bag = tf.tensor2d(x, [n, DIM]);
      const loss = opt.minimize(
        () => totalLoss(model.loss(model.forward(bag, { training: true, target }), target)),
        true,
        model.trainableVariables(),
      );
      loss!.dispose();
      bag.dispose();
    }
  }
  opt.dispose();
}

function accuracy(model: MilModel, bags: ToyBag[]): number {
  let correct = 0;
  for (const { x, n, label } of bags) {
    const logits = tf.tidy(() =>
      Array.from(model.forward(tf.tensor2d(x, [n, DIM]), { training: false }).logits.dataSync()),
    );
    if ((logits[1] > logits[0] ? 1 : 0) === label) correct++;
  }
  return correct / bags.length;
}

describe('models: training', () => {
  it('AB-MIL: live tensors after 1000 Adam steps equal those after 10 (no leaks)', function () {
    this.timeout(300_000);
    const model = createModel('abmil', { inputDim: 8, embedDim: 16, attentionDim: 8, seed: 1 });
    const opt = tf.train.adam(1e-3);
    const target: Target = { kind: 'class', label: 1, numClasses: 2 };
    const rng = new Rng(3);
    const step = () => {
      const n = 3 + rng.int(5);
      const bag = tf.tensor2d(
        Float32Array.from({ length: n * 8 }, () => rng.normal()),
        [n, 8],
      );
      const loss = opt.minimize(
        () => totalLoss(model.loss(model.forward(bag, { training: true }), target)),
        true,
        model.trainableVariables(),
      );
      loss!.dataSync(); // the one scalar read per step a trainer does
      loss!.dispose();
      bag.dispose();
    };
    for (let i = 0; i < 10; i++) step();
    const after10 = tf.memory().numTensors;
    for (let i = 10; i < 1000; i++) step();
    assert.equal(tf.memory().numTensors, after10);
    opt.dispose();
    model.dispose();
  });

  const train = toyBags(60, 1);
  const test = toyBags(60, 2);
  const small = (name: string): Record<string, unknown> => {
    const base = { inputDim: DIM, seed: 3 };
    if (name === 'transmil')
      return { ...base, embedDim: 32, heads: 2, headDim: 16, landmarks: 8, residualKernel: 5, dropout: 0 };
    if (['abmil', 'gabmil', 'clam-sb', 'clam-mb'].includes(name))
      return { ...base, embedDim: 32, attentionDim: 16, dropout: 0 };
    if (name === 'dsmil') return { ...base, embedDim: 32, queryDim: 16, dropout: 0 };
    return { ...base, hidden: [32, 16], dropout: 0 };
  };
  // Why the others are not in this list (measured on this task, 12 epochs, lr 2e-3):
  //  - max-mil with MHIM's per-class max (train 1.00, test 0.50): each class's logit is maxed over
  //    different instances, which lets a small network memorise 60 bags; the 'instance' form
  //    (mi-Net's max of instance probabilities, now mi-net's default) generalises (test 0.80-0.85);
  //  - DSMIL (train 1.00, test 0.73; 0.82 after 5 epochs): its instance stream is that same
  //    per-class max (as the reference), and it overfits 60 bags;
  //  - TransMIL (lr 2e-3: train 1.00 after 2 epochs, test 0.52-0.58 through epoch 12): a transformer
  //    memorises 60 bags; with 400 training bags at lr 2e-4 it reaches 0.72 test accuracy in 5 epochs.
  // None of these is a bug (gradients: layers.test.ts, models.test.ts, nystrom.test.ts); all of
  // them learn the real data sets (data-suite/models/core-models.test.ts).
  for (const [name, extra] of [
    ['abmil', {}],
    ['gabmil', {}],
    ['clam-sb', {}],
    ['clam-mb', {}],
    ['MI-net', {}],
    ['mi-net', {}],
    ['max-mil', { maxOver: 'instance' }],
  ] as const) {
    const bar = name === 'mi-net' || name === 'max-mil' ? 0.75 : 0.8; // 0.80 measured for the max-instance pair
    it(
      `${name}${Object.keys(extra).length ? ` ${JSON.stringify(extra)}` : ''} ` +
        `learns the one-key-instance task (test accuracy ≥ ${bar}, chance 0.5)`,
      function () {
        this.timeout(300_000);
        const model = createModel(name, { ...small(name), ...extra });
        const before = accuracy(model, test);
        trainEpochs(model, train, 12, 2e-3, 5);
        const after = accuracy(model, test);
        model.dispose();
        assert.ok(after >= bar, `${name}: test accuracy ${after} (before training ${before})`);
      },
    );
  }
});
