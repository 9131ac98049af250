/**
 * The fused, recomputing Nyström core (`nystromHeads`) against the plain taped one
 * (`nystromHeadsReference`): same values, same gradients, and gradients that match central
 * differences; and TransMIL's checkpointed layers (src/models/layers/checkpoint.ts) against the
 * taped ones, with dropout active (the recomputation must replay the same masks).
 */
import { strict as assert } from 'node:assert';
import * as tf from '@tensorflow/tfjs';
import { nystromHeads, nystromHeadsReference, type NystromShape } from '../../src/models/layers/nystrom';
import { createModel } from '../../src/registry';
import { Rng } from '../../src/random';
import { expectGradMatches, maxAbsDiff, onCpu, someCoords } from './helpers/gradcheck';
import { totalLoss } from '../../src/models/losses';

function rand(shape: number[], seed: number, sd = 1): tf.Tensor {
  const rng = new Rng(seed);
  return tf.tensor(
    Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => rng.normal(0, sd)),
    shape,
  );
}

const SHAPE: NystromShape = { heads: 3, headDim: 4, landmarks: 4, iterations: 6 };
const LEN = 12; // 3 rows per landmark segment

function compareFusedToReference(): void {
  const qkv = rand([LEN, 3 * SHAPE.heads * SHAPE.headDim], 1) as tf.Tensor2D;
  const dy = rand([LEN, SHAPE.heads * SHAPE.headDim], 2);
  const fused = nystromHeads(qkv, SHAPE);
  const reference = nystromHeadsReference(qkv, SHAPE);
  assert.equal(maxAbsDiff(fused.dataSync(), reference.dataSync()), 0, 'forward values identical');
  const gFused = tf.grad((x: tf.Tensor) => nystromHeads(x as tf.Tensor2D, SHAPE))(qkv, dy);
  const gRef = tf.grad((x: tf.Tensor) => nystromHeadsReference(x as tf.Tensor2D, SHAPE))(qkv, dy);
  const scale = Math.max(...Array.from(gRef.dataSync(), Math.abs));
  const diff = maxAbsDiff(gFused.dataSync(), gRef.dataSync());
  assert.ok(diff <= 1e-5 * Math.max(1, scale), `gradient max diff ${diff} (largest entry ${scale})`);
  tf.dispose([qkv, dy, fused, reference, gFused, gRef]);
}

describe('models/layers: fused Nyström attention', () => {
  it('equals the plain taped core in value and gradient (active backend)', () => compareFusedToReference());

  it('equals the plain taped core in value and gradient (cpu backend)', () => onCpu(compareFusedToReference));

  it('gradient of the fused core matches central differences (incl. the cross-head pinv scale)', () =>
    onCpu(() => {
      const v = tf.variable(rand([LEN, 3 * SHAPE.heads * SHAPE.headDim], 3));
      const w = rand([LEN, SHAPE.heads * SHAPE.headDim], 4);
      expectGradMatches(
        () => tf.tidy(() => tf.sum(tf.mul(nystromHeads(v as unknown as tf.Tensor2D, SHAPE), w)) as tf.Scalar),
        v,
        someCoords(v.size, 12),
      );
      tf.dispose([v, w]);
    }));

  it('leaves no tensors behind after a gradient', () => {
    const qkv = rand([LEN, 3 * SHAPE.heads * SHAPE.headDim], 5) as tf.Tensor2D;
    const before = tf.memory().numTensors;
    for (let i = 0; i < 3; i++) tf.grad((x: tf.Tensor) => tf.sum(nystromHeads(x as tf.Tensor2D, SHAPE)))(qkv).dispose();
    assert.equal(tf.memory().numTensors, before);
    qkv.dispose();
  });

  it('TransMIL with dropout: checkpointed layers give the same loss and gradients as the taped layers', () => {
    const config = {
      inputDim: 6,
      embedDim: 16,
      heads: 2,
      headDim: 8,
      landmarks: 4,
      residualKernel: 5,
      dropout: 0.25,
      attentionDropout: 0.3,
      seed: 2,
    };
    const bag = rand([11, 6], 8) as tf.Tensor2D;
    const target = { kind: 'class', label: 1, numClasses: 2 } as const;
    const run = (checkpoint: boolean) => {
      const model = createModel('transmil', { ...config, checkpoint });
      const { grads, value } = tf.variableGrads(
        () => totalLoss(model.loss(model.forward(bag, { training: true }), target)),
        model.trainableVariables(),
      );
      const named = [...model.namedVariables!()].map(([k, v]) => [k, grads[v.name].dataSync().slice()] as const);
      const loss = value.dataSync()[0];
      tf.dispose([value, ...Object.values(grads)]);
      model.dispose();
      return { loss, named };
    };
    const live = tf.memory().numTensors;
    const [a, b] = [run(true), run(false)];
    assert.equal(tf.memory().numTensors, live, 'no tensor left behind');
    assert.ok(Math.abs(a.loss - b.loss) < 1e-6, `loss ${a.loss} vs ${b.loss}`);
    for (const [i, [name, g]] of a.named.entries()) {
      const scale = Math.max(1e-3, ...Array.from(b.named[i][1], Math.abs));
      assert.ok(maxAbsDiff(g, b.named[i][1]) <= 1e-5 * scale + 1e-7, `${name}: checkpointed gradient differs`);
    }
    bag.dispose();
  });

  it('TransMIL (checkpointed): gradients of every parameter match central differences (cpu)', () =>
    onCpu(() => {
      const model = createModel('transmil', {
        inputDim: 5,
        embedDim: 8,
        heads: 2,
        headDim: 4,
        landmarks: 4,
        residualKernel: 3,
        dropout: 0,
        attentionDropout: 0,
        seed: 3,
      });
      const bag = rand([9, 5], 9) as tf.Tensor2D;
      const target = { kind: 'class', label: 0, numClasses: 2 } as const;
      const f = () => tf.tidy(() => totalLoss(model.loss(model.forward(bag, { training: true }), target)));
      // One weight of each kind inside the two checkpointed blocks, and one on each side of them.
      const names = [
        'cls_token',
        'layer1/norm/gamma',
        'layer1/attn/to_qkv/kernel',
        'layer1/attn/res_conv',
        'ppeg/conv7/filter',
        'layer2/attn/to_out/kernel',
        'classifier/kernel',
      ];
      const named = model.namedVariables!();
      for (const name of names)
        expectGradMatches(f, named.get(name)!, someCoords(named.get(name)!.size, 2), 3e-3, 3e-2, 2e-3);
      bag.dispose();
      model.dispose();
    }));

  it('TransMIL: logits inside a gradient tape (fused core) equal the logits of a plain forward', () => {
    const model = createModel('transmil', {
      inputDim: 6,
      embedDim: 16,
      heads: 2,
      headDim: 8,
      landmarks: 4,
      residualKernel: 5,
      dropout: 0,
      attentionDropout: 0,
      seed: 2,
    });
    const bag = rand([11, 6], 6) as tf.Tensor2D;
    const plain = tf.tidy(() => model.forward(bag, { training: false }).logits);
    let taped: tf.Tensor | undefined;
    const { grads, value } = tf.variableGrads(() => {
      const out = model.forward(bag, { training: true });
      taped = tf.keep(out.logits.clone());
      return tf.sum(out.logits) as tf.Scalar;
    }, model.trainableVariables());
    assert.ok(maxAbsDiff(plain.dataSync(), taped!.dataSync()) < 1e-6);
    assert.ok(Object.values(grads).every((g) => g.dataSync().every(Number.isFinite)));
    tf.dispose([plain, taped!, value, bag, ...Object.values(grads)]);
    model.dispose();
  });

  it(
    'TransMIL derives head width and landmarks from embedDim ' + 'as the reference (dim // 8, dim // 2) unless given',
    () => {
      const qkvShape = (config: Record<string, unknown>) => {
        const model = createModel('transmil', { inputDim: 6, ...config });
        const shape = [...model.namedVariables!()].find(([name]) => name.includes('layer1/attn/to_qkv'))![1].shape;
        model.dispose();
        return shape;
      };
      assert.deepEqual(qkvShape({ embedDim: 64 }), [64, 3 * 8 * 8]); // 8 heads × 8
      assert.deepEqual(qkvShape({}), [512, 3 * 8 * 64]); // the published 512 → 8 heads × 64
      assert.deepEqual(qkvShape({ embedDim: 64, headDim: 16 }), [64, 3 * 8 * 16]);
    },
  );
});
