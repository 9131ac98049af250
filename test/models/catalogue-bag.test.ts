/**
 * The bag-level catalogue models beyond the shared contract of models.test.ts (shapes on
 * bags of 1 and 20,000, permutation, gradients, seeds, save/load run there for every registered model):
 * config validation, the method-specific mechanics (DTFD's pseudo-bags, IBMIL's dictionary, Extreme
 * MIL's frozen projection, coordinates in DAS-MIL and R²T-MIL) and numerical gradient checks of the
 * hand-written paths (routing, kernels, interpolated distance embeddings, DiffPool regularisers).
 */
import { strict as assert } from 'node:assert';
import * as tf from '@tensorflow/tfjs';
import { type MilModel, type MilOutput, type Target } from '../../src/models';
import { createModel, listModels } from '../../src/registry';
import { buildConfounders, type Ibmil } from '../../src/models/ibmil';
import { kMeans } from '../../src/models/kmeans';
import { patchUnit } from '../../src/models/dasMil';
import { regionLayout } from '../../src/models/r2tMil';
import { Adam } from '../../src/train/optimizer';
import { Rng } from '../../src/random';
import { randomFloats } from '../helpers/tmp';
import { BAG_LEVEL_SMALL } from './helpers/catalogueConfigs';
import { expectGradMatches, maxAbsDiff, onCpu, someCoords } from './helpers/gradcheck';
import { totalLoss } from '../../src/models/losses';
import { trainStep } from '../../src/train/step';

const D = 8;
const BAG_LEVEL = Object.keys(BAG_LEVEL_SMALL);
const small = (name: string, extra: Record<string, unknown> = {}) =>
  createModel(name, { inputDim: D, numClasses: 2, seed: 1, ...BAG_LEVEL_SMALL[name], ...extra });
const bagOf = (n: number, seed = 3) => tf.tensor2d(randomFloats(n * D, seed), [n, D]);
const target: Target = { kind: 'class', label: 1, numClasses: 2 };
const run = (m: MilModel, bag: tf.Tensor2D, opts: Parameters<MilModel['forward']>[1]) =>
  tf.tidy(() => m.forward(bag, opts) as unknown as tf.TensorContainer) as unknown as MilOutput;
const free = (o: MilOutput) => tf.dispose(o as unknown as tf.TensorContainer);

/** A shuffled copy of a bag and of its coordinates. */
function permuted(
  x: Float32Array,
  coords: Int32Array,
  n: number,
  seed: number,
): { x: Float32Array; coords: Int32Array; perm: number[] } {
  const perm = new Rng(seed).shuffle(Array.from({ length: n }, (_, i) => i));
  const xp = new Float32Array(n * D);
  const cp = new Int32Array(2 * n);
  perm.forEach((src, i) => {
    xp.set(x.subarray(src * D, src * D + D), i * D);
    cp.set(coords.subarray(2 * src, 2 * src + 2), 2 * i);
  });
  return { x: xp, coords: cp, perm };
}

/** Patch coordinates on a 256-pixel grid (the usual WSI patch step), scattered in a 12 × 12 area. */
function gridCoords(n: number, seed: number): Int32Array {
  const rng = new Rng(seed);
  const cells = rng.sample(144, n);
  return Int32Array.from(cells.flatMap((c) => [(c % 12) * 256, Math.floor(c / 12) * 256]));
}

describe('models: bag-level catalogue', () => {
  it('registers all nine with level "bag", a description and a paper', () => {
    const infos = new Map(listModels().map((m) => [m.name, m]));
    for (const name of BAG_LEVEL) {
      const info = infos.get(name);
      assert.ok(info, `${name} registered`);
      assert.equal(info.level, 'bag', name);
      assert.ok(info.description.length > 20 && info.paper.length > 20, name);
    }
    assert.deepEqual(infos.get('loss-attention')!.published, {
      musk1Accuracy: 0.917,
      mnistBagsAuc: { 100: 0.969 },
      source: 'Shi et al. AAAI 2020 (MUSK1 5 × 10-fold; MNIST-bags mean size 10, 100 training bags)',
    });
  });

  it('rejects invalid configs with a message naming the option', () => {
    const bad: [string, Record<string, unknown>, RegExp][] = [
      ['dp-minn', { iterations: 0 }, /iterations must be a whole number ≥ 1/],
      ['dp-minn', { hidden: [] }, /hidden must list/],
      ['loss-attention', { instanceLossWeight: -1 }, /instanceLossWeight must be ≥ 0/],
      ['gnn-mil', { clusters: 0 }, /clusters must be a whole number ≥ 1/],
      ['sa-abmilp', { kernel: 'cosine' }, /kernel must be one of dot, rbf, inverse-quadratic, laplace, module/],
      ['dtfd-mil', { distill: 'mean' }, /distill must be one of MaxMinS, MaxS, AFS/],
      ['dtfd-mil', { pseudoBags: 0 }, /pseudoBags must be a whole number ≥ 1/],
      ['ibmil', { stageOneFraction: 1 }, /stageOneFraction must be in \[0, 1\)/],
      ['das-mil', { distanceBins: 1 }, /distanceBins must be an integer ≥ 2/],
      ['r2t-mil', { regionNum: 0 }, /regionNum must be a whole number ≥ 1/],
    ];
    for (const [name, cfg, re] of bad) assert.throws(() => small(name, cfg), re, name);
    assert.throws(
      () => createModel('sa-abmilp', { kernal: 'rbf' } as never),
      /unknown option "kernal" for model "sa-abmilp" \(did you mean "kernel"\?\)/,
    );
  });

  it('every SA-AbMILP kernel gives finite outputs, attention summing to 1, and invariance to the order', () => {
    const n = 15;
    const x = randomFloats(n * D, 4);
    const { x: xp, perm } = permuted(x, new Int32Array(2 * n), n, 8);
    for (const kernel of ['dot', 'rbf', 'inverse-quadratic', 'laplace', 'module']) {
      const m = small('sa-abmilp', { kernel, kernelAlpha: 0.5 });
      // γ starts at 0 (self-attention off); open it so the kernel matters.
      m.namedVariables!()
        .get('self_attention/gamma')!
        .assign(tf.tensor1d([0.7]));
      const [a, b] = [x, xp].map((v) => run(m, tf.tensor2d(v, [n, D]), { training: false }));
      assert.ok(maxAbsDiff(a.logits.dataSync(), b.logits.dataSync()) < 1e-4, kernel);
      const att = Array.from(a.attention!.dataSync());
      assert.ok(Math.abs(att.reduce((s, v) => s + v, 0) - 1) < 1e-5, kernel);
      assert.ok(
        maxAbsDiff(
          perm.map((i) => att[i]),
          b.attention!.dataSync(),
        ) < 1e-5,
        kernel,
      );
      [a, b].forEach(free);
      m.dispose();
    }
  });

  it(
    'DTFD-MIL: evaluation is deterministic and order-free; ' + 'training draws pseudo-bags and adds the tier-1 loss',
    () => {
      const m = small('dtfd-mil');
      const n = 23;
      const x = randomFloats(n * D, 6);
      const { x: xp } = permuted(x, new Int32Array(2 * n), n, 2);
      const bag = tf.tensor2d(x, [n, D]);
      const [e1, e2, e3] = [bag, bag, tf.tensor2d(xp, [n, D])].map((b) => run(m, b, { training: false, target }));
      assert.deepEqual(Array.from(e1.logits.dataSync()), Array.from(e2.logits.dataSync()));
      assert.ok(maxAbsDiff(e1.logits.dataSync(), e3.logits.dataSync()) < 1e-5);
      assert.equal(e1.auxLosses, undefined, 'no tier-1 loss outside training');
      const t1 = run(m, bag, { training: true, target });
      const t2 = run(m, bag, { training: true, target });
      const tier1 = t1.auxLosses!.tier1.dataSync()[0];
      assert.ok(Number.isFinite(tier1) && tier1 > 0);
      assert.notDeepEqual(
        Array.from(t1.attention!.dataSync()),
        Array.from(t2.attention!.dataSync()),
        'two training passes split the bag differently',
      );
      const loss = tf.tidy(() => totalLoss(m.loss(t1, target)).dataSync()[0]);
      const ce = -tf.tidy(() => tf.logSoftmax(t1.logits).dataSync()[1]);
      assert.ok(Math.abs(loss - (ce + tier1)) < 1e-5, 'loss = tier-2 CE + tier-1 CE');
      [e1, e2, e3, t1, t2].forEach(free);
      const tiny = bagOf(2);
      const o = run(m, tiny, { training: true, target }); // fewer instances than pseudo-bags
      assert.deepEqual(o.attention!.shape, [2]);
      free(o);
      [bag, tiny].forEach((t) => t.dispose());
      m.dispose();
    },
  );

  it('Extreme MIL: the random attention projection is frozen (not trainable, unchanged by a step)', () => {
    const m = small('extreme-mil');
    const frozen = m.namedVariables!().get('attention/random_projection')!;
    assert.ok(!m.trainableVariables().includes(frozen));
    const before = frozen.dataSync().slice();
    const w = m.namedVariables!().get('attention/w/kernel')!.dataSync().slice();
    const opt = new Adam(m.trainableVariables(), { lr: 0.01 });
    const bag = bagOf(9);
    opt.minimize(
      () => totalLoss(m.loss(m.forward(bag, { training: true, target }), target)),
      false,
      m.trainableVariables(),
    );
    assert.deepEqual(Array.from(frozen.dataSync()), Array.from(before));
    assert.notDeepEqual(
      Array.from(m.namedVariables!().get('attention/w/kernel')!.dataSync()),
      Array.from(w),
      'the attention vector trains',
    );
    const pure = small('extreme-mil', { freezeProjection: true });
    assert.ok(!pure.trainableVariables().some((v) => v === pure.namedVariables!().get('projection/kernel')));
    [bag].forEach((t) => t.dispose());
    opt.dispose();
    [m, pure].forEach((x) => x.dispose());
  });

  it('k-means finds two separated blobs (k-means++ start, seeded)', () => {
    const rng = new Rng(1);
    const pts = Array.from({ length: 40 }, (_, i) => [rng.normal(i < 20 ? -5 : 5, 0.5), rng.normal(0, 0.5)]);
    const r = kMeans(pts, 2, { seed: 3 });
    assert.deepEqual([...r.sizes].sort(), [20, 20]);
    const first = r.assignment[0];
    assert.ok(Array.from(r.assignment).every((a, i) => (i < 20 ? a === first : a !== first)));
    const cx = [r.centroids[0], r.centroids[2]].sort((a, b) => a - b);
    assert.ok(Math.abs(cx[0] + 5) < 0.5 && Math.abs(cx[1] - 5) < 0.5, `centroids ${cx}`);
    assert.deepEqual(kMeans(pts, 2, { seed: 3 }).centroids, r.centroids, 'same seed, same result');
    assert.throws(() => kMeans(pts, 41), /k must be an integer in 1\.\.40/);
  });

  it(
    'IBMIL: the dictionary starts empty (plain AB-MIL), is ' +
      'built from bag embeddings by hand or mid-run by trainStep',
    async () => {
      const m = small('ibmil') as unknown as Ibmil;
      assert.equal(m.hasConfounders(), false);
      const bags = [3, 5, 8, 4, 6].map((n, i) => bagOf(n, 20 + i));
      const before = run(m, bags[0], { training: false });
      const sizes = buildConfounders(m, bags);
      assert.equal(
        sizes.reduce((a, b) => a + b, 0),
        5,
      );
      assert.ok(m.hasConfounders());
      const after = run(m, bags[0], { training: false });
      assert.ok(
        maxAbsDiff(before.logits.dataSync(), after.logits.dataSync()) > 1e-6,
        'the confounder branch changes the logits',
      );
      assert.deepEqual(
        Array.from(before.embedding.dataSync()),
        Array.from(after.embedding.dataSync()),
        'the bag embedding itself is unchanged',
      );
      [before, after].forEach(free);
      m.dispose();

      // Inside a trainer run: 2 epochs × 5 bags, switch after half.
      const t = small('ibmil') as unknown as Ibmil;
      t.setTotalIterations(10);
      const opt = new Adam(t.trainableVariables(), { lr: 1e-3 });
      const dict = () => Array.from(t.namedVariables().get('confounder/dictionary')!.dataSync());
      for (let step = 0; step < 10; step++) {
        const i = step % 5;
        const b = { id: `b${i}`, features: bags[i].dataSync() as Float32Array, numInstances: bags[i].shape[0], dim: D };
        const r = await trainStep(t, b, { kind: 'class', label: i % 2, numClasses: 2 }, opt);
        assert.ok(Number.isFinite(r.loss));
        if (step === 3) assert.ok(!t.hasConfounders() && dict().every((v) => v === 0), 'stage 1: no dictionary yet');
        if (step === 4) assert.ok(t.hasConfounders() && dict().some((v) => v !== 0), 'built at the switch');
      }
      assert.deepEqual(Array.from(t.namedVariables().get('confounder/progress')!.dataSync()), [10, 1]);
      opt.dispose();
      t.dispose();
      bags.forEach((b) => b.dispose());
    },
  );

  it('DAS-MIL and R²T-MIL use coords: same result for a shuffled bag with its coords shuffled alike', () => {
    const n = 30;
    const x = randomFloats(n * D, 12);
    const coords = gridCoords(n, 5);
    assert.equal(patchUnit(coords, n), 256);
    const p = permuted(x, coords, n, 9);
    for (const name of ['das-mil', 'r2t-mil']) {
      const m = small(name);
      const a = run(m, tf.tensor2d(x, [n, D]), { training: false, coords });
      const b = run(m, tf.tensor2d(p.x, [n, D]), { training: false, coords: p.coords });
      assert.ok(maxAbsDiff(a.logits.dataSync(), b.logits.dataSync()) < 1e-4, `${name}: logits`);
      const att = a.attention!.dataSync();
      assert.ok(
        maxAbsDiff(
          p.perm.map((i) => att[i]),
          b.attention!.dataSync(),
        ) < 1e-5,
        `${name}: attention follows the instances`,
      );
      const plain = run(m, tf.tensor2d(x, [n, D]), { training: false });
      assert.ok(maxAbsDiff(a.logits.dataSync(), plain.logits.dataSync()) > 1e-7, `${name}: coords change the result`);
      [a, b, plain].forEach(free);
      m.dispose();
    }
    assert.deepEqual(regionLayout(20_000, 8, 2), { side: 142, regionSide: 18, perSide: 8 });
    assert.deepEqual(regionLayout(10, 8, 2), { side: 4, regionSide: 2, perSide: 2 });
  });

  it(
    'DP-MINN routes as a plain-JS reference (c = softmax(b), v ' +
      '= squash(Σ c h), b += h·v); the pick sharpens as |h| grows',
    () => {
      const n = 6;
      const m = small('dp-minn', { dropout: 0 }) as unknown as {
        net: { embed(x: tf.Tensor2D, training: boolean): tf.Tensor2D };
      } & MilModel;
      const maxC: number[] = [];
      // Zero biases at initialisation: the ReLU MLP is positively homogeneous, so input × k = embeddings × k.
      for (const k of [1, 20]) {
        const x = tf.tensor2d(
          randomFloats(n * D, 8).map((z) => Math.abs(z) * k),
          [n, D],
        );
        const h = tf.tidy(() => m.net.embed(x, false)).arraySync();
        let b = new Array<number>(n).fill(0);
        let c: number[] = [];
        let v: number[] = [];
        for (let t = 0; t < 3; t++) {
          const e = b.map((z) => Math.exp(z - Math.max(...b)));
          c = e.map((z) => z / e.reduce((a, y) => a + y, 0));
          const s = h[0].map((_, j) => h.reduce((a, row, i) => a + c[i] * row[j], 0));
          const norm = Math.hypot(...s);
          v = s.map((z) => (z * norm) / (1 + norm * norm));
          b = b.map((bi, i) => bi + h[i].reduce((a, z, j) => a + z * v[j], 0));
        }
        const out = run(m, x, { training: false });
        assert.ok(maxAbsDiff(out.embedding!.dataSync(), v) < 1e-5, `embedding = squashed bag vector (×${k})`);
        assert.ok(maxAbsDiff(out.attention!.dataSync(), c) < 1e-5, `attention = last routing weights (×${k})`);
        maxC.push(Math.max(...c));
        free(out);
        x.dispose();
      }
      assert.ok(
        maxC[1] > maxC[0] + 0.2 && maxC[1] > 0.6,
        `unbounded agreement: max routing weight ${maxC[0]} → ${maxC[1]} for embeddings × 20`,
      );
      m.dispose();
    },
  );

  it(
    'numerical gradients match: routing (DP-MINN), kernels (SA-AbMILP), distance ' +
      'tables (DAS-MIL), DiffPool terms (GNN-MIL), gathered projections (DTFD, R²T)',
    async () => {
      await onCpu(() => {
        const n = 7;
        const bag = tf.tensor2d(randomFloats(n * D, 31), [n, D]);
        const coords = gridCoords(n, 2);
        const cases: [string, Record<string, unknown>, string, (m: MilModel) => void][] = [
          ['dp-minn', { dropout: 0 }, 'hidden/0/kernel', () => {}],
          ['dp-minn', { dropout: 0 }, 'hidden/1/bias', () => {}],
          ['dp-minn', { dropout: 0 }, 'classifier/kernel', () => {}],
          [
            'sa-abmilp',
            { dropout: 0, kernel: 'laplace' },
            'self_attention/f/kernel',
            (m) =>
              m.namedVariables!()
                .get('self_attention/gamma')!
                .assign(tf.tensor1d([0.8])),
          ],
          [
            'sa-abmilp',
            { dropout: 0, kernel: 'module' },
            'self_attention/g/kernel',
            (m) =>
              m.namedVariables!()
                .get('self_attention/gamma')!
                .assign(tf.tensor1d([0.8])),
          ],
          ['das-mil', { dropout: 0, maxDistance: 4, distanceBins: 5 }, 'layer/distance_keys', () => {}],
          ['das-mil', { dropout: 0, maxDistance: 4, distanceBins: 5 }, 'layer/distance_values', () => {}],
          ['gnn-mil', { dropout: 0 }, 'sage_pool/self/kernel', () => {}],
          // Both project a gathered copy of the bag (DTFD: pseudo-bags; R²T: raster order from coords).
          ['dtfd-mil', {}, 'projection/kernel', () => {}],
          ['r2t-mil', { dropout: 0 }, 'projection/kernel', () => {}],
        ];
        for (const [name, cfg, vname, prep] of cases) {
          const m = small(name, cfg);
          prep(m);
          const v = m.namedVariables!().get(vname)!;
          // GNN-MIL's DiffPool regularisers exist only in training; dropout is 0, so training is deterministic.
          const f = () => totalLoss(m.loss(m.forward(bag, { training: name === 'gnn-mil', coords, target }), target));
          expectGradMatches(f, v, someCoords(v.size, 6), 1e-2, 3e-2, 3e-3, `${name} ${vname}`);
          m.dispose();
        }
        bag.dispose();
      });
    },
  );
});
