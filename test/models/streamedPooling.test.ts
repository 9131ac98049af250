/**
 * AB-MIL on huge bags: pooling in row blocks from host memory (online softmax at inference,
 * recomputation by block in training) must give what the whole-bag computation gives.
 */
import { strict as assert } from 'node:assert';
import * as tf from '@tensorflow/tfjs';
import { Abmil } from '../../src/models/abmil';
import { createModel } from '../../src/registry';
import '../../src/models';
import { totalLoss } from '../../src/models/losses';
import type { StepBag } from '../../src/models/types';
import { uploadBag } from '../../src/models/upload';
import { Rng } from '../../src/random';

function bagOf(n: number, dim: number, seed: number): StepBag {
  const rng = new Rng(seed);
  return { id: 'huge', features: Float32Array.from({ length: n * dim }, () => rng.normal()), numInstances: n, dim };
}

/** max |a − b| / max(1e-6, max |b|) over two arrays. */
function relDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  assert.equal(a.length, b.length);
  let d = 0;
  let s = 1e-6;
  for (let i = 0; i < a.length; i++) {
    d = Math.max(d, Math.abs(a[i] - b[i]));
    s = Math.max(s, Math.abs(b[i]));
  }
  return d / s;
}

describe('AB-MIL pooled in row blocks (huge bags)', () => {
  for (const attention of ['tanh', 'gated'] as const) {
    const make = () => {
      // The gated scorer's own dropout draws its masks between the projection's, block by block, so
      // it is off here to compare mask for mask (the projection's dropout stays on).
      const model = createModel('abmil', {
        inputDim: 24,
        embedDim: 16,
        attention,
        attentionDropout: 0,
        numClasses: 3,
        seed: 5,
      });
      return ((model as unknown as { inner?: Abmil }).inner ?? model) as Abmil;
    };

    it(`${attention}: inference equals the whole bag (logits, embedding, attention), ragged last block`, () => {
      const model = make();
      const bag = bagOf(203, 24, 1);
      tf.tidy(() => {
        const whole = model.forward(uploadBag(bag), { training: false });
        const blocks = model.pooledInBlocks(bag, { training: false }, 16);
        for (const k of ['logits', 'embedding', 'attention'] as const)
          assert.ok(relDiff(blocks[k]!.dataSync(), whole[k]!.dataSync()) < 1e-5, k);
        assert.ok(Math.abs(blocks.attention!.sum().dataSync()[0] - 1) < 1e-5);
      });
      model.dispose();
    });

    it(`${attention}: training gradients (dropout on) equal the whole bag's for every weight`, () => {
      const target = { kind: 'class' as const, label: 2, numClasses: 3 };
      const bag = bagOf(150, 24, 2);
      const grads = (streamed: boolean) => {
        const model = make(); // same seed: same weights and dropout stream
        const { value, grads } = tf.variableGrads(() => {
          const out = streamed
            ? model.pooledInBlocks(bag, { training: true, target }, 32)
            : model.forward(uploadBag(bag), { training: true, target });
          return totalLoss(model.loss(out, target));
        }, model.trainableVariables());
        const named = [...model.namedVariables()].map(([name, v]) => [name, grads[v.name].dataSync()] as const);
        const loss = value.dataSync()[0];
        tf.dispose([value, ...Object.values(grads)]);
        model.dispose();
        return { loss, named };
      };
      const numBefore = tf.memory().numTensors;
      const whole = grads(false);
      const blocks = grads(true);
      assert.ok(Math.abs(whole.loss - blocks.loss) < 1e-5 * Math.max(1, Math.abs(whole.loss)));
      assert.equal(blocks.named.length, whole.named.length);
      // Relative to the largest gradient entry: the score bias's gradient is 0 in exact arithmetic.
      const scale = Math.max(...whole.named.map(([, g]) => Math.max(...Array.from(g, Math.abs))));
      whole.named.forEach(([name, g], i) => {
        assert.equal(blocks.named[i][0], name);
        const d = Math.max(...Array.from(g, (v, j) => Math.abs(v - blocks.named[i][1][j])));
        assert.ok(d < 1e-5 * scale, `${name}: ${d / scale}`);
      });
      assert.equal(tf.memory().numTensors, numBefore, 'no tensor left behind');
    });
  }

  it('streams only bags past STREAM_BYTES (200,000 × 1024 does, 30,000 × 1024 does not)', () => {
    const model = make2();
    assert.equal(model.streams({ id: 'a', features: new Float32Array(0), numInstances: 30000, dim: 1024 }), false);
    assert.equal(model.streams({ id: 'b', features: new Float32Array(0), numInstances: 200000, dim: 1024 }), true);
    model.dispose();
  });
});

function make2(): Abmil {
  const model = createModel('abmil', {});
  return ((model as unknown as { inner?: Abmil }).inner ?? model) as Abmil;
}
