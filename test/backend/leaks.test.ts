/**
 * No leaks on the active backend path (with the OpenBLAS kernels when they are active): across 1000
 * MHIM-v2(AB-MIL) training steps on tiny bags, neither the live tensors nor the backend's data
 * buffers grow (the copy-free Identity shares buffers by reference count, so both are checked).
 * AB-MIL alone is covered by test/models/training.test.ts.
 */
import { strict as assert } from 'node:assert';
import * as tf from '@tensorflow/tfjs';
import { MhimModel } from '../../src/mhim/mhim';
import { Adam } from '../../src/train/optimizer';
import type { Target } from '../../src/models/types';
import { smallAbmil, syntheticBags } from '../mhim/fixtures';
import { trainStep } from '../../src/train/step';

describe('no leaks across 1000 steps', function () {
  this.timeout(300_000);

  it('MHIM-v2(AB-MIL): live tensors and backend buffers after 1000 steps equal those after 10', async () => {
    const model = new MhimModel(smallAbmil(), { grn: { numQueries: 2, keepFraction: 0.7 } });
    const optimizer = new Adam(model.trainableVariables(), { lr: 1e-3, weightDecay: 1e-5 });
    const bags = syntheticBags(16, 6);
    const buffers = () => tf.engine().backend.numDataIds();
    const step = async (i: number) => {
      const { bag, label } = bags[i % bags.length];
      const target: Target = { kind: 'class', label, numClasses: 2 };
      const r = await trainStep(model, bag, target, optimizer);
      assert.ok(Number.isFinite(r.loss));
    };
    for (let i = 0; i < 10; i++) await step(i);
    const [tensors, data] = [tf.memory().numTensors, buffers()];
    for (let i = 10; i < 1000; i++) await step(i);
    assert.equal(tf.memory().numTensors, tensors, 'live tensors');
    assert.equal(buffers(), data, 'backend data buffers');
    optimizer.dispose();
    model.dispose();
  });
});
