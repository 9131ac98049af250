/**
 * The convolutional instance encoder (`image-mil`): the wasm-safe convolution and pooling match
 * tfjs's own ops and their gradients (cpu backend, which has the backprop kernels) and central
 * differences; shapes, the registry config checks, and a learning check on tiny synthetic images.
 */
import { strict as assert } from 'node:assert';
import * as tf from '@tensorflow/tfjs';
import { convValid, encodedShape, maxPool2, type MilModel, type Target } from '../../src/models';
import { loadModel, saveModel } from '../../src/persist';
import { createModel } from '../../src/registry';
import { tempDir } from '../helpers/tmp';
import { Rng } from '../../src/random';
import { expectGradMatches, expectZeroGrad, maxAbsDiff, onCpu, SHIFT_INVARIANT, someCoords } from './helpers/gradcheck';
import { tidyOutput } from './helpers/tidyOutput';
import { totalLoss } from '../../src/models/losses';

function rand(shape: number[], seed: number): tf.Tensor {
  const rng = new Rng(seed);
  return tf.tensor(
    Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => rng.normal()),
    shape,
  );
}

describe('models: image-mil (convolutional instance encoder)', () => {
  it('convValid and maxPool2 equal tf.conv2d / tf.maxPool, with the same gradients (cpu)', () =>
    onCpu(() => {
      const x = rand([3, 10, 10, 2], 1) as tf.Tensor4D;
      const w = rand([5, 5, 2, 4], 2) as tf.Tensor4D;
      const ours = (a: tf.Tensor, b: tf.Tensor) => maxPool2(convValid(a as tf.Tensor4D, b as tf.Tensor4D));
      const theirs = (a: tf.Tensor, b: tf.Tensor) =>
        tf.maxPool(tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, 1, 'valid'), 2, 2, 'valid');
      assert.ok(maxAbsDiff(ours(x, w).dataSync(), theirs(x, w).dataSync()) < 1e-5);
      const dy = rand([3, 3, 3, 4], 3);
      const g1 = tf.grads(ours)([x, w], dy);
      const g2 = tf.grads(theirs)([x, w], dy);
      for (let i = 0; i < 2; i++) assert.ok(maxAbsDiff(g1[i].dataSync(), g2[i].dataSync()) < 1e-4, `gradient ${i}`);
      tf.dispose([x, w, dy, ...g1, ...g2]);
    }));

  it('gradients of every encoder and MIL weight match central differences (cpu)', () =>
    onCpu(() => {
      const model = createModel('image-mil', {
        inputDim: 16 * 16,
        imageShape: [16, 16, 1],
        embedDim: 8,
        milConfig: { attentionDim: 4 },
        seed: 4,
      });
      const bag = rand([3, 256], 5) as tf.Tensor2D;
      const target: Target = { kind: 'class', label: 1, numClasses: 2 };
      const f = () => tf.tidy(() => totalLoss(model.loss(model.forward(bag, { training: false }), target)));
      const named = model.namedVariables!();
      // Saved as LeNet (convolutions + fc) under encoder/, the MIL model under mil/.
      assert.deepEqual([...named.keys()].slice(0, 6), [
        'encoder/conv1/filter',
        'encoder/conv1/bias',
        'encoder/conv2/filter',
        'encoder/conv2/bias',
        'encoder/fc/kernel',
        'encoder/fc/bias',
      ]);
      assert.ok(named.has('mil/attention/V/kernel'));
      const scales = [...named]
        .filter(([name]) => name !== 'mil/attention/w/bias')
        .map(([name, v]) => expectGradMatches(f, v, someCoords(v.size, 3), 3e-3, 3e-2, 2e-3, name).scale);
      expectZeroGrad(f, named.get('mil/attention/w/bias')!, [0], SHIFT_INVARIANT, Math.max(...scales));
      bag.dispose();
      model.dispose();
    }));

  it(
    'wraps TransMIL too: the encoder gets the same gradients ' +
      'through its checkpointed layers as through the taped ones (cpu)',
    () =>
      onCpu(() => {
        // The encoder's own gradients are checked against central differences above (under AB-MIL);
        // TransMIL's checkpointed layers against theirs in models.test.ts. What is left to show: the
        // checkpointed blocks hand the encoder the right input gradient.
        const create = (checkpoint: boolean) =>
          createModel('image-mil', {
            inputDim: 256,
            imageShape: [16, 16, 1],
            embedDim: 8,
            mil: 'transmil',
            milConfig: { heads: 2, headDim: 4, landmarks: 4, residualKernel: 3, attentionDropout: 0, checkpoint },
            seed: 4,
          });
        const bag = rand([5, 256], 6) as tf.Tensor2D;
        const target: Target = { kind: 'class', label: 1, numClasses: 2 };
        const gradsOf = (model: ReturnType<typeof create>) => {
          const vars = model.namedVariables!();
          const { grads, value } = tf.variableGrads(
            () => totalLoss(model.loss(model.forward(bag, { training: true }), target)),
            [...vars.values()],
          );
          const out = new Map([...vars].map(([k, v]) => [k, grads[v.name].dataSync().slice()]));
          tf.dispose([value, ...Object.values(grads)]);
          return out;
        };
        const [checkpointed, taped] = [create(true), create(false)];
        const [g1, g2] = [gradsOf(checkpointed), gradsOf(taped)];
        assert.ok(
          g1.has('encoder/conv1/filter') &&
            g1.has('mil/cls_token') &&
            g1.has('mil/ppeg/conv7/filter') &&
            g1.has('encoder/fc/kernel'),
        );
        for (const [k, g] of g1) {
          const scale = Math.max(...Array.from(g2.get(k)!, Math.abs));
          assert.ok(scale > 0, `${k}: no gradient`);
          assert.ok(maxAbsDiff(g, g2.get(k)!) <= 1e-4 * scale + 1e-7, `${k}: checkpointed vs taped gradient`);
        }
        bag.dispose();
        checkpointed.dispose();
        taped.dispose();
      }),
  );

  it('encodes MNIST-sized and colon-sized instances; rejects shapes that do not fit', () => {
    assert.deepEqual(encodedShape('lenet', [28, 28, 1]), [4, 4, 50]); // the paper's 800 features
    assert.deepEqual(encodedShape('colon', [27, 27, 3]), [5, 5, 48]);
    assert.throws(
      () => createModel('image-mil', { inputDim: 100 }),
      /imageShape 28×28×1 = 784 pixels, but inputDim is 100/,
    );
    assert.throws(
      () => createModel('image-mil', { inputDim: 27 * 27, imageShape: [27, 27, 1] }),
      /block 1 .* even size/,
    );
    assert.throws(
      () => createModel('image-mil', { mil: 'mi-net' }),
      /model "mi-net" is not built in stages, so it takes no instance encoder/,
    );
    const model = createModel('image-mil', { inputDim: 784, mil: 'gabmil', seed: 1 });
    for (const n of [1, 7]) {
      const out = tidyOutput(() => model.forward(tf.zeros([n, 784]) as tf.Tensor2D, { training: false }));
      assert.deepEqual(out.logits.shape, [2]);
      assert.deepEqual(out.attention!.shape, [n]);
      tf.dispose(Object.values(out));
    }
    model.dispose();
  });

  it(
    'the model contract (as models.test.ts for the other ' + 'models): bags of 1 and 2,000, order, seeds, save/load',
    async () => {
      const config = {
        inputDim: 256,
        imageShape: [16, 16, 1] as [number, number, number],
        embedDim: 8,
        milConfig: { attentionDim: 4 },
      };
      const model = createModel('image-mil', { ...config, seed: 1 });
      for (const n of [1, 2000]) {
        const out = tidyOutput(() => model.forward(rand([n, 256], n) as tf.Tensor2D, { training: false }));
        assert.deepEqual(out.logits.shape, [2]);
        assert.deepEqual(out.attention!.shape, [n]);
        assert.ok(Math.abs(out.attention!.sum().dataSync()[0] - 1) < 1e-4);
        tf.dispose(Object.values(out));
      }
      const bag = rand([6, 256], 11) as tf.Tensor2D;
      const order = [5, 2, 0, 4, 1, 3];
      const shuffled = tf.tensor2d(
        order.flatMap((i) => Array.from(bag.dataSync().slice(i * 256, (i + 1) * 256))),
        [6, 256],
      );
      const logits = (m: MilModel, x: tf.Tensor2D, training = false) =>
        tf.tidy(() => m.forward(x, { training }).logits.dataSync().slice());
      assert.ok(maxAbsDiff(logits(model, bag), logits(model, shuffled)) < 1e-5, 'permutation invariant');
      const [same, other] = [
        createModel('image-mil', { ...config, seed: 1, dropout: 0.3 }),
        createModel('image-mil', { ...config, seed: 2 }),
      ];
      const twin = createModel('image-mil', { ...config, seed: 1, dropout: 0.3 });
      assert.deepEqual(logits(same, bag, true), logits(twin, bag, true), 'same seed, same dropout masks');
      assert.ok(maxAbsDiff(logits(model, bag), logits(other, bag)) > 1e-6, 'another seed, other weights');
      const dir = tempDir();
      await saveModel(model, `${dir}/image-mil`);
      const loaded = await loadModel(`${dir}/image-mil`);
      assert.equal(loaded.name, 'image-mil');
      assert.deepEqual(logits(loaded, bag), logits(model, bag));
      for (const m of [model, same, other, twin, loaded]) m.dispose();
      tf.dispose([bag, shuffled]);
    },
  );

  it('learns tiny image bags (positive iff one image holds a bright cross), test accuracy ≥ 0.8', function () {
    this.timeout(600_000); // ~20 s on a loaded machine
    const side = 16;
    const rng = new Rng(7);
    const bags = Array.from({ length: 80 }, (_, b) => {
      const n = 3 + rng.int(4);
      const x = Float32Array.from({ length: n * side * side }, () => 0.3 * rng.next());
      if (b % 2 === 1) {
        const k = rng.int(n);
        const [r0, c0] = [2 + rng.int(12), 2 + rng.int(12)];
        for (let d = -2; d <= 2; d++) {
          x[k * side * side + (r0 + d) * side + c0] = 1;
          x[k * side * side + r0 * side + c0 + d] = 1;
        }
      }
      return { x, n, label: b % 2 };
    });
    const model = createModel('image-mil', {
      inputDim: side * side,
      imageShape: [side, side, 1],
      embedDim: 16,
      milConfig: { attentionDim: 8 },
      seed: 2,
    });
    const opt = tf.train.adam(2e-3);
    for (let epoch = 0; epoch < 6; epoch++) {
      for (const { x, n, label } of bags.slice(0, 50)) {
        const target: Target = { kind: 'class', label, numClasses: 2 };
        const bag = tf.tensor2d(x, [n, side * side]);
        opt.minimize(
          () => totalLoss(model.loss(model.forward(bag, { training: true }), target)),
          false,
          model.trainableVariables(),
        );
        bag.dispose();
      }
    }
    let correct = 0;
    for (const { x, n, label } of bags.slice(50)) {
      const l = tf.tidy(() =>
        Array.from(model.forward(tf.tensor2d(x, [n, side * side]), { training: false }).logits.dataSync()),
      );
      if ((l[1] > l[0] ? 1 : 0) === label) correct++;
    }
    opt.dispose();
    model.dispose();
    assert.ok(correct / 30 >= 0.8, `test accuracy ${correct / 30}`);
  });
});
