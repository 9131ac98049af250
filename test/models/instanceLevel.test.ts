/**
 * The instance-level methods of the deep-MIL catalogue: adaptive, certainty and power
 * pooling, MIVAE, CausalMIL, Additive MIL, MILLET, MIREL, FocusMIL. For each: shapes on bags of 1
 * and 20,000 instances, permutation invariance, gradient flow, config validation; then each
 * method's pooling formula against a plain JS reference, and numerical gradient checks where a
 * gradient is custom (stopGradient in certainty pooling and MIREL) or built from series (lgamma,
 * digamma).
 */
import { strict as assert } from 'node:assert';
import * as tf from '@tensorflow/tfjs';
import { type MilModel, type MilOutput, type Target } from '../../src/models';
import { createModel, listModels } from '../../src/registry';
import type { AdaptivePooling } from '../../src/models/adaptivePooling';
import { evidentialLoss, type Mirel } from '../../src/models/mirel';
import type { PowerPooling } from '../../src/models/powerPooling';
import { digamma, klDirichletUniform, lgamma } from '../../src/models/layers/specialFunctions';
import { stopGradient } from '../../src/models/layers/stopGradient';
import { Rng } from '../../src/random';
import { Adam } from '../../src/train/optimizer';
import { randomFloats } from '../helpers/tmp';
import { expectGradMatches, expectZeroGrad, maxAbsDiff, onCpu, SHIFT_INVARIANT, someCoords } from './helpers/gradcheck';
import { totalLoss } from '../../src/models/losses';
import { trainStep } from '../../src/train/step';

const D = 8;
const SMALL: Record<string, Record<string, unknown>> = {
  'adaptive-pooling': { hidden: [16, 8] },
  'certainty-pooling': { hidden: [16, 8], mcSamples: 8 },
  'power-pooling': { hidden: [16, 8] },
  mivae: { hidden: [16, 8], instanceLatentDim: 4, bagLatentDim: 4 },
  causalmil: { hidden: [16, 8], causalDim: 3, nonCausalDim: 3 },
  'additive-mil': { embedDim: 16, attentionDim: 8, hidden: [8] },
  millet: { hidden: [16, 8] },
  mirel: { hidden: [16], attentionDim: 8 },
  focusmil: { hidden: [16, 8], latentDim: 4 },
};
const NAMES = Object.keys(SMALL);
const make = (name: string, extra: Record<string, unknown> = {}) =>
  createModel(name, { inputDim: D, numClasses: 2, seed: 1, ...SMALL[name], ...extra });
const bagOf = (n: number, seed = 3) => tf.tensor2d(randomFloats(n * D, seed), [n, D]);
const run = (m: MilModel, bag: tf.Tensor2D, training = false, target?: Target) =>
  tf.tidy(() => m.forward(bag, { training, target }) as unknown as tf.TensorContainer) as unknown as MilOutput;
const pos: Target = { kind: 'class', label: 1, numClasses: 2 };
const neg: Target = { kind: 'class', label: 0, numClasses: 2 };
const softmax1 = (logits: ArrayLike<number>) => 1 / (1 + Math.exp(logits[0] - logits[1]));
const sigmoid = (x: number) => 1 / (1 + Math.exp(-x));

/**
 * Measured: MIREL's attention/V/bias gets ≤ 4e-4 here, and float32 resolves its loss only to about
 * ±2e-5 in a central difference at any step from 0.01 to 0.16 (the Dirichlet KL subtracts lgamma
 * values near 6.6, each rounded to ~1e-6), so no step checks it.
 */
const BELOW_RESOLUTION =
  "its gradient is below float32's resolution of MIREL's loss; " +
  'the same tanh attention scorer is checked in layers.test.ts';

describe('models/instance-level: the catalogue entries', () => {
  it('are registered as instance-level, with a description and a paper', () => {
    for (const name of NAMES) {
      const info = listModels().find((m) => m.name === name);
      assert.ok(info, `${name} registered`);
      assert.equal(info.level, 'instance', name);
      assert.ok(info.description.length > 20 && info.paper.length > 20, name);
    }
  });

  it('output shapes on bags of 1 and of 20,000 instances (attention sums to 1)', function () {
    this.timeout(120_000);
    for (const name of NAMES) {
      const m = make(name);
      for (const n of [1, 20_000]) {
        const bag = bagOf(n);
        const out = run(m, bag);
        assert.deepEqual(out.logits.shape, [2], name);
        assert.ok(out.logits.dataSync().every(Number.isFinite), `${name}: logits finite at N = ${n}`);
        assert.ok(out.attention || out.instanceLogits, `${name} exposes attention or instance logits`);
        if (out.instanceLogits) assert.deepEqual(out.instanceLogits.shape, [n, 2], name);
        if (out.attention) {
          assert.deepEqual(out.attention.shape, [n], name);
          assert.ok(Math.abs(tf.sum(out.attention).dataSync()[0] - 1) < 1e-3, `${name}: attention sums to 1`);
        }
        tf.dispose([bag, out as unknown as tf.TensorContainer]);
      }
      m.dispose();
    }
  });

  it('are invariant to the order of instances (logits; attention and instance logits follow the permutation)', () => {
    const n = 29;
    const perm = new Rng(7).shuffle(Array.from({ length: n }, (_, i) => i));
    const x = randomFloats(n * D, 11);
    const xp = new Float32Array(n * D);
    perm.forEach((src, i) => xp.set(x.subarray(src * D, src * D + D), i * D));
    for (const name of NAMES) {
      const m = make(name);
      const [a, b] = [x, xp].map((v) => run(m, tf.tensor2d(v, [n, D])));
      assert.ok(
        maxAbsDiff(a.logits.dataSync(), b.logits.dataSync()) < 1e-4,
        `${name}: logits change under permutation`,
      );
      if (a.attention) {
        const aa = a.attention.dataSync();
        assert.ok(
          maxAbsDiff(
            perm.map((s) => aa[s]),
            b.attention!.dataSync(),
          ) < 1e-5,
          `${name}: attention`,
        );
      }
      if (a.instanceLogits) {
        const il = a.instanceLogits.arraySync();
        assert.ok(
          maxAbsDiff(
            perm.flatMap((s) => il[s]),
            b.instanceLogits!.dataSync(),
          ) < 1e-4,
          `${name}: instance logits`,
        );
      }
      tf.dispose([a, b] as unknown as tf.TensorContainer);
      m.dispose();
    }
  });

  // Score biases added right before a softmax over the instances (additive MIL's a = softmax_N(·)).
  const SOFTMAX_SCORE_BIAS: Record<string, string> = { 'additive-mil': 'attention/w/bias' };

  it('every trainable variable gets a finite, non-zero gradient (positive and negative bags)', () => {
    const bag = bagOf(17);
    // Outside the loops: as an array literal inside them, tsc cannot infer `target` (TS7022, circular).
    const targets = [pos, neg];
    for (const name of NAMES) {
      const m = make(name);
      for (const target of targets) {
        const { value, grads } = tf.variableGrads(
          () => totalLoss(m.loss(m.forward(bag, { training: true, target }), target)),
          m.trainableVariables(),
        );
        assert.ok(Number.isFinite(value.dataSync()[0]), `${name}: loss finite`);
        for (const [vname, v] of m.namedVariables!()) {
          const g = grads[v.name];
          assert.ok(g, `${name}: no gradient reaches ${vname}`);
          const abs = tf.sum(tf.abs(g)).dataSync()[0];
          assert.ok(Number.isFinite(abs), `${name}: gradient of ${vname} not finite`);
          // The score bias right before a softmax over instances has an exactly zero gradient (softmax is
          // shift-invariant); only rounding noise could make it non-zero.
          if (SOFTMAX_SCORE_BIAS[name] === vname) {
            assert.ok(abs < 1e-6, `${name}: ${vname} feeds a softmax, its gradient must vanish (${abs})`);
            continue;
          }
          // The residual branch of MIREL meets only the instance term, non-zero for both labels.
          assert.ok(
            abs > 0,
            `${name}: zero gradient for ${vname} (label ${target.kind === 'class' ? target.label : ''})`,
          );
        }
        tf.dispose([value, ...Object.values(grads)]);
      }
      m.dispose();
    }
    bag.dispose();
  });

  it('rejects invalid configurations with a message naming the field', () => {
    const bad: [string, Record<string, unknown>, RegExp][] = [
      ['adaptive-pooling', { hidden: [] }, /hidden must list/],
      ['adaptive-pooling', { form: 'softmax' }, /form must be/],
      ['adaptive-pooling', { initialExponent: 0 }, /initialExponent must be > 0/],
      ['certainty-pooling', { mcSamples: 1 }, /mcSamples must be an integer ≥ 2/],
      ['certainty-pooling', { mcRate: 0 }, /mcRate must be > 0/],
      ['power-pooling', { initialPower: -1 }, /initialPower must be > 0/],
      ['power-pooling', { dropout: 1 }, /dropout must be in \[0, 1\)/],
      ['mivae', { instanceLatentDim: 0 }, /instanceLatentDim must be a whole number ≥ 1/],
      ['causalmil', { elboWeight: -1 }, /elboWeight must be ≥ 0/],
      ['additive-mil', { hidden: [0] }, /hidden must list whole numbers ≥ 1/],
      ['millet', { attentionDim: 0 }, /attentionDim must be a whole number ≥ 1/],
      ['mirel', { numClasses: 3 }, /binary MIL/],
      ['mirel', { annealing: 2 }, /annealing must be in \[0, 1\]/],
      ['focusmil', { klWeight: -0.1 }, /klWeight must be ≥ 0/],
      ['focusmil', { latentDims: 3 }, /unknown option "latentDims".*did you mean "latentDim"/],
    ];
    for (const [name, cfg, re] of bad) assert.throws(() => make(name, cfg), re, `${name} ${JSON.stringify(cfg)}`);
  });

  it('multi-class (C = 3): one scored output per class and per-class pooling', () => {
    const bag = bagOf(9);
    for (const name of NAMES.filter((n) => n !== 'mirel')) {
      const m = make(name, { numClasses: 3 });
      const out = run(m, bag);
      assert.deepEqual(out.logits.shape, [3], name);
      if (out.instanceLogits) assert.deepEqual(out.instanceLogits.shape, [9, 3], name);
      tf.dispose(out as unknown as tf.TensorContainer);
      m.dispose();
    }
    bag.dispose();
  });
});

describe('models/instance-level: pooling formulas against plain references', () => {
  const bag = bagOf(13, 21);
  after(() => bag.dispose());
  /** Positive-class probabilities p_i = sigmoid(s_i) from the binary instance logits [0, s_i]. */
  const instanceProbs = (out: MilOutput) => Array.from(out.instanceLogits!.arraySync(), (r) => sigmoid(r[1] - r[0]));

  it('adaptive pooling: P = (mean p^r)^(1/r) (generalized mean) and Σ p·softmax(αp) (AutoPool)', () => {
    for (const [form, initialExponent] of [
      ['generalized-mean', 2.5],
      ['autopool', 1.5],
    ] as const) {
      const m = make('adaptive-pooling', { form, initialExponent }) as AdaptivePooling;
      const out = run(m, bag);
      const p = instanceProbs(out);
      const [e] = m.exponents();
      let expected: number;
      if (form === 'generalized-mean') expected = (p.reduce((s, v) => s + v ** e, 0) / p.length) ** (1 / e);
      else {
        const w = p.map((v) => Math.exp(e * v));
        expected = p.reduce((s, v, i) => s + v * w[i], 0) / w.reduce((s, v) => s + v, 0);
      }
      assert.ok(Math.abs(e - initialExponent) < 1e-5);
      assert.ok(
        Math.abs(softmax1(out.logits.dataSync()) - expected) < 1e-4,
        `${form}: ${softmax1(out.logits.dataSync())} vs ${expected}`,
      );
      tf.dispose(out as unknown as tf.TensorContainer);
      m.dispose();
    }
  });

  it('power pooling: P = Σ p^(n+1) / Σ p^n, attention = p^n / Σ p^n', () => {
    const m = make('power-pooling', { initialPower: 3 }) as PowerPooling;
    const out = run(m, bag);
    const p = instanceProbs(out);
    const [n] = m.powers();
    assert.ok(Math.abs(n - 3) < 1e-4);
    const expected = p.reduce((s, v) => s + v ** (n + 1), 0) / p.reduce((s, v) => s + v ** n, 0);
    assert.ok(Math.abs(softmax1(out.logits.dataSync()) - expected) < 1e-4);
    const z = p.reduce((s, v) => s + v ** n, 0);
    assert.ok(
      maxAbsDiff(
        out.attention!.dataSync(),
        p.map((v) => v ** n / z),
      ) < 1e-5,
    );
    tf.dispose(out as unknown as tf.TensorContainer);
    m.dispose();
  });

  it('certainty pooling: the bag probability is that of the instance with the top certainty × probability', () => {
    const m = make('certainty-pooling');
    const out = run(m, bag);
    const p = instanceProbs(out);
    const att = Array.from(out.attention!.dataSync());
    const k = att.indexOf(Math.max(...att));
    assert.ok(Math.abs(softmax1(out.logits.dataSync()) - p[k]) < 1e-5);
    // Deterministic in evaluation (fixed MC masks), stochastic masks in training.
    const again = run(m, bag);
    assert.deepEqual(Array.from(again.logits.dataSync()), Array.from(out.logits.dataSync()));
    tf.dispose([out, again] as unknown as tf.TensorContainer);
    m.dispose();
  });

  it('certainty pooling: training dropout cannot make an instance the most certain', () => {
    // Measured on the dropped embeddings, an instance whose few active units the step's dropout
    // zeroed had σ = 0 over the MC passes, the top certainty 1/ε, and was picked: the step then
    // trained the head's bias alone. With these tiny widths (last hidden layer 8) that happened in
    // 43 of 100 steps; with the certainty measured before dropout, 11 are left: steps where the
    // dropout zeroed the picked instance itself, as it would under any pooling.
    const m = make('certainty-pooling', { dropout: 0.25 });
    const x = tf.tensor2d(randomFloats(24 * D, 3), [24, D]);
    const kernel = m.namedVariables!().get('encoder/0/kernel')!;
    let dead = 0;
    for (let step = 0; step < 100; step++) {
      const { value, grads } = tf.variableGrads(
        () => totalLoss(m.loss(m.forward(x, { training: true, target: pos }), pos)),
        [kernel],
      );
      if (grads[kernel.name].dataSync().every((g) => g === 0)) dead++;
      tf.dispose([value, ...Object.values(grads)]);
    }
    assert.ok(dead <= 20, `${dead} of 100 training steps gave the encoder no gradient`);
    x.dispose();
    m.dispose();
  });

  it('MILLET: bag logits = mean of the instance logits; Additive MIL: = their sum', () => {
    for (const [name, reduce] of [
      ['millet', 'mean'],
      ['additive-mil', 'sum'],
    ] as const) {
      const m = make(name);
      const out = run(m, bag);
      const rows = out.instanceLogits!.arraySync();
      const expected = [0, 1].map((c) => rows.reduce((s, r) => s + r[c], 0) / (reduce === 'mean' ? rows.length : 1));
      assert.ok(maxAbsDiff(out.logits.dataSync(), expected) < 1e-4, name);
      tf.dispose(out as unknown as tf.TensorContainer);
      m.dispose();
    }
  });

  it('MIVAE, CausalMIL, FocusMIL: max pooling of instance logits; the ELBO/KL only in training', () => {
    for (const name of ['mivae', 'causalmil', 'focusmil']) {
      const m = make(name);
      const out = run(m, bag);
      const rows = out.instanceLogits!.arraySync();
      assert.ok(
        maxAbsDiff(
          out.logits.dataSync(),
          [0, 1].map((c) => Math.max(...rows.map((r) => r[c]))),
        ) < 1e-5,
        name,
      );
      assert.equal(out.auxLosses, undefined, `${name}: no auxiliary loss in evaluation`);
      // attention = softmax of the instance scores: it peaks at the instance the max pooling picks.
      const att = Array.from(out.attention!.dataSync());
      const s1 = rows.map((r) => r[1]);
      assert.equal(att.indexOf(Math.max(...att)), s1.indexOf(Math.max(...s1)), `${name}: attention peak`);
      const tr = run(m, bag, true, pos);
      const aux = Object.values(tr.auxLosses!)[0].dataSync()[0];
      assert.ok(Number.isFinite(aux) && aux > 0, `${name}: training auxiliary loss ${aux}`);
      tf.dispose([out, tr] as unknown as tf.TensorContainer);
      m.dispose();
    }
  });

  it('MIREL: softmax(logits) is the Dirichlet mean; the loss equals a plain evidential reference', () => {
    const m = make('mirel') as Mirel;
    const out = run(m, bag);
    const alpha = Array.from(out.logits.dataSync(), Math.exp);
    assert.ok(
      alpha.every((a) => a > 1),
      'α = e + 1 > 1',
    );
    assert.ok(Math.abs(softmax1(out.logits.dataSync()) - alpha[1] / (alpha[0] + alpha[1])) < 1e-5);
    // Without a run length κ = 1; no target → no instance term, so the loss is the bag term alone.
    const loss = tf.tidy(() => totalLoss(m.loss(out, pos)).dataSync()[0]);
    assert.ok(
      Math.abs(loss - referenceEvidential(alpha, 1, 1)) < 1e-4,
      `${loss} vs ${referenceEvidential(alpha, 1, 1)}`,
    );
    tf.dispose(out as unknown as tf.TensorContainer);
    // Evidential loss on a few hand-picked Dirichlets, κ = 0.3.
    for (const [e0, e1, y] of [
      [0.5, 3, 1],
      [7, 0.2, 0],
      [2, 2, 1],
    ] as const) {
      const got = tf.tidy(() => evidentialLoss(tf.log(tf.tensor2d([[e0, e1]])) as tf.Tensor2D, y, 0.3).dataSync()[0]);
      assert.ok(Math.abs(got - referenceEvidential([e0 + 1, e1 + 1], y, 0.3)) < 1e-4, `ℓ(${e0}, ${e1}; ${y})`);
    }
    // KL annealing: κ rises linearly over `annealing` of the run, resumes with the step counter.
    m.setTotalIterations(100);
    assert.equal(m.klWeight(), 0);
    m.setRandomState({ step: 2 });
    assert.ok(Math.abs(m.klWeight() - 2 / 5) < 1e-12);
    m.dispose();
  });
});

describe('models/instance-level: MHIM masking wraps them (attention is what it scores)', () => {
  it('mhim v1 over each instance-level model: forward and a training step run', async () => {
    for (const name of NAMES) {
      const m = createModel('mhim', {
        inputDim: D,
        numClasses: 2,
        seed: 1,
        base: name,
        baseConfig: SMALL[name],
        mhim: { version: 'v1', totalIterations: 10 },
      });
      const bag = bagOf(20, 8);
      const out = run(m, bag);
      assert.deepEqual(out.logits.shape, [2], name);
      const opt = new Adam(m.trainableVariables(), { lr: 1e-3, weightDecay: 0, weightDecayMode: 'l2' });
      const step = await trainStep(
        m,
        { id: 'b', features: bag.dataSync() as Float32Array, numInstances: 20, dim: D },
        pos,
        opt,
      );
      assert.ok(Number.isFinite(step.loss), `${name}: MHIM step loss ${step.loss}`);
      tf.dispose([bag, out as unknown as tf.TensorContainer]);
      opt.dispose();
      m.dispose();
    }
  });
});

describe('models/instance-level: special functions and custom gradients', () => {
  it('lgamma and digamma match reference values', () => {
    const xs = [0.1, 0.5, 1, 2.5, 5, 30];
    const lg = [2.252712651734206, 0.5723649429247001, 0, 0.2846828704729192, 3.1780538303479458, 71.25703896716801];
    const dg = [
      -10.423754940411076, -1.9635100260214235, -0.5772156649015329, 0.7031566406452432, 1.5061176684318003,
      3.3845557891748,
    ];
    tf.tidy(() => {
      assert.ok(maxAbsDiff(lgamma(tf.tensor1d(xs)).dataSync(), lg) < 2e-4);
      assert.ok(maxAbsDiff(digamma(tf.tensor1d(xs)).dataSync(), dg) < 2e-4);
      // KL(Dir(1) ‖ Dir(1)) = 0; KL(Dir(2, 1) ‖ Dir(1)) = ln 2 − 1/2 (closed form).
      assert.ok(Math.abs(klDirichletUniform(tf.tensor2d([[1, 1]])).dataSync()[0]) < 1e-5);
      assert.ok(Math.abs(klDirichletUniform(tf.tensor2d([[2, 1]])).dataSync()[0] - (Math.log(2) - 0.5)) < 1e-4);
    });
  });

  it('d lgamma / dx = digamma (autodiff through the series, checked numerically)', () =>
    onCpu(() => {
      const v = tf.variable(tf.tensor1d([0.3, 1.7, 4.2]));
      expectGradMatches(() => tf.sum(lgamma(v)) as tf.Scalar, v, [0, 1, 2], 1e-2, 1e-2, 1e-3);
      const g = tf.grad((x: tf.Tensor) => tf.sum(lgamma(x)))(v);
      assert.ok(maxAbsDiff(g.dataSync(), digamma(v).dataSync()) < 1e-4);
      tf.dispose([v, g]);
    }));

  it('stopGradient: the value passes, the gradient does not', () => {
    const x = tf.tensor1d([1, -2, 3]);
    const g = tf.grad((t: tf.Tensor) => tf.sum(tf.mul(stopGradient(t), t)))(x);
    assert.deepEqual(Array.from(g.dataSync()), [1, -2, 3]); // d/dx [c·x] = c = x, not 2x
    tf.dispose([x, g]);
  });

  for (const name of ['certainty-pooling', 'power-pooling', 'adaptive-pooling']) {
    it(`${name}: analytic gradients of the loss match central differences`, () =>
      onCpu(() => {
        // Dropout 0 and evaluation mode: deterministic. Certainty pooling's MC certainty is held
        // constant by stopGradient; it only picks the instance, which small steps do not change.
        const m = make(name, { dropout: 0 });
        const bag = bagOf(11, 5);
        for (const target of [pos, neg]) {
          const f = () => totalLoss(m.loss(m.forward(bag, { training: false, target }), target));
          // eps 2e-3 first; where an encoder ReLU switches within it, the check walks to smaller steps.
          for (const [vname, v] of m.namedVariables!())
            expectGradMatches(f, v, someCoords(v.size, 3), 2e-3, 3e-2, 2e-3, `${name} ${vname}`);
        }
        bag.dispose();
        m.dispose();
      }));
  }

  it('MIREL: gradients match central differences, and the frozen instance evidence passes none', () =>
    onCpu(() => {
      const bag = bagOf(11, 5);
      const named = (m: MilModel) => m.namedVariables!();
      // (1) Bag term only (instanceWeight 0): every variable but the residual branch, numerically.
      const bagOnly = make('mirel', { instanceWeight: 0 });
      for (const target of [pos, neg]) {
        const f = () => totalLoss(bagOnly.loss(bagOnly.forward(bag, { training: true, target }), target));
        const scales: number[] = [];
        for (const [vname, v] of named(bagOnly)) {
          if (vname.startsWith('residual/') || vname === 'attention/w/bias') continue;
          if (vname === 'attention/V/bias') {
            console.log(`      mirel ${vname}: not checked here: ${BELOW_RESOLUTION}`);
            continue;
          }
          // 1e-2 first: the Dirichlet loss (lgamma differences) rounds to ~1e-6 in float32.
          scales.push(expectGradMatches(f, v, someCoords(v.size, 3), 1e-2, 3e-2, 2e-3, `mirel ${vname}`).scale);
        }
        const bias = named(bagOnly).get('attention/w/bias')!;
        expectZeroGrad(f, bias, [0], SHIFT_INVARIANT, Math.max(...scales), 'mirel attention/w/bias');
      }
      // (2) Full loss on a negative bag (instance term = mean_i ℓ(α_i, 0), no held-constant weights):
      // the residual branch and the attention, whose paths avoid the frozen evidence.
      const full = make('mirel');
      const fNeg = () => totalLoss(full.loss(full.forward(bag, { training: true, target: neg }), neg));
      for (const [vname, v] of named(full)) {
        if (!/^(residual|attention)\//.test(vname) || vname === 'attention/w/bias') continue;
        if (vname === 'attention/V/bias') console.log(`      mirel ${vname}: not checked here: ${BELOW_RESOLUTION}`);
        else expectGradMatches(fNeg, v, someCoords(v.size, 3), 1e-2, 3e-2, 2e-3, `mirel ${vname}`);
      }
      // (3) The instance term reaches the bag head only through the frozen evidence, so the head's
      // gradient is the bag term's alone (same seed → same weights in both models).
      for (const target of [pos, neg]) {
        const grad = (m: MilModel) => {
          const v = named(m).get('classifier/kernel')!;
          const { grads, value } = tf.variableGrads(
            () => totalLoss(m.loss(m.forward(bag, { training: true, target }), target)),
            [v],
          );
          const g = grads[v.name].dataSync().slice();
          tf.dispose([value, ...Object.values(grads)]);
          return g;
        };
        assert.ok(
          maxAbsDiff(grad(full), grad(bagOnly)) < 1e-6,
          'the frozen instance evidence leaks a gradient into the bag head',
        );
      }
      tf.dispose(bag);
      [bagOnly, full].forEach((m) => m.dispose());
    }));
});

/** ℓ(α, y) in plain JS (expected squared error + κ·KL(α̃) + RED), with Lanczos lgamma and series digamma. */
function referenceEvidential(alpha: number[], y: number, kappa: number): number {
  const k = alpha.length;
  const s = alpha.reduce((a, b) => a + b, 0);
  const onehot = alpha.map((_, i) => (i === y ? 1 : 0));
  let err = 0;
  alpha.forEach((a, i) => {
    const p = a / s;
    err += (onehot[i] - p) ** 2 + (p * (1 - p)) / (s + 1);
  });
  const at = alpha.map((a, i) => onehot[i] + (1 - onehot[i]) * a);
  const st = at.reduce((a, b) => a + b, 0);
  let kl = lnGamma(st) - at.reduce((acc, a) => acc + lnGamma(a), 0) - lnGamma(k);
  at.forEach((a) => (kl += (a - 1) * (psi(a) - psi(st))));
  const red = -(k / s) * Math.log(alpha[y] - 1);
  return err + kappa * kl + red;
}

function lnGamma(x: number): number {
  const g = 7;
  const c = [
    0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313, -176.61502916214059,
    12.507343278686905, -0.13857109526572012, 9.9843695780195716e-6, 1.5056327351493116e-7,
  ];
  if (x < 0.5) return Math.log(Math.PI / Math.sin(Math.PI * x)) - lnGamma(1 - x);
  x -= 1;
  let a = c[0];
  const t = x + g + 0.5;
  for (let i = 1; i < g + 2; i++) a += c[i] / (x + i);
  return 0.5 * Math.log(2 * Math.PI) + (x + 0.5) * Math.log(t) - t + Math.log(a);
}

function psi(x: number): number {
  let r = 0;
  while (x < 10) r -= 1 / x++;
  const f = 1 / (x * x);
  return r + Math.log(x) - 0.5 / x - f * (1 / 12 - f * (1 / 120 - f / 252));
}
