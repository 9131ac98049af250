import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { Cohort } from '../../src/data';
import '../../src/registry'; // the "mhim" registry model
import { repeatedKFold, stratifiedKFold } from '../../src/data/splits';
import { readCheckpoint } from '../../src/persist';
import { tempPathFor } from '../../src/persist/atomic';
import { type TrainEvent, Trainer } from '../../src/train';
import { tempDir } from '../helpers/tmp';
import { killedWriter } from '../persist/helpers';
import { tinyModel, writeToyCohort } from './fixtures';

const weightsOf = (dir: string) =>
  readCheckpoint(path.join(dir, 'model.ckpt')).tensors.map((t) => Array.from(t.values));

describe('train/trainer: cross-validation of a MIL model on an Arrow cohort', function () {
  this.timeout(300_000);
  const dir = tempDir();
  let cohort: Cohort;
  before(async () => {
    cohort = await Cohort.open(await writeToyCohort(dir, { bags: 24, dim: 6 }));
  });
  after(() => cohort.close());
  const split = () => stratifiedKFold(cohort.bags, { k: 3, seed: 1, valFraction: 0.25 })[0];

  it('learns the witness rule: test AUC well above chance, with a Youden threshold fitted on validation', async () => {
    const trainer = new Trainer({ model: tinyModel(), config: { epochs: 12, lr: 5e-3, seed: 7 } });
    const run = await trainer.fit(cohort, split());
    const f = run.folds[0];
    assert.equal(f.selection, 'val');
    assert.ok(f.metrics.auc >= 0.9, `test AUC ${f.metrics.auc}`);
    assert.equal(f.threshold?.fittedOn, 'val');
    assert.ok(Number.isFinite(f.metrics.accuracyYouden));
    assert.ok(f.history.length === 12 && f.history.every((h) => h.select && Number.isFinite(h.select.auc)));
    assert.ok(f.history[11].trainLoss < f.history[0].trainLoss, 'training loss decreases');
  });

  it('same seed → identical weights and metrics; another seed → different', async () => {
    const runOnce = async (seed: number, out: string) => {
      const r = await new Trainer({ model: tinyModel(), config: { epochs: 3, lr: 5e-3, seed } }).fit(cohort, split(), {
        outDir: out,
      });
      return { metrics: r.folds[0].metrics, weights: weightsOf(path.join(out, 'rep0-fold0')) };
    };
    const a = await runOnce(3, path.join(dir, 'det-a'));
    const b = await runOnce(3, path.join(dir, 'det-b'));
    const c = await runOnce(4, path.join(dir, 'det-c'));
    assert.deepEqual(a, b);
    assert.notDeepEqual(a.weights, c.weights);
  });

  it('resume: 4 epochs in one go == interrupted (mid-epoch and at an epoch end) + resumed', async () => {
    const config = { epochs: 4, lr: 5e-3, seed: 5, selectOn: 'last' as const };
    const full = path.join(dir, 'res-full');
    await new Trainer({ model: tinyModel(), config }).fit(cohort, split(), { outDir: full });
    for (const stopAt of [
      { epoch: 1, step: 3 },
      { epoch: 1, step: Infinity },
    ]) {
      const out = path.join(dir, `res-${stopAt.step}`);
      const ctl = new AbortController();
      const first = new Trainer({ model: tinyModel(), config });
      first.events.on((e) => {
        if (e.type === 'step' && e.epoch === stopAt.epoch && e.step === stopAt.step) ctl.abort();
        if (e.type === 'epoch-end' && e.epoch === stopAt.epoch && stopAt.step === Infinity) ctl.abort();
      });
      const partial = await first.fit(cohort, split(), { outDir: out, signal: ctl.signal });
      assert.equal(partial.interrupted, true);
      assert.ok(!fs.existsSync(path.join(out, 'rep0-fold0', 'model.ckpt')), 'no final model after an interruption');
      const resumed = new Trainer({ model: tinyModel(), config });
      const starts: number[] = [];
      resumed.events.on(
        (e) => e.type === 'fold-start' && e.resumedFromEpoch !== undefined && starts.push(e.resumedFromEpoch),
      );
      const done = await resumed.fit(cohort, split(), { outDir: out, resume: true });
      assert.equal(done.interrupted, false);
      assert.deepEqual(starts, [stopAt.step === Infinity ? 2 : 1]);
      assert.deepEqual(weightsOf(path.join(out, 'rep0-fold0')), weightsOf(path.join(full, 'rep0-fold0')));
    }
    // A resume with other settings is refused, naming what differs, instead of silently mixing two runs.
    const mixed = path.join(dir, 'res-mixed');
    const ctl = new AbortController();
    const t = new Trainer({ model: tinyModel(), config });
    t.events.on((e) => e.type === 'step' && ctl.abort());
    await t.fit(cohort, split(), { outDir: mixed, signal: ctl.signal });
    await assert.rejects(
      new Trainer({ model: tinyModel(), config: { ...config, lr: 1e-3 } }).fit(cohort, split(), {
        outDir: mixed,
        resume: true,
      }),
      new RegExp(
        /run\.json, field "fingerprint": cannot resume: .* \(training\.lr: /.source +
          /saved 0\.005, now 0\.001\)\. Fix: resume with the original settings/.source,
      ),
    );
  });

  it('resume is exact for registry models with dropout too (their random streams are checkpointed)', async () => {
    const model = { name: 'abmil', config: { embedDim: 16, dropout: 0.25 } };
    const config = { epochs: 3, lr: 5e-3, seed: 8, selectOn: 'last' as const };
    const full = path.join(dir, 'drop-full');
    await new Trainer({ model, config }).fit(cohort, split(), { outDir: full });
    const out = path.join(dir, 'drop-resumed');
    const ctl = new AbortController();
    const first = new Trainer({ model, config });
    first.events.on((e) => e.type === 'step' && e.epoch === 1 && e.step === 5 && ctl.abort());
    assert.equal((await first.fit(cohort, split(), { outDir: out, signal: ctl.signal })).interrupted, true);
    await new Trainer({ model, config }).fit(cohort, split(), { outDir: out, resume: true });
    assert.deepEqual(weightsOf(path.join(out, 'rep0-fold0')), weightsOf(path.join(full, 'rep0-fold0')));
    const other = path.join(dir, 'drop-other');
    await new Trainer({ model, config: { ...config, seed: 9 } }).fit(cohort, split(), { outDir: other });
    assert.notDeepEqual(weightsOf(other + '/rep0-fold0'), weightsOf(path.join(full, 'rep0-fold0')));
  });

  it('models with their own training step (MHIM-MIL) train through it: exact resume, no leaks', async () => {
    const model = {
      name: 'mhim',
      config: { base: 'abmil', baseConfig: { attention: 'relu', embedDim: 16 }, mhim: { version: 'v2' } },
    };
    const config = { epochs: 2, lr: 5e-3, seed: 4, selectOn: 'last' as const };
    const before = tf.memory().numTensors;
    const full = path.join(dir, 'mhim-full');
    const run = await new Trainer({ model, config }).fit(cohort, split(), { outDir: full });
    assert.equal(tf.memory().numTensors, before);
    assert.ok(Number.isFinite(run.folds[0].metrics.auc));
    const out = path.join(dir, 'mhim-resumed');
    const ctl = new AbortController();
    const first = new Trainer({ model, config });
    first.events.on((e) => e.type === 'step' && e.epoch === 1 && e.step === 4 && ctl.abort());
    await first.fit(cohort, split(), { outDir: out, signal: ctl.signal });
    await new Trainer({ model, config }).fit(cohort, split(), { outDir: out, resume: true });
    assert.deepEqual(weightsOf(path.join(out, 'rep0-fold0')), weightsOf(path.join(full, 'rep0-fold0')));
  });

  it("a run removes the temp files killed runs left in its folders and keeps a live writer's", async () => {
    const out = path.join(dir, 'stale');
    const fold = path.join(out, 'rep0-fold0');
    const config = { epochs: 1, selectOn: 'last' as const };
    // A run stopped after its first step (run.json and last.ckpt written), then killed writers' leftovers.
    const ctl = new AbortController();
    const first = new Trainer({ model: tinyModel(), config });
    first.events.on((e) => e.type === 'step' && ctl.abort());
    assert.equal((await first.fit(cohort, split(), { outDir: out, signal: ctl.signal })).interrupted, true);
    killedWriter(path.join(out, 'results.json'));
    killedWriter(path.join(fold, 'last.ckpt'));
    const live = tempPathFor(path.join(fold, 'notes.txt')); // this process is alive: its file stays
    fs.writeFileSync(live, '');
    const temps = () => [out, fold].flatMap((d) => fs.readdirSync(d).filter((f) => f.includes('.tmp-')));
    assert.equal(temps().length, 3);
    await new Trainer({ model: tinyModel(), config }).fit(cohort, split(), { outDir: out, resume: true });
    assert.deepEqual(temps(), [path.basename(live)]);
  });

  it('early stopping: a model that cannot improve stops after patience, not before minEpochs', async () => {
    // lr 1e-30 leaves float32 weights unchanged, so the validation AUC never improves after epoch 0.
    const trainer = new Trainer({
      model: tinyModel(),
      config: { epochs: 20, lr: 1e-30, earlyStopping: { patience: 2, minEpochs: 5 } },
    });
    const ends: TrainEvent[] = [];
    trainer.events.on((e) => e.type === 'epoch-end' && ends.push(e));
    const f = (await trainer.fit(cohort, split())).folds[0];
    assert.equal(f.epochsRun, 5);
    assert.equal(f.bestEpoch, 0);
    assert.deepEqual(
      ends.map((e) => (e.type === 'epoch-end' ? e.stop : null)),
      [false, false, false, false, true],
    );
  });

  it('repeated k-fold: result shape, summary mean ± sd, results.json and results.csv', async () => {
    const out = path.join(dir, 'cv');
    const splits = repeatedKFold(cohort.bags, { k: 3, repeats: 2, seed: 0 });
    const run = await new Trainer({ model: tinyModel(), config: { epochs: 2, lr: 5e-3, bootstrap: 50 } }).crossValidate(
      cohort,
      splits,
      { outDir: out },
    );
    assert.equal(run.folds.length, 6);
    assert.deepEqual(
      run.folds.map((f) => `${f.repeat}/${f.fold}`),
      ['0/0', '0/1', '0/2', '1/0', '1/1', '1/2'],
    );
    assert.ok(run.folds.every((f) => f.selection === 'last' && f.threshold?.fittedOn === 'train' && f.bootstrap?.auc));
    for (const m of [
      'auc',
      'accuracy',
      'balancedAccuracy',
      'f1',
      'precision',
      'recall',
      'kappa',
      'accuracyYouden',
      'loss',
    ]) {
      const values = run.folds.map((f) => f.metrics[m]);
      const mean = values.reduce((s, v) => s + v, 0) / values.length;
      assert.ok(Math.abs(run.summary[m].mean - mean) < 1e-12, m);
      assert.equal(run.summary[m].n, 6);
    }
    assert.ok(run.repeatSummary?.auc);
    const json = JSON.parse(fs.readFileSync(path.join(out, 'results.json'), 'utf8'));
    assert.equal(json.folds.length, 6);
    assert.equal(typeof json.summary.accuracy.mean, 'number');
    const csv = fs.readFileSync(path.join(out, 'results.csv'), 'utf8').trim().split('\n');
    assert.equal(csv.length, 1 + 6 + 2);
    assert.match(csv[0], /^repeat,fold,best_epoch,epochs_run,.*auc/);
    assert.match(csv[7], /^mean,/);
    // resume of a finished run trains nothing and reproduces the summary
    const again = new Trainer({ model: tinyModel(), config: { epochs: 2, lr: 5e-3, bootstrap: 50 } });
    let steps = 0;
    again.events.on((e) => e.type === 'step' && steps++);
    const rerun = await again.crossValidate(cohort, splits, { outDir: out, resume: true });
    assert.equal(steps, 0);
    assert.deepEqual(rerun.summary, run.summary);
  });

  it('standardisation uses training-fold statistics (large feature offset still learns)', async () => {
    const shifted = await Cohort.open(await writeToyCohort(dir, { name: 'shifted', offset: 1000 }));
    try {
      const s = stratifiedKFold(shifted.bags, { k: 3, seed: 1, valFraction: 0.25 })[0];
      const raw = await new Trainer({
        model: tinyModel(),
        config: { epochs: 15, lr: 5e-3, seed: 2, selectOn: 'last' },
      }).fit(shifted, s);
      const std = await new Trainer({
        model: tinyModel(),
        config: { epochs: 15, lr: 5e-3, seed: 2, selectOn: 'last', standardize: true },
      }).fit(shifted, s);
      assert.ok(std.folds[0].metrics.auc >= 0.9, `standardised AUC ${std.folds[0].metrics.auc}`);
      assert.ok(
        std.folds[0].metrics.auc > raw.folds[0].metrics.auc,
        `raw ${raw.folds[0].metrics.auc} vs standardised ${std.folds[0].metrics.auc}`,
      );
    } finally {
      await shifted.close();
    }
  });

  it('gradient accumulation: ceil(n / B) optimiser steps per epoch', async () => {
    const out = path.join(dir, 'acc');
    const s = split();
    await new Trainer({ model: tinyModel(), config: { epochs: 2, accumulate: 4, selectOn: 'last' } }).fit(cohort, s, {
      outDir: out,
    });
    const { meta } = readCheckpoint<{ optimizerStep: number }>(path.join(out, 'rep0-fold0', 'last.ckpt'));
    assert.equal(meta.optimizerStep, 2 * Math.ceil(s.train.length / 4));
  });

  it('survival cohorts train with the hazard NLL and report the C-index', async () => {
    const surv = await Cohort.open(await writeToyCohort(dir, { name: 'surv', survival: true, bags: 30 }));
    try {
      const s = stratifiedKFold(surv.bags, { k: 3, seed: 0 })[0];
      const run = await new Trainer({ model: tinyModel(), config: { epochs: 20, lr: 1e-2, selectOn: 'last' } }).fit(
        surv,
        s,
      );
      assert.equal(run.task.kind, 'survival');
      assert.deepEqual(Object.keys(run.folds[0].metrics).sort(), ['cIndex', 'loss']);
      assert.ok(run.folds[0].metrics.cIndex > 0.65, `C-index ${run.folds[0].metrics.cIndex}`);
    } finally {
      await surv.close();
    }
  });

  for (const [label, model] of [
    ['tiny model, accumulation', tinyModel()],
    ['abmil with dropout', { name: 'gabmil', config: { embedDim: 16 } }],
  ] as const)
    it(`leak-free (${label}): live tensors are flat across epochs and back to the start after the run`, async () => {
      const before = tf.memory().numTensors;
      const trainer = new Trainer({
        model,
        config: { epochs: 6, lr: 5e-3, accumulate: label.includes('accumulation') ? 3 : 1 },
      });
      const perEpoch: number[] = [];
      trainer.events.on((e) => e.type === 'epoch-end' && perEpoch.push(tf.memory().numTensors));
      await trainer.fit(cohort, split());
      assert.equal(new Set(perEpoch).size, 1, `live tensors per epoch: ${perEpoch}`);
      assert.equal(tf.memory().numTensors, before);
    });

  it('the event stream is also an async iterable that ends with run-end', async () => {
    const trainer = new Trainer({ model: tinyModel(), config: { epochs: 1 } });
    const seen: string[] = [];
    const consumer = (async () => {
      for await (const e of trainer.events) seen.push(e.type);
    })();
    await trainer.fit(cohort, split());
    await consumer;
    assert.equal(seen[0], 'run-start');
    assert.equal(seen.at(-1), 'run-end');
    for (const t of ['fold-start', 'epoch-start', 'step', 'eval', 'epoch-end', 'fold-end'])
      assert.ok(seen.includes(t), t);
  });
});
