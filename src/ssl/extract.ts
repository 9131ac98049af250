/**
 * From patch bags to SSL training data and back to MIL feature bags: gather patches for
 * pretraining, and featurise every patch of every bag with a (trained or random) encoder, written
 * as a milkit cohort with coordinates so any MIL model trains on it.
 */
import * as tf from '@tensorflow/tfjs';
import { MilkitDataError } from '../data/errors';
import { type BuildProgress, type PatchBag, type PatchFeaturizer, writePatchCohort } from '../data/images';
import type { WriteSummary } from '../data/writer';
import { Rng } from '../random';
import { NO_AUGMENT, augmentBatch } from './augment';
import type { PatchSet } from './pretrain';
import { SslNetwork } from './network';

/**
 * Collects the patches of a stream of bags into one `PatchSet` (pretraining data). With
 * `maxPatches`, a seeded uniform subsample (reservoir sampling, so memory stays at `maxPatches`).
 */
export async function collectPatches(
  bags: AsyncIterable<PatchBag> | Iterable<PatchBag>,
  opts: { maxPatches?: number; seed?: number } = {},
): Promise<PatchSet> {
  const rng = new Rng(opts.seed ?? 0);
  const cap = opts.maxPatches ?? Infinity;
  const chosen: Uint8Array[] = [];
  let size = 0;
  let seen = 0;
  for await (const bag of bags) {
    if (size && bag.size !== size)
      throw new MilkitDataError(`patch size ${bag.size} differs from earlier bags' ${size}`, { bag: bag.id });
    size = bag.size;
    const per = size * size * 3;
    for (let i = 0; i < bag.n; i++, seen++) {
      const patch = bag.pixels.subarray(i * per, (i + 1) * per);
      if (chosen.length < cap) chosen.push(patch.slice());
      else {
        const j = rng.int(seen + 1);
        if (j < cap) chosen[j] = patch.slice();
      }
    }
  }
  if (chosen.length === 0)
    throw new MilkitDataError('no patches to pretrain on (every bag was empty)', { field: 'patches' });
  const per = size * size * 3;
  const pixels = new Uint8Array(chosen.length * per);
  chosen.forEach((p, i) => pixels.set(p, i * per));
  return { pixels, size, n: chosen.length };
}

/**
 * A `PatchFeaturizer` running the encoder (patches resized to its input, no augmentation) in
 * batches of `batchSize`; D = the network's embedDim.
 */
export function encoderFeaturizer(
  network: SslNetwork,
  opts: { batchSize?: number; name?: string } = {},
): PatchFeaturizer {
  const batch = opts.batchSize ?? 256;
  const s = network.config.inputSize;
  const dim = network.config.embedDim;
  return {
    name: opts.name ?? 'ssl-encoder',
    dim: () => dim,
    async featurize(pixels, n, size) {
      const out = new Float32Array(n * dim);
      const rng = new Rng(0); // NO_AUGMENT draws but ignores random numbers
      for (let start = 0; start < n; start += batch) {
        const idx = Array.from({ length: Math.min(batch, n - start) }, (_, i) => start + i);
        const input = augmentBatch(pixels, size, idx, s, rng, NO_AUGMENT);
        const h = tf.tidy(() => network.encode(tf.tensor4d(input, [idx.length, s, s, 3])));
        out.set(await h.data(), start * dim);
        h.dispose();
      }
      return out;
    },
  };
}

/** Writes the encoder features of every patch of `bags` as a cohort (coords and instance labels kept). */
export async function extractFeatureCohort(
  out: string,
  bags: AsyncIterable<PatchBag> | Iterable<PatchBag>,
  network: SslNetwork,
  opts: {
    patchSize: number;
    batchSize?: number;
    name?: string;
    metadata?: Record<string, string>;
    total?: number;
    onBag?: BuildProgress;
  },
): Promise<WriteSummary> {
  return writePatchCohort(out, bags, encoderFeaturizer(network, opts), {
    patchSize: opts.patchSize,
    total: opts.total,
    onBag: opts.onBag,
    metadata: { 'milkit.ssl_net': JSON.stringify(network.config), ...opts.metadata },
  });
}
