/**
 * milkit's own self-supervised patch encoder (src/ssl) on slides: pretraining patches sampled from
 * the tiled slides (`milkit slides pretrain`), and a pretrained checkpoint as a `SlideEncoder`
 * (`milkit slides embed --encoder ssl:CKPT`). Both area-resize each patch to the network's input
 * side first, so extraction sees exactly the kind of pixels pretraining saw.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { getBackend } from '@tensorflow/tfjs';
import { MilkitDataError } from '../data/errors';
import { loadSslNetwork } from '../persist/ssl';
import { Rng } from '../random';
import { encoderFeaturizer } from '../ssl/extract';
import type { PatchSet } from '../ssl/pretrain';
import { type SlideEncoder, fileSha256, readTiledSlide, resizePatches, safeName, tiledSlideIds } from './embed';
import { openSlide } from './open';
import { patchGeometry } from './output';
import { readPatches } from './patches';
import type { SlideBackend } from './types';

export interface SampleOptions {
  /** Side the patches are resized to (the SSL network's input side). */
  size: number;
  /** A seeded uniform sample of at most this many patches over all slides (default: all). */
  maxPatches?: number;
  seed?: number;
  /** A folder holding the slide files, when they moved since tiling. */
  slides?: string;
  backend?: SlideBackend | 'auto';
  /** Slides read so far, of the total. */
  onSlide?: (done: number, total: number, slideId: string) => void;
}

/**
 * Pretraining patches from every slide tiled in `dir`: a seeded uniform sample over all their
 * patches, chosen before any pixel is read, so only the chosen patches are read and memory holds
 * `maxPatches` patches of `size × size`. The same folder and seed give the same patches (and so a
 * pretraining that resumes).
 */
export async function sampleTiledPatches(dir: string, opts: SampleOptions): Promise<PatchSet> {
  const ids = tiledSlideIds(dir);
  if (ids.length === 0)
    throw new MilkitDataError('no tiled slides (patches/ is empty)', { file: dir }, 'tile the slides first');
  const slides = [];
  for (const id of ids) slides.push(await readTiledSlide(dir, id, opts));
  const counts = slides.map((s) => s.coords.length / 2);
  const total = counts.reduce((a, b) => a + b, 0);
  const k = Math.min(total, opts.maxPatches ?? total);
  const chosen = new Rng(opts.seed ?? 0).sample(total, k).sort((a, b) => a - b);
  const per = opts.size * opts.size * 3;
  const pixels = new Uint8Array(k * per);
  let filled = 0;
  let offset = 0;
  let c = 0;
  for (const [s, t] of slides.entries()) {
    const mine: number[] = [];
    while (c < chosen.length && chosen[c] < offset + counts[s]) mine.push(chosen[c++] - offset);
    offset += counts[s];
    if (mine.length) {
      const coords = Int32Array.from(mine.flatMap((i) => [t.coords[2 * i], t.coords[2 * i + 1]]));
      const geometry = patchGeometry(t.attrs, t.patchFile);
      const slide = await openSlide(t.slidePath, { backend: opts.backend });
      try {
        for await (const b of readPatches(slide, coords, geometry, { batchSize: 64 })) {
          pixels.set(resizePatches(b.pixels, b.n, geometry.patchSize, opts.size), filled * per);
          filled += b.n;
        }
      } finally {
        slide.close();
      }
    }
    opts.onSlide?.(s + 1, slides.length, t.id);
  }
  return { pixels, size: opts.size, n: filled };
}

/** The encoder of an SSL pretraining checkpoint (`milkit ssl pretrain`, `milkit slides pretrain`). */
export function sslSlideEncoder(checkpoint: string, opts: { batchSize?: number } = {}): SlideEncoder {
  if (!fs.existsSync(checkpoint))
    throw new MilkitDataError('no such file', { file: checkpoint }, 'give the checkpoint of milkit slides pretrain');
  const { network, config, step } = loadSslNetwork(checkpoint);
  const s = network.config.inputSize;
  const batchSize = opts.batchSize ?? 64;
  const inner = encoderFeaturizer(network, { batchSize });
  const name = `ssl-${safeName(path.basename(checkpoint).replace(/\.[^.]+$/, ''))}`;
  return {
    name,
    identity: { kind: 'ssl', file: path.basename(checkpoint), sha256: fileSha256(checkpoint), net: config.net, step },
    device: `tfjs ${getBackend()}`,
    batchSize,
    dim: () => network.config.embedDim,
    featurize: (pixels, n, size) => inner.featurize(resizePatches(pixels, n, size, s), n, s),
    dispose: () => network.dispose(),
  };
}
