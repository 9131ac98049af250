/**
 * Every registered model: output shapes on bags of 1 and 20,000 instances, permutation invariance
 * (all but TransMIL, whose PPEG depends on order), attention normalisation and `returnsAttention`,
 * finite gradients, seeded determinism and the save/load round trip. Small widths keep the suite
 * fast; one AB-MIL forward runs at the real size D = 1024, N = 20,000.
 */
import { strict as assert } from 'node:assert';
import * as tf from '@tensorflow/tfjs';
import { type MilModel, type MilOutput, type Target } from '../../src/models';
import { loadModel, saveModel } from '../../src/persist';
import { createModel, listModels } from '../../src/registry';
import { Rng } from '../../src/random';
import { randomFloats, tempDir } from '../helpers/tmp';
import { maxAbsDiff, SHIFT_INVARIANT } from './helpers/gradcheck';
import { BAG_LEVEL_SMALL, ORDER_DEPENDENT } from './helpers/catalogueConfigs';
import { totalLoss } from '../../src/models/losses';

const D = 8;
/** Small widths per model, so 20k-instance bags stay cheap; everything else is the published default. */
function smallConfig(name: string, seed = 1): Record<string, unknown> {
  const base: Record<string, unknown> = { inputDim: D, numClasses: 2, seed };
  if (BAG_LEVEL_SMALL[name]) return { ...base, ...BAG_LEVEL_SMALL[name] };
  if (['abmil', 'gabmil', 'dsmil', 'clam-sb', 'clam-mb'].includes(name))
    return { ...base, embedDim: 16, ...(name === 'dsmil' ? { queryDim: 8 } : { attentionDim: 8 }) };
  if (name === 'transmil') return { ...base, embedDim: 16, heads: 2, headDim: 8, landmarks: 8, residualKernel: 5 };
  if (['mean-mil', 'max-mil'].includes(name)) return { ...base, hidden: [16] };
  // Wrappers (MHIM) are checked through the same contract on a small AB-MIL inside.
  if (name === 'mhim') return { ...base, base: 'abmil', baseConfig: { embedDim: 16, attentionDim: 8 } };
  return { ...base, hidden: [16, 8] };
}

const bagOf = (n: number, d = D, seed = 3) => tf.tensor2d(randomFloats(n * d, seed), [n, d]);
const target: Target = { kind: 'class', label: 1, numClasses: 2 };
// image-mil reads pixels (D = H·W·C of a real image, not D = 8): the same contract runs in imageMil.test.ts.
const names = () =>
  listModels()
    .map((m) => m.name)
    .filter((n) => n !== 'image-mil');

function checkShapes(name: string, out: MilOutput, n: number): void {
  assert.deepEqual(out.logits.shape, [2], `${name} logits`);
  assert.equal(out.embedding.rank, 1, `${name} embedding rank`);
  if (out.attention) assert.deepEqual(out.attention.shape, [n], `${name} attention`);
  if (out.instanceLogits) assert.deepEqual(out.instanceLogits.shape, [n, 2], `${name} instance logits`);
  assert.ok(out.logits.dataSync().every(Number.isFinite), `${name} logits finite`);
}

/** Variables whose gradient is zero at initialisation by design: [model, variable, why]. */
const ZERO_BY_CONSTRUCTION: [RegExp, RegExp, string][] = [
  [/./, /(^|\/)attention(_\w+)?\/w\/bias$/, SHIFT_INVARIANT],
  [
    /^sa-abmilp$/,
    /^self_attention\/[fgv]\//,
    'SA-AbMILP adds its self-attention as γ·SA(h) with γ = 0 at initialisation, as SAGAN; f, g, v learn once γ moves',
  ],
  [
    /^ibmil$/,
    /^confounder\/W_[qk]\//,
    "IBMIL's confounder attention reads the dictionary, all zeros until stage 2 builds it",
  ],
  [
    /^das-mil$/,
    /^layer\/distance_keys$/,
    'without coordinates every distance is 0: one key offset for all keys of a row, which its softmax ignores',
  ],
  [
    /^r2t-mil$/,
    /^crmsa\/summary\/bias$/,
    'one constant added to all summary scores of a region, which their softmax ignores',
  ],
];

describe('models: every registered model', () => {
  it('lists at least the core models with a description and a paper', () => {
    for (const n of [
      'mean-mil',
      'max-mil',
      'mi-net',
      'MI-net',
      'abmil',
      'gabmil',
      'dsmil',
      'transmil',
      'clam-sb',
      'clam-mb',
    ]) {
      const info = listModels().find((m) => m.name === n);
      assert.ok(info, `${n} registered`);
      assert.ok(info.description.length > 10 && info.paper.length > 10);
    }
  });

  it('output shapes on bags of 1 and of 20,000 instances', function () {
    this.timeout(600_000);
    for (const name of names()) {
      const model = createModel(name, smallConfig(name));
      for (const n of [1, 20_000]) {
        const bag = bagOf(n);
        const out = tf.tidy(
          () => model.forward(bag, { training: false }) as unknown as tf.TensorContainer,
        ) as unknown as MilOutput;
        checkShapes(name, out, n);
        tf.dispose([bag, out as unknown as tf.TensorContainer]);
      }
      model.dispose();
    }
  });

  it('AB-MIL forward at the real size D = 1024, N = 20,000', function () {
    this.timeout(300_000);
    const model = createModel('abmil', { seed: 1 });
    const bag = bagOf(20_000, 1024);
    const out = model.forward(bag, { training: false });
    checkShapes('abmil', out, 20_000);
    assert.ok(Math.abs(tf.sum(out.attention!).dataSync()[0] - 1) < 1e-4);
    tf.dispose([bag, out as unknown as tf.TensorContainer]);
    model.dispose();
  });

  it('is invariant to the order of instances (all but TransMIL) and attention sums to 1', () => {
    const n = 37;
    const perm = new Rng(5).shuffle(Array.from({ length: n }, (_, i) => i));
    const x = randomFloats(n * D, 9);
    const xp = new Float32Array(n * D);
    perm.forEach((src, i) => xp.set(x.subarray(src * D, src * D + D), i * D));
    for (const name of names()) {
      const model = createModel(name, smallConfig(name));
      const [a, b] = [x, xp].map(
        (v) =>
          tf.tidy(
            () => model.forward(tf.tensor2d(v, [n, D]), { training: false }) as unknown as tf.TensorContainer,
          ) as unknown as MilOutput,
      );
      // What a model declares (MHIM refuses a base without attention when it is built) is what it returns.
      assert.equal(Boolean(a.attention), model.returnsAttention, `${name}: returnsAttention`);
      if (!ORDER_DEPENDENT.has(name)) {
        assert.ok(
          maxAbsDiff(a.logits.dataSync(), b.logits.dataSync()) < 1e-4,
          `${name}: logits change under permutation`,
        );
        if (a.attention) {
          const aa = Array.from(a.attention.dataSync());
          assert.ok(
            maxAbsDiff(
              perm.map((src) => aa[src]),
              b.attention!.dataSync(),
            ) < 1e-5,
            `${name}: attention does not follow the permutation`,
          );
          assert.ok(
            Math.abs(aa.reduce((s, v) => s + v, 0) - 1) < 1e-4,
            `${name}: attention sums to ${aa.reduce((s, v) => s + v, 0)}`,
          );
          assert.ok(aa.every((v) => v >= 0));
        }
      } else if (name === 'transmil') {
        assert.ok(a.attention && a.attention.dataSync().every(Number.isFinite), 'transmil returns its cls attention');
        assert.deepEqual(a.headAttention!.shape, [2, n]);
      }
      tf.dispose([a, b] as unknown as tf.TensorContainer);
      model.dispose();
    }
  });

  it('gives a finite, non-zero gradient for every trainable variable', () => {
    const bag = bagOf(24);
    const structural = new Map<string, string[]>();
    const zero: string[] = [];
    for (const name of names()) {
      const model = createModel(name, smallConfig(name));
      const { value, grads } = tf.variableGrads(
        () => totalLoss(model.loss(model.forward(bag, { training: true, target }), target)),
        model.trainableVariables(),
      );
      assert.ok(Number.isFinite(value.dataSync()[0]), `${name} loss finite`);
      const trainable = new Set(model.trainableVariables());
      const largest = Math.max(...Object.values(grads).map((g) => tf.max(tf.abs(g)).dataSync()[0]));
      for (const [vname, v] of model.namedVariables!()) {
        if (!trainable.has(v)) continue; // EMA teacher, GRN queries: moved by EMA, never by gradients
        if (!grads[v.name]) {
          // Without subtyping, CLAM trains only the instance classifier of the bag's own class;
          // MHIM's Global Recycle Network runs only inside its own trainStep, not in forward/loss.
          const exempt =
            (name.startsWith('clam') && vname.startsWith('instance_classifier/0/')) ||
            (name === 'mhim' && vname.startsWith('grn/'));
          assert.ok(exempt, `${name}: no gradient reaches ${vname}`);
          continue;
        }
        const g = grads[v.name].dataSync();
        assert.ok(g.every(Number.isFinite), `${name}: gradient of ${vname} is not finite`);
        // Each variable on its own (a sum over all of them hides one that never learns), relative to
        // the model's largest gradient: float32 leaves ~1e-9 where the true gradient is 0.
        const top = Math.max(...Array.from(g as ArrayLike<number>, Math.abs));
        const why = ZERO_BY_CONSTRUCTION.find(([model, re]) => model.test(name) && re.test(vname))?.[2];
        if (why && top <= 1e-6 * largest) {
          structural.set(why, [...(structural.get(why) ?? []), `${name} ${vname}`]);
          continue;
        }
        if (!(top > 1e-6 * largest))
          zero.push(`${name} ${vname} (max ${top.toExponential(2)}, the model's largest ${largest.toExponential(2)})`);
      }
      tf.dispose([value, ...Object.values(grads)]);
      model.dispose();
    }
    bag.dispose();
    for (const [why, vs] of structural) console.log(`      zero by construction (${why}): ${vs.join(', ')}`);
    assert.deepEqual(zero, [], `gradients zero everywhere: ${zero.join('; ')}`);
  });

  it('same seed → identical weights and outputs (dropout included); another seed → other weights', () => {
    const bag = bagOf(30);
    for (const name of names()) {
      const [m1, m2, m3] = [1, 1, 2].map((s) => createModel(name, smallConfig(name, s)));
      const w = (m: MilModel) => m.variables().map((v) => Array.from(v.dataSync()));
      assert.deepEqual(w(m1), w(m2), `${name}: same seed, different weights`);
      assert.notDeepEqual(w(m1), w(m3), `${name}: different seeds, same weights`);
      const run = (m: MilModel) => tf.tidy(() => Array.from(m.forward(bag, { training: true }).logits.dataSync()));
      assert.deepEqual(run(m1), run(m2), `${name}: same seed, different training outputs`);
      [m1, m2, m3].forEach((m) => m.dispose());
    }
    bag.dispose();
  });

  it('save → load round-trips name, config, every weight bit for bit and the outputs', async () => {
    const dir = tempDir();
    const bag = bagOf(12);
    for (const name of names()) {
      const model = createModel(name, smallConfig(name));
      const path = `${dir}/${name}.ckpt`;
      await saveModel(model, path);
      await saveModel(model, path); // overwriting an existing save goes through the same rename
      const back = loadModel(path);
      assert.equal(back.name, model.name);
      assert.deepEqual(back.config, model.config);
      const bits = (m: MilModel) =>
        m.variables().map((v) => {
          const a = v.dataSync() as Float32Array;
          return Buffer.from(a.buffer, a.byteOffset, a.byteLength).toString('base64');
        });
      assert.deepEqual(bits(back), bits(model), `${name}: reloaded weights differ`);
      const out = (m: MilModel) => tf.tidy(() => Array.from(m.forward(bag, { training: false }).logits.dataSync()));
      assert.deepEqual(out(back), out(model), `${name}: reloaded model differs`);
      model.dispose();
      back.dispose();
    }
    bag.dispose();
    const fs = await import('node:fs');
    assert.deepEqual(
      fs.readdirSync(dir).filter((f) => f.includes('.tmp-')),
      [],
      'no temporary files left',
    );
  });
});

describe('models: registry errors and model-specific behaviour', () => {
  it('an unknown model name lists the known names and suggests the closest', () => {
    assert.throws(
      () => createModel('abmill' as never),
      (e: Error) => /unknown model "abmill" \(did you mean "abmil"\?\).*transmil/.test(e.message),
    );
    assert.throws(
      () => createModel('abmil', { gatd: true } as never),
      /unknown option "gatd" for model "abmil" \(did you mean "gated"\?\)/,
    );
    assert.throws(() => createModel('abmil', { inputDim: 0 }), /inputDim must be a whole number ≥ 1/);
  });

  it('a bag of the wrong width is a clear error', () => {
    const m = createModel('abmil', { inputDim: 8, seed: 1 });
    const bag = bagOf(3, 5);
    assert.throws(() => m.forward(bag, { training: false }), /abmil: expected a bag of shape \[N, 8\], got \[3, 5\]/);
    bag.dispose();
    m.dispose();
  });

  it('gated: true builds gated attention with the published hidden width 384', () => {
    const m = createModel('abmil', { inputDim: 8, gated: true });
    const shapes = Object.fromEntries([...m.namedVariables!()].map(([k, v]) => [k, v.shape]));
    assert.deepEqual(shapes['attention/V/kernel'], [512, 384]);
    assert.deepEqual(shapes['attention/U/kernel'], [512, 384]);
    const relu = createModel('abmil', { inputDim: 8, attention: 'relu' });
    const reluNames = [...relu.namedVariables!().keys()];
    assert.ok(
      !reluNames.includes('attention/V/bias') && reluNames.includes('attention/V/kernel'),
      'MHIM variant has no biases',
    );
    m.dispose();
    relu.dispose();
  });

  it("weightInit: 'torch' starts every layer from PyTorch's default U(±1/√fanIn), biases included", () => {
    const cfg = { inputDim: 166, hidden: [256, 128], embedDim: 64, attentionDim: 64 };
    const torch = createModel('abmil', { ...cfg, weightInit: 'torch' });
    const xavier = createModel('abmil', cfg);
    try {
      for (const [name, v] of torch.namedVariables()) {
        const fanIn = name.endsWith('kernel')
          ? v.shape[0]
          : xavier.namedVariables().get(`${name.slice(0, -4)}kernel`)!.shape[0];
        const values = Array.from(v.dataSync());
        const bound = 1 / Math.sqrt(fanIn);
        assert.ok(
          values.every((x) => Math.abs(x) <= bound),
          `${name} within ±1/√${fanIn}`,
        );
        // Uniform on ±bound: the largest of many draws comes close to the bound (not a narrower law).
        if (values.length >= 64)
          assert.ok(Math.max(...values.map(Math.abs)) > 0.8 * bound, `${name} fills ±1/√${fanIn}`);
      }
      assert.ok(
        xavier
          .namedVariables()
          .get('projection/bias')!
          .dataSync()
          .every((x) => x === 0),
        'xavier: zero biases',
      );
      assert.throws(
        () => createModel('abmil', { ...cfg, weightInit: 'kaiming' as 'torch' }),
        /weightInit must be one of xavier, torch/,
      );
    } finally {
      torch.dispose();
      xavier.dispose();
    }
  });

  it('CLAM returns the weighted instance-clustering loss only with a class target, and loss = 0.7·CE + aux', () => {
    const m = createModel('clam-sb', smallConfig('clam-sb'));
    const bag = bagOf(40);
    tf.tidy(() => {
      const plain = m.forward(bag, { training: false });
      assert.equal(plain.auxLosses, undefined);
      const out = m.forward(bag, { training: false, target });
      const instance = out.auxLosses!.instance.dataSync()[0];
      assert.ok(instance > 0);
      const ce = -tf.logSoftmax(out.logits).dataSync()[1];
      const expected = 0.7 * ce + instance;
      assert.ok(Math.abs(totalLoss(m.loss(out, target)).dataSync()[0] - expected) < 1e-5);
    });
    bag.dispose();
    m.dispose();
  });
});
