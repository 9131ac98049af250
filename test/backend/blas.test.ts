/**
 * The optional native path: OpenBLAS sgemm as the wasm backend's matMul kernels.
 * Every product and every model must give what tfjs's own wasm kernels give (`withoutBlas`).
 */
import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { gelu } from '../../src/models/layers/activations';
import { moorePenroseIterate } from '../../src/models/layers/nystrom';
import { ADDON_PATH, blasStatus, withoutBlas } from '../../src/backend/blasKernels';
import type { BlasAddon } from '../../src/backend/types';
import { dropout } from '../../src/models/layers/dropout';
import { gatherRows } from '../../src/backend/gatherRows';
import { denseNative, nativeActivation, nativeDropout, nativeSegmentMeans } from '../../src/backend/nativeOps';
import { expectGradMatches, someCoords } from '../models/helpers/gradcheck';
import { createModel } from '../../src/registry';
import '../../src/models';
import type { MilModel, Target } from '../../src/models/types';
import { MhimModel } from '../../src/mhim/mhim';
import { Rng } from '../../src/random';
import { Adam } from '../../src/train/optimizer';
import { smallAbmil, syntheticBags } from '../mhim/fixtures';
import { totalLoss } from '../../src/models/losses';
import { trainStep } from '../../src/train/step';
import { skipBecause } from '../helpers/skip';

const root = path.join(__dirname, '..', '..');
const openblasInstalled = [
  '/usr/include/x86_64-linux-gnu/openblas-pthread',
  '/usr/include/aarch64-linux-gnu/openblas-pthread',
  '/usr/include/openblas',
].some((d) => fs.existsSync(path.join(d, 'cblas.h')));

/** max |a − b| / max(1, max |b|). */
function relDiff(a: tf.Tensor, b: tf.Tensor): number {
  const x = a.dataSync();
  const y = b.dataSync();
  assert.deepEqual(a.shape, b.shape);
  let d = 0;
  let s = 1;
  for (let i = 0; i < x.length; i++) {
    d = Math.max(d, Math.abs(x[i] - y[i]));
    s = Math.max(s, Math.abs(y[i]));
  }
  return d / s;
}

describe('native OpenBLAS matMul kernels', function () {
  before(function () {
    // the kernels replace the wasm ones only
    if (tf.getBackend() !== 'wasm') return skipBecause(this, `backend ${tf.getBackend()}, not wasm`);
    const s = blasStatus();
    // With libopenblas-dev present the addon must have been built by `npm ci` (a silent fallback would hide a broken
    // build).
    if (!s.active && !openblasInstalled && !process.env.MILKIT_BLAS)
      return skipBecause(this, 'libopenblas-dev is not installed');
    assert.ok(s.active, `OpenBLAS path is off although libopenblas-dev is installed: ${s.reason}`);
  });

  const rng = new Rng(7);
  const rand = (shape: number[]) =>
    tf.tensor(
      Float32Array.from({ length: shape.reduce((p, q) => p * q, 1) }, () => rng.normal()),
      shape,
    );

  it('matMul matches the wasm kernel for every transpose, batch and broadcast case', () => {
    const cases: [number[], number[], boolean, boolean][] = [
      [[37, 53], [53, 29], false, false],
      [[53, 37], [53, 29], true, false],
      [[37, 53], [29, 53], false, true],
      [[53, 37], [29, 53], true, true],
      [[1, 300], [300, 64], false, false], // attention pooling a·h
      [[4, 9, 16], [4, 16, 9], false, false],
      [[4, 9, 16], [4, 9, 16], false, true], // Q·Kᵀ per head
      [[4, 16, 9], [1, 16, 5], true, false], // broadcast B
      [[1, 9, 16], [3, 16, 5], false, false], // broadcast A
      [[2, 3, 9, 16], [2, 3, 16, 5], false, false], // rank 4
      [[3, 9, 16], [16, 5], false, false], // rank 3 × rank 2
      // Vector shapes (sgemv and the outer-product loop instead of sgemm), every transpose:
      [[300, 1], [300, 64], true, false], // m = 1
      [[1, 53], [29, 53], false, true],
      [[37, 53], [53, 1], false, false], // n = 1
      [[53, 37], [53, 1], true, false],
      [[53, 37], [1, 53], true, true],
      [[37, 1], [1, 29], false, false], // k = 1 (outer product)
      [[1, 37], [29, 1], true, true],
      [[1, 1], [1, 1], false, false],
      [[3, 1, 16], [3, 16, 1], false, false], // batched m = n = 1
    ];
    for (const [sa, sb, ta, tb] of cases) {
      tf.tidy(() => {
        const a = rand(sa);
        const b = rand(sb);
        const native = tf.matMul(a, b, ta, tb);
        const plain = withoutBlas(() => tf.matMul(a, b, ta, tb));
        assert.ok(relDiff(native, plain) < 1e-5, `${sa}×${sb} tA=${ta} tB=${tb}: ${relDiff(native, plain)}`);
      });
    }
  });

  it(
    'fused matMul + bias + activation equals matMul, add and the ' +
      'activation (linear, relu, sigmoid, elu, leakyrelu, relu6)',
    () => {
      // Compared with unfused ops: tfjs-wasm's own fused kernel adds a [1]-shaped bias to column 0 only.
      const acts = {
        linear: (x: tf.Tensor) => x,
        relu: tf.relu,
        sigmoid: tf.sigmoid,
        elu: tf.elu,
        leakyrelu: (x: tf.Tensor) => tf.leakyRelu(x, 0.1),
        relu6: tf.relu6,
      };
      for (const [activation, act] of Object.entries(acts)) {
        // [41 × 53]·[53 × 29] through sgemm; [1 × 53]·[53 × 29], [41 × 53]·[53 × 1] (sgemv), [41 × 1]·[1 × 29] (outer
        // product).
        for (const [m, k, n, biasShape] of [
          [41, 53, 29, [29]],
          [41, 53, 29, [1]],
          [41, 53, 29, undefined],
          [1, 53, 29, [29]],
          [41, 53, 1, [1]],
          [41, 53, 1, undefined],
          [41, 1, 29, [29]],
          [41, 1, 29, undefined],
        ] as const) {
          tf.tidy(() => {
            const a = rand([m, k]) as tf.Tensor2D;
            const b = rand([k, n]) as tf.Tensor2D;
            const bias = biasShape ? rand([...biasShape]) : undefined;
            const native = tf.fused.matMul({ a, b, bias, activation: activation as 'relu', leakyreluAlpha: 0.1 });
            const plain = withoutBlas(() => act(bias ? tf.add(tf.matMul(a, b), bias) : tf.matMul(a, b)));
            assert.ok(
              relDiff(native, plain) < 1e-5,
              `${activation} [${m}×${k}]·[${k}×${n}] bias ${biasShape}: ${relDiff(native, plain)}`,
            );
          });
        }
      }
    },
  );

  it('an [M × N] bias (which tfjs-wasm rejects) is added; prelu goes to the original kernel', () => {
    tf.tidy(() => {
      const a = rand([5, 7]) as tf.Tensor2D;
      const b = rand([7, 3]) as tf.Tensor2D;
      const bias = rand([5, 3]);
      const native = tf.fused.matMul({ a, b, bias });
      assert.ok(
        relDiff(
          native,
          withoutBlas(() => tf.add(tf.matMul(a, b), bias)),
        ) < 1e-5,
      );
      const slope = rand([3]);
      const prelu = tf.fused.matMul({ a, b, activation: 'prelu', preluActivationWeights: slope });
      assert.ok(
        relDiff(
          prelu,
          withoutBlas(() => tf.prelu(tf.matMul(a, b), slope)),
        ) < 1e-5,
      );
    });
  });

  it('the addon refuses offsets outside the heap instead of writing there', () => {
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- the optional native addon, loaded by path
    const addon = require(ADDON_PATH) as { matmul(...args: unknown[]): void };
    const heap = new ArrayBuffer(64);
    assert.throws(() => addon.matmul(heap, 1, 2, 2, 3, 0, 0, 0, 0, 24, 0, 56, -1, 0, 0, 0), /outside the heap/);
    assert.throws(() => addon.matmul(heap, 1, 2, 2, 3, 0, 0, 0, 0, 24, 0), /16 arguments/);
    addon.matmul(heap, 1, 2, 2, 3, 0, 0, 0, 0, 24, 0, 48, -1, 0, 0, 0); // exactly fits
  });

  it('the element-wise, row-wise, convolution and pinv kernels refuse ranges outside the heap and bad shapes', () => {
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- the optional native addon, loaded by path
    const addon = require(ADDON_PATH) as Record<string, (...args: unknown[]) => void>;
    const heap = new ArrayBuffer(64); // 16 floats
    addon.softmax(heap, 0, 32, 2, 4); // [2 × 4] in, [2 × 4] out: exactly fits
    assert.throws(() => addon.softmax(heap, 0, 36, 2, 4), /outside the heap/);
    assert.throws(() => addon.softmax(heap, 0, 32, 2, 0), /softmax: bad shape/);
    // dx [5] from byte 48 does not fit
    assert.throws(() => addon.softmaxGrad(heap, 0, 16, 48, 1, 5), /outside the heap/);
    // only rstd [2] from byte 60 does not fit
    assert.throws(() => addon.layerNorm(heap, 0, 16, 20, 24, 28, 60, 2, 4, 1e-5), /outside the heap/);
    assert.throws(() => addon.layerNormGrad(heap, 0, 0, 0, 0, 0, 0, 0, 2, 0), /layerNormGrad: bad shape/);
    // 12 floats from byte 0 fit, the 4 means from byte 56 do not
    assert.throws(() => addon.segmentMeans(heap, 0, 56, 2, 3, 2, 0), /outside the heap/);
    assert.throws(() => addon.activation(heap, 0, 8, 15, 1), /outside the heap/);
    assert.throws(
      () => addon.adam(heap, 0, 0, 0, 0, 0, 0, 60, 2, 0, 0, 0, 0.9, 0.1, 0.999, 0.001, 1, 1, 1e-8, 1e-3),
      /outside the heap/,
    );
    assert.throws(() => addon.depthwise(heap, 0, 0, 0, 2, 2, 1, 3, 1, 1, 0, 2, 2, 3), /depthwise: bad shape/);
    // iterates need 16 floats
    assert.throws(() => addon.pinv(heap, 0, 16, 32, 1, 2, 1, -1, -1, -1, 48), /outside the heap/);
    assert.throws(() => addon.pinv(heap, 0, 16, -1, 1, 2, 1, 32, 48, 48, -1), /needs the kept iterates/);
  });

  it('small products run on one OpenBLAS thread, large ones on all, and the thread count is restored', () => {
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- the optional native addon, loaded by path
    const addon = require(ADDON_PATH) as {
      setThreads(n: number, work?: number): void;
      info(): { threads: number; smallProductWork: number; smallProducts: number };
    };
    const { threads, smallProductWork } = addon.info();
    addon.setThreads(2, 64 * 64 * 64); // products below 64³ multiply-adds are small
    try {
      tf.tidy(() => {
        const count = () => addon.info().smallProducts;
        const before = count();
        const small = withoutBlas(() => tf.matMul(rand([40, 64]), rand([64, 32]))); // 81,920 multiply-adds
        tf.matMul(rand([40, 64]), rand([64, 32]));
        assert.equal(count(), before + 1, 'the small product took the one-thread path');
        assert.equal(addon.info().threads, 2, 'threads restored after it');
        tf.matMul(rand([80, 64]), rand([64, 64])); // 327,680: large
        assert.equal(count(), before + 1, 'the large product used all threads');
        assert.ok(small.size === 40 * 32);
      });
    } finally {
      addon.setThreads(threads, smallProductWork);
    }
    assert.throws(() => addon.setThreads(2, -1), /work threshold/);
  });

  it(
    'the AVX-512 sgemm and OpenBLAS agree with a double-precision ' +
      'product (every transpose, edge tiles, K slabs, 1 and 2 threads)',
    function () {
      // eslint-disable-next-line @typescript-eslint/no-require-imports -- the optional native addon, loaded by path
      const addon = require(ADDON_PATH) as BlasAddon;
      const { threads, smallProductWork, gemm } = addon.info();
      if (!addon.setGemm('milkit')) this.skip(); // no AVX-512 here: OpenBLAS runs every product
      // M, N, K: past one 112-row chunk and one 32-column panel with ragged edges; K = 4500 spans two slabs.
      const shapes: [number, number, number][] = [
        [250, 70, 300],
        [15, 33, 4500],
      ];
      try {
        for (const n of [1, 2]) {
          addon.setThreads(n, 0); // every product on n threads
          for (const [m, nn, k] of shapes)
            for (const [ta, tb] of [
              [false, false],
              [true, false],
              [false, true],
              [true, true],
            ]) {
              const a = rand(ta ? [k, m] : [m, k]);
              const b = rand(tb ? [nn, k] : [k, nn]);
              const [x, y] = [a.dataSync(), b.dataSync()];
              const out: Float32Array[] = [];
              for (const kernel of ['milkit', 'openblas'] as const) {
                addon.setGemm(kernel);
                const c = tf.matMul(a, b, ta, tb);
                out.push(c.dataSync() as Float32Array);
                c.dispose();
              }
              // Double-precision reference on a sample of entries (every 7th), scale = max |C|.
              let worst = 0;
              let scale = 0;
              for (let e = 0; e < m * nn; e += 7) {
                const [i, j] = [Math.floor(e / nn), e % nn];
                let acc = 0;
                for (let q = 0; q < k; q++) acc += x[ta ? q * m + i : i * k + q] * y[tb ? j * k + q : q * nn + j];
                scale = Math.max(scale, Math.abs(acc));
                worst = Math.max(worst, Math.abs(out[0][e] - acc), Math.abs(out[1][e] - acc));
              }
              assert.ok(worst / scale < 2e-6, `${m}×${nn}×${k} ta=${ta} tb=${tb} ${n} threads: error ${worst / scale}`);
              tf.dispose([a, b]);
            }
        }
      } finally {
        addon.setThreads(threads, smallProductWork);
        addon.setGemm(gemm === 'OpenBLAS' ? 'openblas' : 'milkit');
      }
      assert.ok(addon.selfTest() < 1e-5);
      assert.ok(addon.fmaPeak(1, 1000) > 0);
    },
  );

  it('native activations equal the tfjs ops (gelu, tanh, sigmoid, relu)', () => {
    const refs = { gelu, tanh: tf.tanh, sigmoid: tf.sigmoid, relu: tf.relu };
    tf.tidy(() => {
      const x = tf.mul(rand([64, 129]), 4); // also the far tails
      for (const [name, ref] of Object.entries(refs)) {
        const d = tf
          .max(
            tf.abs(
              tf.sub(
                nativeActivation(x, name as 'gelu'),
                withoutBlas(() => ref(x)),
              ),
            ),
          )
          .dataSync()[0];
        assert.ok(d < 2e-6, `${name}: max abs difference ${d}`);
      }
    });
  });

  for (const act of ['gelu', 'tanh', 'sigmoid', 'relu', 'linear'] as const) {
    it(`dense ${act}: the native gradient matches central differences (W, b and the input)`, () => {
      // Its own stream: the inputs must not change when other tests draw more (a ReLU kink within ±eps fails the
      // check).
      const own = new Rng(23);
      const r = (shape: number[]) =>
        tf.tensor(
          Float32Array.from({ length: shape.reduce((p, q) => p * q, 1) }, () => own.normal()),
          shape,
        );
      const x = tf.variable(r([7, 5]) as tf.Tensor2D);
      const w = tf.variable(tf.mul(r([5, 4]), 0.5));
      const b = tf.variable(tf.mul(r([4]), 0.1));
      const probe = r([7, 4]);
      // A bag that needs no gradient (projectBag) and an input that does (Dense.apply).
      const loss = (inputGrad: boolean) => () =>
        tf.sum(tf.mul(denseNative(x, w, b, act, inputGrad), probe)) as tf.Scalar;
      try {
        for (const v of [w, b]) expectGradMatches(loss(false), v, someCoords(v.size, 5), 1e-2, 2e-2, 2e-3);
        for (const v of [x, w, b]) expectGradMatches(loss(true), v, someCoords(v.size, 5), 1e-2, 2e-2, 2e-3);
      } finally {
        tf.dispose([x, w, b, probe]);
      }
    });
  }

  it('native dropout draws the same mask from the same stream as the JS dropout, and its gradient is the mask', () => {
    tf.tidy(() => {
      const x = rand([301, 67]);
      const [r1, r2] = [new Rng(11), new Rng(11)];
      r1.next();
      r2.next();
      const native = nativeDropout(x, 0.25, r1);
      const plain = withoutBlas(() => dropout(x, 0.25, true, r2));
      assert.deepEqual(Array.from(native.dataSync()), Array.from(plain.dataSync()));
      assert.equal(r1.next(), r2.next(), 'both generators advanced by x.size draws');
      const r3 = new Rng(5);
      const g = tf
        .grad((t: tf.Tensor) => tf.sum(nativeDropout(t, 0.5, new Rng(5))))(x)
        .dataSync();
      const m = nativeDropout(tf.onesLike(x), 0.5, r3).dataSync();
      assert.deepEqual(Array.from(g), Array.from(m));
      assert.ok(m.every((v) => v === 0 || v === 2) && m.some((v) => v === 0) && m.some((v) => v === 2));
    });
  });

  for (const [label, opts] of [
    ['L2 weight decay', { weightDecay: 1e-2 }],
    ['decoupled (AdamW)', { weightDecay: 1e-2, weightDecayMode: 'decoupled' }],
    ['no decay', {}],
  ] as const) {
    it(`Adam, ${label}: the native step equals the tfjs ops bit for bit`, async () => {
      const run = async () => {
        const r = new Rng(9);
        const draw = (shape: number[], s = 1) =>
          tf.tensor(
            Float32Array.from({ length: shape.reduce((p, q) => p * q, 1) }, () => s * r.normal()),
            shape,
          );
        const vars = [tf.variable(draw([67, 33])), tf.variable(draw([5])), tf.variable(draw([]))];
        const initial = Array.from(vars[0].dataSync());
        const opt = new Adam(vars, { lr: 3e-3, epsilon: 1e-8, ...opts });
        const kernels = new Set<string>();
        for (let step = 0; step < 4; step++) {
          const grads = vars.map((v) => ({ name: v.name, tensor: draw(v.shape, step === 2 ? 1e-6 : 1) }));
          (await tf.profile(() => opt.applyGradients(grads))).kernelNames.forEach((k) => kernels.add(k));
          tf.dispose(grads.map((g) => g.tensor));
        }
        const weights = vars.map((v) => Array.from(v.dataSync()));
        assert.ok(
          weights[0].some((w, i) => w !== initial[i]),
          'the weights moved',
        );
        opt.dispose();
        tf.dispose(vars);
        return { weights, native: kernels.has('MilkitAdam') };
      };
      const native = await run();
      const plain = await withoutBlas(run);
      assert.ok(native.native && !plain.native, 'the native kernel ran on the native path only');
      assert.deepEqual(native.weights, plain.weights);
    });
  }

  it('clone shares the data (no copy) and outlives the original', () => {
    const a = rand([1000]);
    const expected = Array.from(a.dataSync());
    const before = tf.engine().backend.numDataIds();
    const b = tf.clone(a);
    assert.equal(tf.engine().backend.numDataIds(), before, 'a clone allocates no new data');
    a.dispose();
    assert.deepEqual(Array.from(b.dataSync()), expected);
    b.dispose();
  });

  /** Logits and the gradients of all trainable variables of a training step (dropout on), as flat arrays. */
  function outputsAndGrads(
    model: MilModel,
    bag: tf.Tensor2D,
    target: Target,
  ): { logits: Float32Array; grads: Float32Array[] } {
    const { value, grads } = tf.variableGrads(
      () => totalLoss(model.loss(model.forward(bag, { training: true, target }), target)),
      model.trainableVariables(),
    );
    const logits = tf.tidy(() => model.forward(bag, { training: false }).logits.dataSync() as Float32Array);
    const out = model.trainableVariables().map((v) => grads[v.name].dataSync() as Float32Array);
    tf.dispose([value, ...Object.values(grads)]);
    model.dispose();
    return { logits, grads: out };
  }

  const small = { transmil: { embedDim: 32, heads: 2, headDim: 16, landmarks: 16 } } as Record<
    string,
    Record<string, unknown>
  >;
  for (const [name, extra] of [
    ['abmil', {}],
    ['gabmil', {}],
    ['abmil', { attention: 'relu' }],
    ['dsmil', {}],
    ['transmil', {}],
  ] as const) {
    it(
      `${name}${Object.keys(extra).length ? ` ${JSON.stringify(extra)}` : ''}: ` +
        `logits and gradients (dropout on) equal the plain wasm path`,
      () => {
        // Two models from one seed: the same weights and the same dropout stream.
        const make = () =>
          createModel(name, { inputDim: 96, seed: 3, ...extra, ...(small[name] ?? {}) } as never) as MilModel;
        const bag = rand([333, 96]) as tf.Tensor2D;
        const target: Target = { kind: 'class', label: 1, numClasses: 2 };
        try {
          const native = outputsAndGrads(make(), bag, target);
          const plain = withoutBlas(() => outputsAndGrads(make(), bag, target));
          assert.ok(relDiff(tf.tensor(native.logits), tf.tensor(plain.logits)) < 1e-4, 'logits');
          assert.ok(native.grads.length > 0 && native.grads.length === plain.grads.length);
          native.grads.forEach((g, i) => {
            const d = tf.tidy(() => relDiff(tf.tensor(g), tf.tensor(plain.grads[i])));
            assert.ok(d < 1e-3, `gradient of trainable variable ${i}: relative difference ${d}`);
          });
        } finally {
          bag.dispose();
        }
      },
    );
  }
});

describe('native path: MHIM-v2(AB-MIL) training steps', () => {
  before(function () {
    // same condition as above (asserted there)
    if (tf.getBackend() !== 'wasm' || !blasStatus().active) skipBecause(this, 'the OpenBLAS path is off');
  });

  it(
    'three steps (teacher, masking, GRN, student, EMA) ' + 'give the same losses and weights as the plain wasm path',
    async () => {
      const bags = syntheticBags(3, 40, 16, 5);
      const run = async () => {
        const model = new MhimModel(smallAbmil(4), { grn: { numQueries: 2, keepFraction: 0.7 } });
        const optimizer = new Adam(model.trainableVariables(), { lr: 1e-3, weightDecay: 1e-5 });
        const losses: number[] = [];
        for (const { bag, label } of bags)
          losses.push((await trainStep(model, bag, { kind: 'class', label, numClasses: 2 }, optimizer)).loss);
        const weights = model.variables().map((v) => v.dataSync().slice() as Float32Array);
        optimizer.dispose();
        model.dispose();
        return { losses, weights };
      };
      const native = await run();
      const plain = await withoutBlas(run);
      native.losses.forEach((l, i) =>
        assert.ok(
          Math.abs(l - plain.losses[i]) < 1e-4 * Math.max(1, Math.abs(l)),
          `loss ${i}: ${l} vs ${plain.losses[i]}`,
        ),
      );
      assert.equal(native.weights.length, plain.weights.length);
      native.weights.forEach((w, i) => {
        const d = tf.tidy(() => relDiff(tf.tensor(w), tf.tensor(plain.weights[i])));
        assert.ok(d < 1e-4, `variable ${i} (student, GRN, teacher): relative difference ${d}`);
      });
    },
  );
});

describe('native build and fallback', function () {
  this.timeout(60_000);

  it('the build script never fails the install and says in one line when it skips', () => {
    const r = spawnSync(process.execPath, [path.join(root, 'native', 'build.cjs')], {
      encoding: 'utf8',
      env: { ...process.env, MILKIT_NO_NATIVE: '1' },
    });
    assert.equal(r.status, 0);
    assert.equal(r.stdout.trim().split('\n').length, 1);
    assert.match(r.stdout, /milkit native: skipped .*plain wasm/);
  });

  it('MILKIT_BLAS=0: milkit info reports plain wasm and why', () => {
    // The built CLI, as test/cli does (npm test builds first).
    const run = (env: Record<string, string>) =>
      spawnSync(process.execPath, [path.join(root, 'bin', 'milkit.js'), 'info', '--json'], {
        encoding: 'utf8',
        env: { ...process.env, MILKIT_BACKEND: 'wasm', MILKIT_DEBUG: '', ...env },
      });
    const off = run({ MILKIT_BLAS: '0' });
    assert.equal(off.status, 0, off.stderr);
    const j = JSON.parse(off.stdout);
    assert.equal(j.blas.active, false);
    assert.match(j.describe, /^wasm SIMD \(1 thread\); OpenBLAS off: disabled by MILKIT_BLAS=0/);
    if (fs.existsSync(ADDON_PATH)) {
      const on = JSON.parse(run({}).stdout);
      assert.equal(on.blas.active, true);
      // AVX-512 CPUs run milkit's own sgemm for the general products, others OpenBLAS's.
      assert.match(
        on.describe,
        new RegExp(
          /^wasm SIMD \+ native sgemm milkit AVX-512 14x32 \(\d+ threads?; OpenBLAS \w+\)$/.source +
            '|' +
            /^wasm SIMD \+ OpenBLAS sgemm \(\d+ threads?, \w+\)$/.source,
        ),
      );
      const openblas = JSON.parse(run({ MILKIT_GEMM: 'openblas' }).stdout);
      assert.match(openblas.describe, /^wasm SIMD \+ OpenBLAS sgemm \(\d+ threads?, \w+\)$/);
      const wrong = JSON.parse(run({ MILKIT_GEMM: 'mkl' }).stdout);
      assert.match(wrong.describe, /OpenBLAS off: MILKIT_GEMM must be "milkit" or "openblas", not "mkl"/);
    }
  });
});

describe('gatherRows', () => {
  it('copies the requested rows (repeats, any order) on the active backend and from the host array', () => {
    const host = Float32Array.from({ length: 7 * 3 }, (_, i) => i);
    const x = tf.tensor2d(host, [7, 3]);
    const idx = Int32Array.from([6, 0, 3, 3]);
    const expected = [...idx].flatMap((r) => [3 * r, 3 * r + 1, 3 * r + 2]);
    const g = gatherRows(x, idx, host);
    assert.deepEqual(g.shape, [4, 3]);
    assert.deepEqual(Array.from(g.dataSync()), expected);
    assert.throws(() => gatherRows(x, Int32Array.from([7]), host), /outside/);
    tf.dispose([x, g]);
  });
});

describe('native depthwise convolution', () => {
  before(function () {
    // same condition as above (asserted there)
    if (tf.getBackend() !== 'wasm' || !blasStatus().active) skipBecause(this, 'the OpenBLAS path is off');
  });

  for (const [name, shape, k, pad] of [
    ['PPEG 7×7 same', [1, 9, 11, 6], [7, 7], 'same'],
    ['Nyström residual 33×1 same', [1, 40, 5, 4], [33, 1], 'same'],
    ['3×5 valid', [1, 8, 9, 3], [3, 5], 'valid'],
    // ≥ 32 channels take the per-pixel loop (PPEG's 512), fewer the row-wise one (TransMIL's 8 heads).
    ['PPEG-like 3×3 same, 40 channels', [1, 6, 7, 40], [3, 3], 'same'],
    ['Nyström-like 5×1 same, 8 channels, width 1', [1, 12, 1, 8], [5, 1], 'same'],
  ] as const) {
    it(`${name}: output, input gradient and filter gradient equal tfjs's own`, () => {
      const rng = new Rng(17);
      const rnd = (s: readonly number[]) =>
        tf.tensor(
          Float32Array.from({ length: s.reduce((p, q) => p * q, 1) }, () => rng.normal()),
          [...s],
        );
      tf.tidy(() => {
        const x = rnd(shape) as tf.Tensor4D;
        const f = rnd([k[0], k[1], shape[3], 1]) as tf.Tensor4D;
        const probe = rnd([
          1,
          pad === 'same' ? shape[1] : shape[1] - k[0] + 1,
          pad === 'same' ? shape[2] : shape[2] - k[1] + 1,
          shape[3],
        ]);
        const loss = (a: tf.Tensor, b: tf.Tensor) =>
          tf.sum(tf.mul(tf.depthwiseConv2d(a as tf.Tensor4D, b as tf.Tensor4D, 1, pad), probe));
        const native = tf.grads(loss)([x, f]);
        const plain = withoutBlas(() => tf.grads(loss)([x, f]));
        assert.ok(
          relDiff(
            tf.depthwiseConv2d(x, f, 1, pad),
            withoutBlas(() => tf.depthwiseConv2d(x, f, 1, pad)),
          ) < 1e-5,
          'output',
        );
        assert.ok(relDiff(native[0], plain[0]) < 1e-5, `dx ${relDiff(native[0], plain[0])}`);
        assert.ok(relDiff(native[1], plain[1]) < 1e-5, `dW ${relDiff(native[1], plain[1])}`);
      });
    });
  }
});

describe('native Moore–Penrose iteration (Nyström pinv)', () => {
  before(function () {
    // same condition as above (asserted there)
    if (tf.getBackend() !== 'wasm' || !blasStatus().active) skipBecause(this, 'the OpenBLAS path is off');
  });

  for (const [name, shape] of [
    ['one [40 × 40] matrix', [40, 40]],
    ['a batch [3, 17, 17]', [3, 17, 17]],
  ] as const) {
    it(`${name}: value, dx and dz0 equal the tfjs ops' autodiff`, () => {
      const rng = new Rng(5);
      const rnd = (s: readonly number[]) =>
        tf.tensor(
          Float32Array.from({ length: s.reduce((p, q) => p * q, 1) }, () => rng.normal()),
          [...s],
        );
      tf.tidy(() => {
        // A softmax matrix, as in Nyström (rows sum to 1), and the reference start z0 = xᵀ / (max row-sum · max
        // col-sum).
        const x = tf.softmax(rnd(shape));
        const perm = shape.length === 3 ? [0, 2, 1] : [1, 0];
        const z0 = tf.div(tf.transpose(x, perm), tf.mul(tf.max(tf.sum(x, -1)), tf.max(tf.sum(x, -2))));
        const probe = rnd(shape);
        const loss = (a: tf.Tensor, b: tf.Tensor) => tf.sum(tf.mul(moorePenroseIterate(a, b, 6), probe));
        const native = tf.grads(loss)([x, z0]);
        const plain = withoutBlas(() => tf.grads(loss)([x, z0]));
        assert.ok(
          relDiff(
            moorePenroseIterate(x, z0, 6),
            withoutBlas(() => moorePenroseIterate(x, z0, 6)),
          ) < 1e-5,
          'value',
        );
        assert.ok(relDiff(native[0], plain[0]) < 1e-4, `dx ${relDiff(native[0], plain[0])}`);
        assert.ok(relDiff(native[1], plain[1]) < 1e-4, `dz0 ${relDiff(native[1], plain[1])}`);
      });
    });
  }
});

describe('native softmax and segment means', () => {
  before(function () {
    // same condition as above (asserted there)
    if (tf.getBackend() !== 'wasm' || !blasStatus().active) skipBecause(this, 'the OpenBLAS path is off');
  });

  for (const [name, shape, sd] of [
    ['[37 × 300] (not a multiple of 16)', [37, 300], 3],
    ['[2, 5, 7], large logits', [2, 5, 7], 40],
    ['[4 × 1]', [4, 1], 1],
  ] as const) {
    it(`softmax ${name}: value and gradient equal tfjs's own`, () => {
      const rng = new Rng(9);
      const rnd = (s: readonly number[], k: number) =>
        tf.tensor(
          Float32Array.from({ length: s.reduce((p, q) => p * q, 1) }, () => k * rng.normal()),
          [...s],
        );
      tf.tidy(() => {
        const x = rnd(shape, sd);
        const probe = rnd(shape, 1);
        const loss = (a: tf.Tensor) => tf.sum(tf.mul(tf.softmax(a), probe));
        assert.ok(
          relDiff(
            tf.softmax(x),
            withoutBlas(() => tf.softmax(x)),
          ) < 1e-6,
          'value',
        );
        const g = tf.grad(loss)(x);
        const plain = withoutBlas(() => tf.grad(loss)(x));
        assert.ok(relDiff(g, plain) < 1e-5, `grad ${relDiff(g, plain)}`);
      });
    });
  }

  it('segment means (Nyström landmarks): value and gradient equal the reshape-and-mean of tfjs', () => {
    const rng = new Rng(4);
    tf.tidy(() => {
      const x = tf.tensor2d(
        Float32Array.from({ length: 24 * 5 }, () => rng.normal()),
        [24, 5],
      );
      const probe = tf.tensor2d(
        Float32Array.from({ length: 8 * 5 }, () => rng.normal()),
        [8, 5],
      );
      const plainMeans = (t: tf.Tensor) => tf.mean(tf.reshape(t, [8, 3, 5]), 1);
      assert.ok(relDiff(nativeSegmentMeans(x, 8), plainMeans(x)) < 1e-6, 'value');
      const g = tf.grad((t: tf.Tensor) => tf.sum(tf.mul(nativeSegmentMeans(t as tf.Tensor2D, 8), probe)))(x);
      const plain = tf.grad((t: tf.Tensor) => tf.sum(tf.mul(plainMeans(t), probe)))(x);
      assert.ok(relDiff(g, plain) < 1e-6, 'grad');
    });
  });
});
