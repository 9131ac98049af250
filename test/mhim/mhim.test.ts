import { strict as assert } from 'node:assert';
import * as tf from '@tensorflow/tfjs';
import { consistencyLoss } from '../../src/mhim/consistency';
import { copyValues, emaUpdate } from '../../src/mhim/ema';
import { GlobalRecycleNetwork, QUERY_INIT_BOUND, DEFAULT_GRN } from '../../src/mhim/grn';
import { classAwareScores } from '../../src/mhim/scoring';
import { MhimModel, copyRows } from '../../src/mhim/mhim';
import { mhimConfig, MHIM_V1, MHIM_V2 } from '../../src/mhim/config';
import type { MilModel, Target } from '../../src/models/types';
import { Transmil, TRANSMIL_DEFAULTS } from '../../src/models/transmil';
import { createModel } from '../../src/registry';
import { smallAbmil, syntheticBags } from './fixtures';
import { totalLoss } from '../../src/models/losses';
import { computeStep, trainStep } from '../../src/train/step';

const close = (a: number, b: number, tol = 1e-5) =>
  assert.ok(Math.abs(a - b) <= tol * Math.max(1, Math.abs(b)), `${a} vs ${b}`);
const cls = (label: number): Target => ({ kind: 'class', label, numClasses: 2 });

function softmax(v: number[]): number[] {
  const m = Math.max(...v);
  const e = v.map((x) => Math.exp(x - m));
  const s = e.reduce((a, b) => a + b, 0);
  return e.map((x) => x / s);
}

describe('mhim: consistency, EMA, GRN, scoring', () => {
  it('consistency loss = −Σ softmax(z_t/τ)·log_softmax(z_s) over embedding dims, by hand', () => {
    const zt = [0.2, -0.1, 0.05];
    const zs = [1, 0, -1];
    const p = softmax(zt.map((x) => x / 0.1));
    const logq = softmax(zs).map(Math.log);
    const expected = -p.reduce((a, pi, i) => a + pi * logq[i], 0);
    const got = tf.tidy(() => consistencyLoss(tf.tensor1d(zt), tf.tensor1d(zs), 0.1).dataSync()[0]);
    close(got, expected);
    // identical uniform embeddings over D dims → ln D (the ≈ 6.24 for 512 dims the reference logs)
    close(
      tf.tidy(() => consistencyLoss(tf.zeros([512]), tf.zeros([512])).dataSync()[0]),
      Math.log(512),
    );
    assert.throws(() => consistencyLoss(tf.zeros([3]), tf.zeros([4])), /3 values.*4/);
  });

  it('EMA update by hand: t ← m·t + (1−m)·s', () => {
    const t = [tf.variable(tf.tensor1d([1, 2])), tf.variable(tf.tensor2d([[10]]))];
    const s = [tf.tensor1d([3, 5]), tf.tensor2d([[0]])];
    emaUpdate(t, s, 0.9);
    const [a, b] = t.map((v) => Array.from(v.dataSync()));
    close(a[0], 1.2);
    close(a[1], 2.3);
    close(b[0], 9);
    assert.throws(() => emaUpdate([t[0]], [s[1]], 0.9), /shape/);
    copyValues(t, s);
    assert.deepEqual(Array.from(t[0].dataSync()), [3, 5]);
    tf.dispose([...t, ...s]);
  });

  it('GRN: queries U(−v, v), v ≈ 0.0685, non-trainable, updated by EMA (by hand), K tokens out', () => {
    close(QUERY_INIT_BOUND, 0.0685, 1e-3);
    const grn = new GlobalRecycleNetwork(
      8,
      { ...DEFAULT_GRN, numQueries: 3, heads: 2, headDim: 4, queryMomentum: 0.75 },
      3,
    );
    const q0 = Array.from(grn.queries.dataSync());
    assert.equal(q0.length, 24);
    assert.ok(q0.every((x) => Math.abs(x) <= QUERY_INIT_BOUND) && new Set(q0).size === 24);
    assert.ok(!grn.trainableVariables().includes(grn.queries), 'queries are not trained by gradients');
    assert.ok(grn.variables().includes(grn.queries));
    const recycled = tf.randomNormal([5, 8], 0, 1, 'float32', 1) as tf.Tensor2D;
    const g = grn.tokens(recycled, false);
    assert.deepEqual(g.shape, [3, 8]);
    const gv = Array.from(g.dataSync());
    grn.updateQueries(g);
    const q1 = Array.from(grn.queries.dataSync());
    q1.forEach((x, i) => close(x, 0.75 * q0[i] + 0.25 * gv[i]));
    // gradients reach the attention weights but never the queries
    const { grads } = tf.variableGrads(() => tf.sum(grn.tokens(recycled, true)) as tf.Scalar, grn.variables());
    assert.equal(grads[grn.queries.name], null);
    assert.ok(Object.values(grads).filter((x) => x).length >= 4);
    tf.dispose([recycled, g, ...Object.values(grads).filter((x) => x)]);
    grn.dispose();
  });

  it('class-aware score: max_c softmax_c(W·f_i), classifier bias removed, by hand', () => {
    const f = [
      [1, 0],
      [0, 2],
    ];
    const w = [
      [1, -1],
      [0.5, 0.5],
    ]; // [E=2, C=2]
    const bias = [5, -5]; // would dominate if not removed
    const classify = (z: tf.Tensor2D) => tf.add(tf.matMul(z, tf.tensor2d(w)), tf.tensor1d(bias)) as tf.Tensor2D;
    const s = tf.tidy(() => Array.from(classAwareScores(tf.tensor2d(f), classify).dataSync()));
    const expected = f.map((fi) => Math.max(...softmax([0, 1].map((c) => fi[0] * w[0][c] + fi[1] * w[1][c]))));
    s.forEach((x, i) => close(x, expected[i]));
  });

  it('copyRows copies rows in the given order', () => {
    const src = Float32Array.from([0, 1, 10, 11, 20, 21]);
    assert.deepEqual(Array.from(copyRows(src, 2, Int32Array.from([2, 0]))), [20, 21, 0, 1]);
  });

  it('presets carry the published defaults', () => {
    assert.equal(MHIM_V2.temperature, 0.1);
    assert.equal(MHIM_V2.consistencyWeight, 0.5);
    assert.equal(MHIM_V2.teacherMomentum, 0.9997);
    assert.equal(MHIM_V2.score, 'class-aware');
    assert.equal(MHIM_V2.mask.highRandomRatio, 1);
    assert.equal(MHIM_V2.grn?.queryMomentum, 0.9999);
    assert.equal(MHIM_V1.grn, null);
    assert.equal(MHIM_V1.teacherMomentum, 0.9999);
    const c = mhimConfig('v2', { mask: { highRatio: 0.05 }, grn: { numQueries: 10 } });
    assert.equal(c.mask.highRatio, 0.05);
    assert.equal(c.mask.highRandomRatio, 1);
    assert.equal(c.grn?.numQueries, 10);
    assert.equal(c.grn?.keepFraction, 0.8);
    assert.equal(mhimConfig('v2', { grn: null }).grn, null);
    assert.throws(() => mhimConfig('v3' as 'v2'), /unknown MHIM preset/);
  });
});

describe('mhim: the training step', () => {
  it('teacher gets no gradient: it moves only by EMA of the student (and not at all with m = 1)', async () => {
    const m = new MhimModel(smallAbmil(), { teacherMomentum: 0.5 });
    assert.ok(m.teacherVariables().every((v) => !v.trainable));
    const trainable = new Set(m.trainableVariables());
    assert.ok(m.teacherVariables().every((v) => !trainable.has(v)));
    // the teacher starts as a copy of the student
    m.teacherVariables().forEach((t, i) =>
      assert.deepEqual(Array.from(t.dataSync()), Array.from(m.student.variables()[i].dataSync())),
    );
    assert.equal(
      m.variables().length,
      m.student.variables().length + m.grn!.variables().length + m.teacherVariables().length,
    );

    const opt = tf.train.adam(1e-2);
    const [{ bag, label }] = syntheticBags(1, 40);
    const before = m.teacherVariables().map((v) => Float32Array.from(v.dataSync()));
    await trainStep(m, bag, cls(label), opt);
    const student = m.student.variables().map((v) => v.dataSync());
    m.teacherVariables().forEach((t, i) => {
      const tv = t.dataSync();
      for (let j = 0; j < tv.length; j++) close(tv[j], 0.5 * before[i][j] + 0.5 * student[i][j], 1e-5);
    });
    assert.ok(
      student.some((s, i) => s.some((x, j) => x !== before[i][j])),
      'the student did learn',
    );

    const frozen = new MhimModel(smallAbmil(), { teacherMomentum: 1 });
    const t0 = frozen.teacherVariables().map((v) => Array.from(v.dataSync()));
    for (let s = 0; s < 3; s++) await trainStep(frozen, bag, cls(label), opt);
    frozen.teacherVariables().forEach((t, i) => assert.deepEqual(Array.from(t.dataSync()), t0[i]));
    m.dispose();
    frozen.dispose();
    opt.dispose();
  });

  it('accumulating gradients: the GRN queries move at every forward, the teacher only after an update', async () => {
    const m = new MhimModel(smallAbmil(), { mask: { highRatio: 0.1 }, grn: { numQueries: 2 } });
    const opt = tf.train.adam(1e-2);
    const vars = m.trainableVariables();
    const [a, b] = syntheticBags(2, 30);
    const snapshot = (vs: tf.Variable[]) => vs.map((v) => Array.from(v.dataSync()));
    const teacher0 = snapshot(m.teacherVariables());
    const queries0 = Array.from(m.grn!.queries.dataSync());
    // First bag of an accumulation pair: gradient taken, no update yet.
    const first = await computeStep(m, a.bag, cls(a.label), vars);
    await first.finish(false);
    assert.notDeepEqual(Array.from(m.grn!.queries.dataSync()), queries0, 'the forward moved the queries');
    assert.deepEqual(snapshot(m.teacherVariables()), teacher0, 'no update, so no teacher EMA');
    assert.equal(m.iteration, 1, 'the schedules count bags');
    const second = await computeStep(m, b.bag, cls(b.label), vars);
    const summed = Object.fromEntries(
      Object.keys(first.grads).map((k) => [k, tf.add(first.grads[k], second.grads[k])]),
    );
    opt.applyGradients(summed);
    await second.finish(true);
    assert.notDeepEqual(snapshot(m.teacherVariables()), teacher0, 'the update moved the teacher');
    tf.dispose([...Object.values(first.grads), ...Object.values(second.grads), ...Object.values(summed)]);
    m.dispose();
    opt.dispose();
  });

  it('student sequence: floor(kept·0.8) instances + K GRN tokens; bags of 1–2 never empty', async () => {
    const m = new MhimModel(smallAbmil(), { mask: { highRatio: 0.05 }, grn: { numQueries: 5, keepFraction: 0.8 } });
    assert.ok(m.grn, 'AB-MIL exposes embedInstances/aggregate, so the GRN is active');
    const opt = tf.train.adam(1e-3);
    const [{ bag, label }] = syntheticBags(1, 100);
    const n = bag.numInstances;
    const kept = n - Math.ceil(n * 0.05);
    const r = await trainStep(m, bag, cls(label), opt);
    assert.equal(r.seqLen, Math.floor(kept * 0.8) + 5);
    assert.ok(Number.isFinite(r.loss));
    close(r.loss, r.terms.cls + r.terms.consistency, 1e-4);

    const greedy = new MhimModel(smallAbmil(), { mask: { highRatio: 1, randomRatio: 1 } });
    for (const size of [1, 2]) {
      const tiny = {
        id: `tiny${size}`,
        features: Float32Array.from({ length: size * 16 }, (_, i) => Math.sin(i)),
        numInstances: size,
        dim: 16,
      };
      for (const model of [m, greedy]) {
        const res = await trainStep(model, tiny, cls(1), opt);
        assert.ok(res.seqLen! >= 1 && Number.isFinite(res.loss), `${model.name} on a bag of ${size}`);
      }
    }
    m.dispose();
    greedy.dispose();
    opt.dispose();
  });

  it('βh decay and momentum schedule follow the cosine schedule over iterations', async () => {
    const m = new MhimModel(smallAbmil(), {
      mask: { highRatio: 0.04 },
      decayHighRatio: true,
      momentumSchedule: true,
      teacherMomentum: 0.99,
      totalIterations: 4,
    });
    assert.equal(m.currentHighRatio(), 0.04);
    m.iteration = 2;
    close(m.currentHighRatio(), 0.02);
    close(m.currentMomentum(), 0.995);
    const noTotal = new MhimModel(smallAbmil(), { decayHighRatio: true });
    assert.throws(() => noTotal.currentHighRatio(), /totalIterations/);
    m.dispose();
    noTotal.dispose();
  });

  it('v1 (attention scores, no GRN) and v2 train a synthetic task without leaking tensors', async function () {
    this.timeout(60_000);
    const data = syntheticBags(16, 30);
    for (const version of ['v1', 'v2'] as const) {
      const m = new MhimModel(smallAbmil(3), { version, totalIterations: 16 * 8 });
      const opt = tf.train.adam(5e-3);
      const evalLoss = () =>
        tf.tidy(() => {
          let s = 0;
          for (const { bag, label } of data) {
            const out = m.forward(tf.tensor2d(bag.features, [bag.numInstances, bag.dim]), { training: false });
            s += totalLoss(m.loss(out, cls(label))).dataSync()[0];
          }
          return s / data.length;
        });
      const start = evalLoss();
      let tensorsAfterEpoch1 = 0;
      for (let epoch = 0; epoch < 8; epoch++) {
        for (const { bag, label } of data) await trainStep(m, bag, cls(label), opt);
        if (epoch === 0) tensorsAfterEpoch1 = tf.memory().numTensors;
      }
      assert.equal(tf.memory().numTensors, tensorsAfterEpoch1, `${version}: tensors leaked`);
      const end = evalLoss();
      assert.ok(end < 0.75 * start, `${version}: loss ${start.toFixed(3)} → ${end.toFixed(3)}`);
      assert.equal(m.grn !== undefined, version === 'v2');
      m.dispose();
      opt.dispose();
    }
  });
});

describe('mhim: other wrapped models', () => {
  it('MHIM-v2(TransMIL) scores via layer-1 instance features, trains and leaks nothing', async function () {
    this.timeout(60_000);
    const make = (seed: number) =>
      new Transmil({
        ...TRANSMIL_DEFAULTS,
        inputDim: 16,
        embedDim: 16,
        heads: 2,
        headDim: 8,
        landmarks: 8,
        residualKernel: 3,
        numClasses: 2,
        seed,
      });
    const m = new MhimModel((role) => make(role === 'teacher' ? 2 : 1), {
      mask: { highRatio: 0.1 },
      grn: { numQueries: 3, heads: 2, headDim: 8 },
    });
    const opt = tf.train.adam(1e-3);
    const data = syntheticBags(4, 30);
    const r0 = await trainStep(m, data[0].bag, cls(data[0].label), opt);
    const n = data[0].bag.numInstances;
    assert.equal(r0.seqLen, Math.floor((n - Math.ceil(n * 0.1)) * 0.8) + 3);
    const scores = await m.scoreInstances(data[0].bag);
    assert.equal(scores.length, n);
    assert.ok(
      scores.every((s) => s >= 0.5 && s <= 1),
      'max over 2 class probabilities lies in [0.5, 1]',
    );
    const before = tf.memory().numTensors;
    for (const { bag, label } of data) assert.ok(Number.isFinite((await trainStep(m, bag, cls(label), opt)).loss));
    assert.equal(tf.memory().numTensors, before);
    m.dispose();
    opt.dispose();
  });

  it('refuses at construction a model that lacks what MHIM uses, naming the model and the fix', async () => {
    const opt = tf.train.adam(1e-3);
    const [{ bag, label }] = syntheticBags(1, 40);
    const dsmil = (role: 'student' | 'teacher') =>
      createModel('dsmil', { inputDim: 16, embedDim: 8, numClasses: 2, seed: role === 'teacher' ? 2 : 1 });
    // DSMIL's bag classifier is not affine on single instances: no class-aware scores.
    assert.throws(
      () => new MhimModel(dsmil, {}),
      /MHIM-v2\(dsmil\): class-aware instance scores need the bag classifier .*set mhim.score to 'attention'/,
    );
    // A model that pools without instance weights gives v1 nothing to mask by: refused when built,
    // not at its first step (a sweep plan or `milkit train` builds the model before anything runs).
    const held = tf.memory().numTensors;
    assert.throws(
      () =>
        createModel('mhim', {
          inputDim: 16,
          numClasses: 2,
          base: 'mean-mil',
          baseConfig: { hidden: [8] },
          mhim: { version: 'v1' },
        }),
      new RegExp(
        'MHIM-v1\\(mean-mil\\): MHIM masks instances by their attention scores, and this model pools without ' +
          'instance attention\\. Fix: wrap an attention model \\(abmil, gabmil, transmil',
      ),
    );
    assert.equal(tf.memory().numTensors, held, 'the refused MHIM frees the models it built');
    const ds = new MhimModel(dsmil, { score: 'attention' });
    assert.ok(Number.isFinite((await trainStep(ds, bag, cls(label), opt)).loss));
    // A model that is not built in stages cannot carry the Global Recycle Network.
    const unstaged = (role: 'student' | 'teacher'): MilModel => {
      const p = smallAbmil()(role);
      return {
        name: 'unstaged',
        config: p.config,
        forward: (b, o) => p.forward(b, o),
        loss: (o, t) => p.loss(o, t),
        trainingStep: (b, t) => p.trainingStep(b, t),
        trainableVariables: () => p.trainableVariables(),
        variables: () => p.variables(),
        namedVariables: () => p.namedVariables(),
        dispose: () => p.dispose(),
      };
    };
    const before = tf.memory().numTensors;
    assert.throws(
      () => new MhimModel(unstaged, { score: 'attention', grn: {} }),
      /MHIM-v2\(unstaged\): the Global Recycle Network needs .*embedInstances \/ aggregate stages.*mhim.grn to null/,
    );
    assert.equal(tf.memory().numTensors, before, 'a refused MHIM frees the models it built');
    const noGrn = new MhimModel(unstaged, { score: 'attention', grn: null, mask: { highRatio: 0.1 } });
    const shared = smallAbmil()('student');
    assert.throws(() => new MhimModel(() => shared, {}), /new model on each call/);
    shared.dispose();
    const opt2 = tf.train.adam(1e-3); // tfjs Adam keeps its moments by variable position: one per model
    const r = await trainStep(noGrn, bag, cls(label), opt2);
    opt2.dispose();
    assert.equal(r.seqLen, bag.numInstances - Math.ceil(bag.numInstances * 0.1));
    ds.dispose();
    noGrn.dispose();
    opt.dispose();
  });
});
