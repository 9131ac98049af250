/**
 * Models on disk: a saved model, a trained fold model (with standardisation, threshold and task) and
 * a training checkpoint each reload bit for bit and predict the same; a file that does not fit the
 * model it describes (shapes, missing or extra tensors, unknown model, wrong kind, another run) is
 * refused naming the file and the tensor, and `milkit predict` says so in one line.
 */
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { Cohort } from '../../src/data';
import { stratifiedKFold } from '../../src/data/splits';
import type { MilModel } from '../../src/models';
import { createModel } from '../../src/registry';
import {
  findTrainedModels,
  loadModel,
  loadTrainedModel,
  readCheckpoint,
  runFingerprint,
  saveModel,
  writeCheckpoint,
} from '../../src/persist';
import { readTrainingState, restoreTrainingState } from '../../src/persist/training';
import { main } from '../../src/cli/main';
import { predictInstances, Trainer } from '../../src/train';
import { randomFloats, tempDir } from '../helpers/tmp';
import { writeToyCohort } from '../train/fixtures';
import { FIXTURES, assertRefused, rewriteHeader } from './helpers';

const bits = (m: MilModel) =>
  m.variables().map((v) => {
    const a = v.dataSync() as Float32Array;
    return Buffer.from(a.buffer, a.byteOffset, a.byteLength).toString('base64');
  });
const logits = (m: MilModel, x: tf.Tensor2D) =>
  tf.tidy(() => Array.from(m.forward(x, { training: false }).logits.dataSync()));

describe('persist/model: models, trained fold models and training checkpoints', function () {
  this.timeout(300_000);
  const dir = tempDir();
  const small = { inputDim: 6, numClasses: 2, embedDim: 8, attentionDim: 4, seed: 3 };

  it('saveModel → loadModel: name, config, weights bit for bit, predictions', async () => {
    const x = tf.tensor2d(randomFloats(10 * 6), [10, 6]);
    for (const [name, config] of [
      ['abmil', { ...small, gated: true }],
      ['transmil', { inputDim: 6, numClasses: 3, embedDim: 8, heads: 2, headDim: 4, landmarks: 4, seed: 2 }],
      ['mhim', { inputDim: 6, numClasses: 2, seed: 1, base: 'abmil', baseConfig: { embedDim: 8, attention: 'relu' } }],
    ] as const) {
      const model = createModel(name, config as Record<string, unknown>);
      const file = path.join(dir, `${name}.ckpt`);
      await saveModel(model, file);
      const back = loadModel(file);
      assert.equal(back.name, name);
      assert.deepEqual(back.config, model.config);
      assert.deepEqual(bits(back), bits(model), name);
      assert.deepEqual(logits(back, x), logits(model, x), name);
      [model, back].forEach((m) => m.dispose());
    }
    x.dispose();
    assert.deepEqual(
      fs.readdirSync(dir).filter((f) => f.includes('.tmp-')),
      [],
    );
    await assert.rejects(
      saveModel(createModel('abmil', small), path.join(FIXTURES, 'milkit-0.1-saved-model')),
      /is a folder \(a model saved by milkit 0\.1\?\); a model is one file/,
    );
  });

  it('a file that does not fit its model: shapes, missing, extra, unknown model, kind', async () => {
    const file = path.join(dir, 'abmil.ckpt');
    await saveModel(createModel('abmil', small), file);
    const bad = path.join(dir, 'bad.ckpt');
    const load = () => loadModel(bad);
    const ck = readCheckpoint<{ model: { name: string; config: Record<string, unknown> } }>(file);
    const variant = (edit: (c: typeof ck) => void) => {
      const c = readCheckpoint<typeof ck.meta>(file);
      edit(c);
      writeCheckpoint(bad, c);
    };
    const first = ck.tensors[0].name;
    variant((c) => (c.meta.model.config.embedDim = 16));
    assertRefused(load, bad, /shape \[6,8\] in the file, \[6,16\] in model "abmil"/, first);
    variant((c) => c.tensors.splice(1, 1));
    assertRefused(load, bad, /missing: model "abmil" needs this tensor and the file has none/, ck.tensors[1].name);
    variant((c) => c.tensors.push({ name: 'model/extra/kernel', shape: [2], values: new Float32Array(2) }));
    assertRefused(load, bad, /a tensor in the file that model "abmil" does not have/, 'model/extra/kernel');
    variant((c) => (c.meta.model.name = 'abmill'));
    assertRefused(
      load,
      bad,
      /cannot rebuild model "abmill": unknown model "abmill" \(did you mean "abmil"\?\)/,
      'meta.model',
    );
    variant((c) => delete (c.meta as Partial<typeof c.meta>).model);
    assertRefused(load, bad, /the header names no model/, 'meta.model');
    // The header's sizes checked against the bytes before any model is built.
    fs.copyFileSync(file, bad);
    rewriteHeader(bad, (h) => ((h.tensors as { shape: number[] }[])[0].shape = [6, 9]));
    assertRefused(
      load,
      bad,
      /the header puts it at byte 192 of the data, the tensors before it end at 216/,
      ck.tensors[1].name,
    );
    assertRefused(
      () => loadTrainedModel(file),
      file,
      /this is a saved model \(saveModel\), but a trained fold model/,
      'kind',
    );
    for (const legacy of ['milkit-0.1-model.ckpt', 'milkit-0.1-saved-model', 'milkit-0.1-encoder.ckpt']) {
      const f = path.join(FIXTURES, legacy);
      assertRefused(() => loadModel(f), f, /milkit 0\.1/);
    }
  });

  describe('through a real training run', () => {
    let cohort: Cohort;
    let out: string;
    const config = { epochs: 3, lr: 5e-3, seed: 4, standardize: true };
    const model = { name: 'abmil', config: { embedDim: 8, attentionDim: 4, dropout: 0.25 } };
    before(async () => {
      cohort = await Cohort.open(await writeToyCohort(dir, { bags: 24, dim: 6, offset: 3 }));
      out = path.join(dir, 'run');
      const split = stratifiedKFold(cohort.bags, { k: 3, seed: 1, valFraction: 0.25 })[0];
      await new Trainer({ model, config }).fit(cohort, split, { outDir: out });
    });
    after(() => cohort.close());

    it('the trained fold model reloads with its standardisation, threshold, task and fingerprint', async () => {
      const [file] = findTrainedModels(out);
      const t = loadTrainedModel(file);
      try {
        assert.equal(t.source, path.join(out, 'rep0-fold0'));
        assert.equal(t.model.name, 'abmil');
        assert.deepEqual(t.task, { kind: 'class', numClasses: 2 });
        assert.equal(t.threshold?.fittedOn, 'val');
        assert.ok(t.stats && t.stats.dim === 6 && t.stats.count > 0);
        assert.ok(
          t.stats.mean.every((m) => m > 2),
          'the features are offset by 3: the stored means are real',
        );
        assert.deepEqual(Object.keys(t.fingerprint!.parts).sort(), ['data', 'model', 'seed', 'split', 'training']);
        // The weights are those of the training checkpoint's model (selection on 'val' keeps the best).
        const best = readCheckpoint(path.join(t.source, 'best.ckpt')).tensors.filter((x) =>
          x.name.startsWith('model/'),
        );
        const saved = readCheckpoint(file).tensors.filter((x) => x.name.startsWith('model/'));
        assert.deepEqual(
          saved.map((x) => [x.name, Array.from(x.values)]),
          best.map((x) => [x.name, Array.from(x.values)]),
        );
        // Predictions: standardised with the stored statistics, identical on every reload.
        const bag = await cohort.bag(1);
        const again = loadTrainedModel(file);
        const [a, b] = [
          await predictInstances(t.model, bag, t.stats),
          await predictInstances(again.model, bag, again.stats),
        ];
        assert.deepEqual(Array.from(a.logits), Array.from(b.logits));
        assert.deepEqual(bits(again.model), bits(t.model));
        again.model.dispose();
      } finally {
        t.model.dispose();
      }
    });

    it('a training checkpoint restores weights and optimiser state; another run is refused naming what differs', () => {
      const file = path.join(out, 'rep0-fold0', 'last.ckpt');
      const fp = readCheckpoint(file, 'training-state').fingerprint!;
      const m = createModel(
        'abmil',
        readCheckpoint<{ model: { config: Record<string, unknown> } }>(file).meta.model.config,
      );
      try {
        const restored = restoreTrainingState<{ epoch: number }>(readTrainingState(file, fp), m);
        assert.equal(restored.state.epoch, 3);
        assert.equal(restored.optimizer.moments.length, m.trainableVariables().length);
        assert.ok(restored.optimizer.step > 0);
        const weights = readCheckpoint(file).tensors.filter((x) => x.name.startsWith('model/'));
        assert.deepEqual(
          m.variables().map((v) => Array.from(v.dataSync())),
          weights.map((w) => Array.from(w.values)),
        );
        const other = runFingerprint({
          ...fp.parts,
          seed: 5,
          training: { ...(fp.parts.training as object), lr: 1e-3 },
        });
        assertRefused(
          () => readTrainingState(file, other),
          file,
          new RegExp(
            /cannot resume: .* \(seed: saved \d+, now 5; training\.lr: saved 0\.005, now /.source +
              /0\.001\)\. Fix: resume with the original settings, or use a new output folder/.source,
          ),
          'fingerprint',
        );
      } finally {
        m.dispose();
      }
    });

    it('milkit predict / eval on a milkit 0.1 model: one line naming the file and what to do, exit 1', async () => {
      const old = path.join(dir, 'old-run', 'rep0-fold0');
      fs.mkdirSync(old, { recursive: true });
      fs.copyFileSync(path.join(FIXTURES, 'milkit-0.1-model.ckpt'), path.join(old, 'model.ckpt'));
      const data = cohort.path;
      for (const args of [
        ['predict', '--model-dir', old, '--data', data, '--out', path.join(dir, 'p')],
        ['eval', '--model-dir', path.dirname(old), '--data', data],
      ]) {
        let err = '';
        const write = process.stderr.write;
        process.stderr.write = ((s: string) => ((err += s), true)) as typeof process.stderr.write;
        let code: number;
        try {
          code = await main(args);
        } finally {
          process.stderr.write = write;
        }
        assert.equal(code, 1);
        const lines = err.trim().split('\n');
        assert.equal(lines.length, 1, err);
        assert.match(
          lines[0],
          new RegExp(
            `^milkit ${args[0]}: file ${path.join(old, 'model.ckpt')}: a checkpoint in ` +
              `milkit 0\\.1's format 1 .* run the command that made it again with this milkit`,
          ),
        );
      }
    });
  });
});
