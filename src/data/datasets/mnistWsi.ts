/**
 * WSI-like MNIST bags: the structure of a whole-slide image built from real digits, the regime
 * MHIM-MIL (Tang et al., ICCV 2023 / IJCV 2025) was designed for. Classic MNIST-bags (1–3 witnesses
 * among 10–100 digits) is the opposite regime.
 *
 * - Bags are large: 500–2,000 digits (uniform).
 * - A positive bag holds a region of target digits (9): 5–20 % of its instances (uniform share);
 *   a negative bag holds none. Both hold look-alike distractors (4 and 7) at the same rate.
 * - Graded difficulty: each bag draws its share of hard instances from U(minHardFraction, 1), so
 *   most positives are hard and some bags keep almost no easy one. A hard instance is rotated (by
 *   ±90°·d), occluded (a square over 60 %·d of the image) or faded (contrast 1 − 0.85·d), with
 *   difficulty d ~ U(minDifficulty, 1). Hardness is drawn alike for every digit of every bag, so it
 *   says nothing about the label: an attention model can lock onto a bag's few easy nines, and
 *   learns the hard ones only if it must (what MHIM's masking forces).
 * - Train and validation bags draw digits from the MNIST training set, test bags from the test set;
 *   the split file holds the single split {train, val, test}.
 * - Features: with `projectDim = 0` the 784 pixels in [0, 1]; otherwise a fixed Gaussian random
 *   projection to `projectDim` values (entries N(0, 1/projectDim), seeded by `projectionSeed`, the
 *   same for every bag): a frozen, label-free encoder, as a WSI pipeline's patch encoder is, which
 *   keeps the pixel geometry (Johnson–Lindenstrauss) and makes the model's first layer cheaper.
 * Instance labels: 1 for a target digit. Bag metadata: `split`, `positives`, `hardPositives`.
 */
import * as fs from 'node:fs';
import { type BagRecord } from '../bag';
import { MilkitDataError, fileSystemError } from '../errors';
import { writeCohort } from '../writer';
import { splitFilePath, toSplitFile } from '../splits';
import { Rng } from '../../random';
import { loadMnist, type MnistImages } from './mnistBags';
import { type DatasetBuilder, withDefaults } from './types';

export interface MnistWsiOptions {
  target: number;
  minBagSize: number;
  maxBagSize: number;
  /** Share of target digits in a positive bag: uniform in [minWitnessFraction, maxWitnessFraction]. */
  minWitnessFraction: number;
  maxWitnessFraction: number;
  /** Each bag's share of hard digits (every class) is uniform in [minHardFraction, 1]. */
  minHardFraction: number;
  /** Difficulty of a hard digit: uniform in [minDifficulty, 1]. */
  minDifficulty: number;
  /** Share of the non-target digits that are look-alikes (4 and 7), in both classes. */
  lookalikeFraction: number;
  trainBags: number;
  valBags: number;
  testBags: number;
  positiveFraction: number;
  /** 0: raw pixels; k > 0: a fixed random projection to k features. */
  projectDim: number;
  projectionSeed: number;
  seed: number;
}

const SIDE = 28;
const PIXELS = SIDE * SIDE;
const LOOKALIKES = [4, 7];
export const HARD_KINDS = ['rotate', 'occlude', 'fade'] as const;

/** One digit (784 values in [0, 1]) made hard with difficulty d by transform `kind` (seeded by `rng`). */
export function hardenDigit(
  src: ArrayLike<number>,
  kind: (typeof HARD_KINDS)[number],
  d: number,
  rng: Rng,
): Float32Array {
  const out = new Float32Array(PIXELS);
  if (kind === 'fade') {
    const c = 1 - 0.85 * d;
    for (let p = 0; p < PIXELS; p++) out[p] = src[p] * c;
  } else if (kind === 'occlude') {
    out.set(Array.from(src));
    const side = Math.round(SIDE * Math.sqrt(0.6 * d));
    const x0 = rng.int(SIDE - side + 1);
    const y0 = rng.int(SIDE - side + 1);
    for (let y = y0; y < y0 + side; y++) out.fill(0, y * SIDE + x0, y * SIDE + x0 + side);
  } else {
    // Rotation about the centre by ±90°·d, bilinear sampling, zero outside.
    const a = (rng.next() < 0.5 ? -1 : 1) * (Math.PI / 2) * d;
    const cos = Math.cos(a);
    const sin = Math.sin(a);
    const c = (SIDE - 1) / 2;
    const at = (x: number, y: number) => (x < 0 || y < 0 || x >= SIDE || y >= SIDE ? 0 : src[y * SIDE + x]);
    for (let y = 0; y < SIDE; y++)
      for (let x = 0; x < SIDE; x++) {
        const sx = cos * (x - c) + sin * (y - c) + c;
        const sy = -sin * (x - c) + cos * (y - c) + c;
        const x0 = Math.floor(sx);
        const y0 = Math.floor(sy);
        const fx = sx - x0;
        const fy = sy - y0;
        out[y * SIDE + x] =
          (1 - fy) * ((1 - fx) * at(x0, y0) + fx * at(x0 + 1, y0)) +
          fy * ((1 - fx) * at(x0, y0 + 1) + fx * at(x0 + 1, y0 + 1));
      }
  }
  return out;
}

/** The fixed random projection `[784, k]`, entries N(0, 1/k). */
function projectionMatrix(k: number, seed: number): Float32Array {
  const rng = new Rng(seed);
  const m = new Float32Array(PIXELS * k);
  const sd = 1 / Math.sqrt(k);
  for (let i = 0; i < m.length; i++) m[i] = rng.normal(0, sd);
  return m;
}

function* bagsOf(
  split: 'train' | 'val' | 'test',
  count: number,
  o: MnistWsiOptions,
  data: MnistImages,
  rng: Rng,
  projection: Float32Array | undefined,
): Generator<BagRecord> {
  const byClass = (keep: (l: number) => boolean) => [...data.labels.keys()].filter((i) => keep(data.labels[i]));
  const targets = byClass((l) => l === o.target);
  const lookalikes = byClass((l) => LOOKALIKES.includes(l) && l !== o.target);
  const others = byClass((l) => l !== o.target && !LOOKALIKES.includes(l));
  const pick = (pool: number[]) => pool[rng.int(pool.length)];
  const dim = projection ? o.projectDim : PIXELS;
  const pixels = new Float32Array(PIXELS);
  for (let b = 0; b < count; b++) {
    const size = o.minBagSize + rng.int(o.maxBagSize - o.minBagSize + 1);
    const positive = rng.next() < o.positiveFraction;
    const k = positive ? Math.max(1, Math.round(size * rng.uniform(o.minWitnessFraction, o.maxWitnessFraction))) : 0;
    const hardFraction = rng.uniform(o.minHardFraction, 1);
    const digits = rng.shuffle([
      ...Array.from({ length: k }, () => pick(targets)),
      ...Array.from({ length: size - k }, () => pick(rng.next() < o.lookalikeFraction ? lookalikes : others)),
    ]);
    const features = new Float32Array(size * dim);
    const instanceLabels = new Int32Array(size);
    let hardPositives = 0;
    digits.forEach((digit, r) => {
      for (let p = 0; p < PIXELS; p++) pixels[p] = data.pixels[digit * PIXELS + p] / 255;
      const isTarget = data.labels[digit] === o.target;
      instanceLabels[r] = isTarget ? 1 : 0;
      let x: Float32Array = pixels;
      if (rng.next() < hardFraction) {
        if (isTarget) hardPositives++;
        x = hardenDigit(pixels, HARD_KINDS[rng.int(3)], rng.uniform(o.minDifficulty, 1), rng);
      }
      if (!projection) features.set(x, r * dim);
      else {
        const row = features.subarray(r * dim, (r + 1) * dim);
        for (let p = 0; p < PIXELS; p++) {
          const v = x[p];
          if (v === 0) continue; // most of a digit is background
          const w = projection.subarray(p * dim, (p + 1) * dim);
          for (let j = 0; j < dim; j++) row[j] += v * w[j];
        }
      }
    });
    yield {
      id: `${split}-${String(b + 1).padStart(5, '0')}`,
      label: positive ? 1 : 0,
      features,
      instanceLabels,
      meta: { split, positives: k, hardPositives },
    };
  }
}

export const mnistWsi: DatasetBuilder<MnistWsiOptions> = {
  name: 'mnist-wsi',
  describe:
    'WSI-like MNIST bags: 500–2,000 digits, positive bags with a 5–20 % region of nines, ' +
    'most digits rotated/occluded/faded, look-alike 4s and 7s',
  options: {
    target: { type: 'number', default: 9, help: 'target digit' },
    minBagSize: { type: 'number', default: 500, help: 'smallest bag' },
    maxBagSize: { type: 'number', default: 2000, help: 'largest bag (sizes uniform in between)' },
    minWitnessFraction: { type: 'number', default: 0.05, help: 'smallest share of targets in a positive bag' },
    maxWitnessFraction: { type: 'number', default: 0.2, help: 'largest share of targets in a positive bag' },
    minHardFraction: {
      type: 'number',
      default: 0.8,
      help: "each bag's share of hard digits (every class) is uniform in [minHardFraction, 1]",
    },
    minDifficulty: { type: 'number', default: 0.25, help: 'difficulty of a hard digit: uniform in [minDifficulty, 1]' },
    lookalikeFraction: { type: 'number', default: 0.3, help: 'share of non-target digits that are 4s and 7s' },
    trainBags: { type: 'number', default: 100, help: 'training bags (MNIST train digits)' },
    valBags: { type: 'number', default: 30, help: 'validation bags (MNIST train digits)' },
    testBags: { type: 'number', default: 150, help: 'test bags (MNIST test digits)' },
    positiveFraction: { type: 'number', default: 0.5, help: 'share of positive bags' },
    projectDim: { type: 'number', default: 128, help: '0: raw pixels; k: fixed random projection to k features' },
    projectionSeed: { type: 'number', default: 7, help: 'seed of the projection matrix' },
    seed: { type: 'number', default: 1, help: 'random seed (each split draws from its own stream)' },
  },
  async build(opts) {
    const o = withDefaults(mnistWsi, opts);
    const check = (ok: boolean, field: keyof MnistWsiOptions, what: string) => {
      if (!ok) throw new MilkitDataError(`${field}: ${what}, got ${o[field]}`, { field });
    };
    const count = (n: number) => Number.isInteger(n) && n >= 1;
    const share = (x: number) => x >= 0 && x <= 1;
    check(Number.isInteger(o.target) && o.target >= 0 && o.target <= 9, 'target', 'must be a digit 0..9');
    check(count(o.minBagSize), 'minBagSize', 'must be a positive integer');
    check(Number.isInteger(o.maxBagSize) && o.maxBagSize >= o.minBagSize, 'maxBagSize', 'must be ≥ minBagSize');
    check(o.minWitnessFraction > 0 && share(o.minWitnessFraction), 'minWitnessFraction', 'must be in (0, 1]');
    check(
      share(o.maxWitnessFraction) && o.maxWitnessFraction >= o.minWitnessFraction,
      'maxWitnessFraction',
      'must be in [minWitnessFraction, 1]',
    );
    check(share(o.minHardFraction), 'minHardFraction', 'must be in [0, 1]');
    check(share(o.minDifficulty), 'minDifficulty', 'must be in [0, 1]');
    check(share(o.lookalikeFraction), 'lookalikeFraction', 'must be in [0, 1]');
    check(count(o.trainBags), 'trainBags', 'must be a positive integer');
    check(Number.isInteger(o.valBags) && o.valBags >= 0, 'valBags', 'must be an integer ≥ 0');
    check(count(o.testBags), 'testBags', 'must be a positive integer');
    check(o.positiveFraction > 0 && o.positiveFraction < 1, 'positiveFraction', 'must be in (0, 1)');
    check(Number.isInteger(o.projectDim) && o.projectDim >= 0, 'projectDim', 'must be an integer ≥ 0');
    const projection = o.projectDim > 0 ? projectionMatrix(o.projectDim, o.projectionSeed) : undefined;
    const train = loadMnist('train');
    const total = o.trainBags + o.valBags + o.testBags;
    const ids: string[] = [];
    const labels: number[] = [];
    const stream = function* () {
      yield* bagsOf('train', o.trainBags, o, train, new Rng(3 * o.seed), projection);
      yield* bagsOf('val', o.valBags, o, train, new Rng(3 * o.seed + 1), projection);
      yield* bagsOf('test', o.testBags, o, loadMnist('test'), new Rng(3 * o.seed + 2), projection);
    };
    const counted = (function* () {
      for (const bag of stream()) {
        ids.push(bag.id);
        labels.push(bag.label!);
        yield bag;
        opts.onProgress?.(ids.length, total);
      }
    })();
    const metadata = { 'milkit.dataset': 'mnist-wsi', 'milkit.options': JSON.stringify(o) };
    const summary = await writeCohort(opts.out, counted, { dim: projection ? o.projectDim : PIXELS, metadata });
    const range = (from: number, n: number) => Array.from({ length: n }, (_, i) => from + i);
    const split = {
      train: range(0, o.trainBags),
      ...(o.valBags > 0 ? { val: range(o.trainBags, o.valBags) } : {}),
      test: range(o.trainBags + o.valBags, o.testBags),
    };
    const splitsPath = splitFilePath(summary.instancePath);
    const text = JSON.stringify(
      toSplitFile(
        [[split]],
        ids,
        `WSI-like MNIST bags: ${o.trainBags} train + ${o.valBags} validation (MNIST train set), ` +
          `${o.testBags} test (MNIST test set), seed ${o.seed}`,
      ),
    );
    try {
      fs.writeFileSync(splitsPath, text);
    } catch (err) {
      throw fileSystemError(err, splitsPath, 'write the split file');
    }
    const pos = (from: number, n: number) => labels.slice(from, from + n).reduce((a, b) => a + b, 0);
    return {
      cohort: summary,
      splitsPath,
      notes: [
        `train: ${o.trainBags} bags, ${pos(0, o.trainBags)} positive`,
        `val: ${o.valBags} bags, ${pos(o.trainBags, o.valBags)} positive`,
        `test: ${o.testBags} bags, ${pos(o.trainBags + o.valBags, o.testBags)} positive`,
        `${(summary.instances / total).toFixed(0)} instances per bag on average`,
      ],
    };
  },
};
