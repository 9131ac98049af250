/**
 * Max pooling of instance logits in its two forms (src/models/pooling.ts): per class (MHIM's
 * max-mil) and the top instance's logits (mi-Net's max of instance probabilities), checked against
 * a plain reference computed from the instance logits, plus finite-difference gradients.
 */
import { strict as assert } from 'node:assert';
import * as tf from '@tensorflow/tfjs';
import { type Target } from '../../src/models';
import { createModel } from '../../src/registry';
import { Rng } from '../../src/random';
import { expectGradMatches, maxAbsDiff, onCpu, someCoords } from './helpers/gradcheck';
import { tidyOutput } from './helpers/tidyOutput';
import { totalLoss } from '../../src/models/losses';

function bagOf(n: number, dim: number, seed: number): tf.Tensor2D {
  const rng = new Rng(seed);
  return tf.tensor2d(
    Float32Array.from({ length: n * dim }, () => rng.normal()),
    [n, dim],
  );
}

describe('models: max pooling of instance logits', () => {
  for (const numClasses of [2, 3]) {
    it(
      `'instance' takes the logits of the instance with the largest margin ` +
        `max_{c≥1} l_c − l_0; 'class' maxes each class (C = ${numClasses})`,
      () => {
        const bag = bagOf(9, 5, numClasses);
        for (const maxOver of ['instance', 'class'] as const) {
          const model = createModel('max-mil', { inputDim: 5, numClasses, hidden: [8], dropout: 0, maxOver, seed: 1 });
          const out = tidyOutput(() => model.forward(bag, { training: false }));
          const inst = out.instanceLogits!.arraySync() as number[][];
          const expected =
            maxOver === 'class'
              ? Array.from({ length: numClasses }, (_, c) => Math.max(...inst.map((r) => r[c])))
              : inst.reduce((best, r) =>
                  Math.max(...r.slice(1)) - r[0] > Math.max(...best.slice(1)) - best[0] ? r : best,
                );
          assert.ok(
            maxAbsDiff(out.logits.dataSync(), expected) < 1e-6,
            `${maxOver}: ${out.logits.dataSync()} vs ${expected}`,
          );
          tf.dispose(Object.values(out));
          model.dispose();
        }
        bag.dispose();
      },
    );
  }

  it("mi-net defaults to 'instance', max-mil to MHIM's per-class max", () => {
    const [mi, max] = [createModel('mi-net', { inputDim: 3 }), createModel('max-mil', { inputDim: 3 })];
    assert.equal(mi.config.maxOver, 'instance');
    assert.equal(max.config.maxOver, 'class');
    mi.dispose();
    max.dispose();
  });

  it("'instance' max pooling: gradients match finite differences (cpu)", () =>
    onCpu(() => {
      const model = createModel('mi-net', { inputDim: 4, hidden: [6, 5], dropout: 0, seed: 2 });
      const bag = bagOf(6, 4, 7);
      const target: Target = { kind: 'class', label: 1, numClasses: 2 };
      const f = () => tf.tidy(() => totalLoss(model.loss(model.forward(bag, { training: false }), target)));
      for (const v of model.trainableVariables()) expectGradMatches(f, v, someCoords(v.size, 4), 1e-3, 2e-2, 1e-3);
      bag.dispose();
      model.dispose();
    }));
});
