/**
 * The shared instance-MLP pieces (src/models/layers/instanceMlp.ts, instanceVae.ts): the parameter
 * names checkpoints depend on, config errors naming the model, and the max-pooled output against a
 * plain reference.
 */
import { strict as assert } from 'node:assert';
import * as tf from '@tensorflow/tfjs';
import { InstanceMlp, maxPooledOutput } from '../../src/models/layers/instanceMlp';
import { checkLatent, InstanceVae, scaledElbo } from '../../src/models/layers/instanceVae';
import { GaussianHead } from '../../src/models/layers/latent';
import { ParamStore } from '../../src/models/layers/params';

const CONFIG = { inputDim: 6, numClasses: 2, hidden: [5, 4], dropout: 0 };

describe('models/layers: shared instance-MLP set-ups', () => {
  it('class-logit and instance-score MLPs keep the models’ parameter names and head widths', () => {
    const a = new ParamStore(1);
    const logits = InstanceMlp.classLogits(a, 'dp-minn', CONFIG);
    assert.deepEqual(
      [...a.named().keys()],
      ['hidden/0/kernel', 'hidden/0/bias', 'hidden/1/kernel', 'hidden/1/bias', 'classifier/kernel', 'classifier/bias'],
    );
    assert.equal(logits.head.outDim, 2);
    const b = new ParamStore(1);
    const scores = InstanceMlp.instanceScores(b, 'power-pooling', { ...CONFIG, numClasses: 3 });
    assert.deepEqual(
      [...b.named().keys()].map((n) => n.split('/')[0]),
      ['encoder', 'encoder', 'encoder', 'encoder', 'classifier', 'classifier'],
    );
    assert.equal(scores.head.outDim, 3);
    tf.tidy(() => {
      const h = scores.embed(tf.ones([7, 6]) as tf.Tensor2D, false);
      assert.deepEqual(h.shape, [7, 4]);
      assert.deepEqual(scores.score(h).shape, [7, 3]);
    });
    a.dispose();
    b.dispose();
  });

  it('config errors name the model', () => {
    assert.throws(
      () => InstanceMlp.classLogits(new ParamStore(0), 'loss-attention', { ...CONFIG, hidden: [] }),
      /^Error: loss-attention: hidden must list/,
    );
    assert.throws(
      () => InstanceMlp.instanceScores(new ParamStore(0), 'adaptive-pooling', { ...CONFIG, dropout: 1 }),
      /adaptive-pooling: dropout must be in \[0, 1\)/,
    );
    assert.throws(() => checkLatent('mivae', 0, -1, [4]), /mivae: the ELBO\/KL weight must be ≥ 0/);
    assert.throws(() => checkLatent('causalmil', 0, 1, [0]), /causalmil: latent widths/);
  });

  it('InstanceVae creates encoder, heads, decoder (mirrored widths), scorer in that order', () => {
    const p = new ParamStore(2);
    const vae = new InstanceVae(
      p,
      CONFIG,
      { latentDim: 3, scoredDim: 2 },
      (e) => new GaussianHead(p.scope('latent'), e, 3),
    );
    const groups = [...new Set([...p.named().keys()].map((n) => n.split('/')[0]))];
    assert.deepEqual(groups, ['encoder', 'latent', 'decoder', 'classifier']);
    assert.deepEqual(vae.decoder.apply(tf.zeros([2, 3]) as tf.Tensor2D).shape, [2, 6]);
    assert.equal(vae.scorer.outDim, 1); // binary: one scored class
    tf.tidy(() =>
      assert.ok(Math.abs(scaledElbo(tf.scalar(48), 2, tf.zeros([4, 6]) as tf.Tensor2D).dataSync()[0] - 4) < 1e-6),
    ); // 2·48/(4·6)
    p.dispose();
  });

  it('maxPooledOutput: bag logits = per-class max of [0, s], attention = softmax of the scores', () =>
    tf.tidy(() => {
      const s = [0.5, -2, 3, 1];
      const out = maxPooledOutput(tf.tensor2d(s, [4, 1]), 2, tf.zeros([3]) as tf.Tensor1D);
      assert.deepEqual(Array.from(out.logits.dataSync()), [0, 3]);
      const z = s.reduce((acc, v) => acc + Math.exp(v), 0);
      out.attention!.dataSync().forEach((a, i) => assert.ok(Math.abs(a - Math.exp(s[i]) / z) < 1e-6));
      assert.deepEqual(out.instanceLogits!.shape, [4, 2]);
    }));
});
