import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { Cohort, MilkitDataError } from '../../src/data';
import type { PatchBag } from '../../src/data/images';
import { Rng } from '../../src/random';
import { NO_AUGMENT, augmentBatch } from '../../src/ssl/augment';
import { collectPatches, extractFeatureCohort } from '../../src/ssl/extract';
import { SslNetwork } from '../../src/ssl/network';
import { loadSslNetwork } from '../../src/persist';
import { type PretrainConfig, pretrain } from '../../src/ssl/pretrain';
import { tempDir } from '../helpers/tmp';

const P = 10;

/** Bags of 10 × 10 patches: "nuclei" (dark purple blobs) in positive bags, pink stroma everywhere. */
function bags(count: number, seed = 1): PatchBag[] {
  const rng = new Rng(seed);
  return Array.from({ length: count }, (_, b) => {
    const n = 6 + (b % 3);
    const pixels = new Uint8Array(n * P * P * 3);
    const labels = new Int32Array(n);
    for (let i = 0; i < n; i++) {
      const nucleus = b % 2 === 1 && i < 2;
      labels[i] = nucleus ? 1 : 0;
      const [cx, cy] = [2 + rng.int(6), 2 + rng.int(6)];
      for (let y = 0; y < P; y++) {
        for (let x = 0; x < P; x++) {
          const inside = nucleus && (x - cx) ** 2 + (y - cy) ** 2 < 6;
          const noise = rng.int(20);
          pixels.set(
            inside ? [90 + noise, 50 + noise, 140 + noise] : [220 - noise, 150 + noise, 190],
            ((i * P + y) * P + x) * 3,
          );
        }
      }
    }
    const coords = Int32Array.from({ length: 2 * n }, (_, k) => (k % 2 ? 0 : (k / 2) * P));
    return { id: `bag-${b}`, label: b % 2, patientId: `p${b}`, size: P, n, pixels, coords, instanceLabels: labels };
  });
}

const tiny: Partial<PretrainConfig> = {
  net: { inputSize: 8, width: 4, embedDim: 8, projDim: 4 },
  batchSize: 8,
  steps: 4,
  learningRate: 3e-3,
  seed: 5,
};

async function paramValues(net: SslNetwork): Promise<Float32Array[]> {
  return Promise.all([...net.params.values()].map(async (v) => (await v.data()) as Float32Array));
}

describe('ssl/pretrain: loop, checkpoints, resume, extraction', () => {
  const dir = tempDir();

  it('trains with both objectives, reports progress, and leaks no tensors', async () => {
    const patches = await collectPatches(bags(4));
    assert.equal(patches.n, 6 + 7 + 8 + 6);
    const before = tf.memory().numTensors;
    const seen: number[] = [];
    const r = await pretrain(patches, { ...tiny, maskRatio: 0.25 }, { onProgress: (p) => seen.push(p.step) });
    assert.deepEqual(seen, [1, 2, 3, 4]);
    assert.ok(
      r.history.every(
        (h) =>
          Number.isFinite(h.contrastive!) &&
          Number.isFinite(h.reconstruction!) &&
          Math.abs(h.loss - h.contrastive! - h.reconstruction!) < 1e-4,
      ),
    );
    r.network.dispose();
    assert.equal(tf.memory().numTensors, before);
  });

  it('contrastive-only leaves the decoder untouched and reconstruction-only the projection head', async () => {
    const patches = await collectPatches(bags(2));
    const fresh = new SslNetwork(tiny.net, tiny.seed);
    const init = new Map([...fresh.params].map(([k, v]) => [k, v.dataSync().slice()]));
    fresh.dispose();
    for (const [objective, frozen, moved] of [
      ['contrastive', 'dec/', 'proj/'],
      ['reconstruction', 'proj/', 'dec/'],
    ] as const) {
      const w =
        objective === 'contrastive'
          ? { contrastiveWeight: 1, reconstructionWeight: 0 }
          : { contrastiveWeight: 0, reconstructionWeight: 1 };
      const r = await pretrain(patches, { ...tiny, ...w, steps: 2 });
      for (const [name, v] of r.network.params) {
        const same = v.dataSync().every((x, i) => x === init.get(name)![i]);
        if (name.startsWith(frozen)) assert.ok(same, `${objective}: ${name} changed`);
        if (name.startsWith(moved) || name.startsWith('enc/')) assert.ok(!same, `${objective}: ${name} did not train`);
      }
      assert.ok(
        r.history.every((h) =>
          objective === 'contrastive' ? h.reconstruction === undefined : h.contrastive === undefined,
        ),
      );
      r.network.dispose();
    }
  });

  it('a resumed run ends exactly where the uninterrupted run does (atomic checkpoints)', async () => {
    const patches = await collectPatches(bags(3));
    const full = await pretrain(patches, tiny, { checkpoint: path.join(dir, 'full.ckpt'), checkpointEvery: 2 });
    const ckpt = path.join(dir, 'part.ckpt');
    const half = await pretrain(patches, { ...tiny, steps: 2 }, { checkpoint: ckpt });
    half.network.dispose();
    assert.ok(!fs.readdirSync(dir).some((f) => f.includes('.tmp-')), 'no temporary files left');
    const resumed = await pretrain(patches, tiny, { checkpoint: ckpt, resume: true });
    assert.equal(resumed.startStep, 2);
    assert.deepEqual(
      resumed.history.map((h) => h.step),
      [1, 2, 3, 4],
    );
    assert.deepEqual(resumed.history, full.history);
    const [a, b] = [await paramValues(full.network), await paramValues(resumed.network)];
    a.forEach((v, i) => assert.deepEqual(v, b[i]));
    const loaded = loadSslNetwork(ckpt);
    assert.equal(loaded.step, 4);
    (await paramValues(loaded.network)).forEach((v, i) => assert.deepEqual(v, a[i]));
    [full.network, resumed.network, loaded.network].forEach((n) => n.dispose());
    // Resuming with a different configuration is refused; a damaged file is named.
    await assert.rejects(
      pretrain(patches, { ...tiny, temperature: 0.1 }, { checkpoint: ckpt, resume: true }),
      (e: Error) => e instanceof MilkitDataError && /different configuration/.test(e.message),
    );
    const bad = path.join(dir, 'bad.ckpt');
    fs.writeFileSync(bad, 'nonsense');
    assert.throws(
      () => loadSslNetwork(bad),
      (e: Error) => e instanceof MilkitDataError && e.message.includes(bad),
    );
    fs.writeFileSync(bad, fs.readFileSync(ckpt).subarray(0, fs.statSync(ckpt).size - 100));
    assert.throws(() => loadSslNetwork(bad), /truncated: the header declares/);
  });

  it('extracts encoder features of every patch into a cohort with coordinates and instance labels', async () => {
    const src = bags(3);
    const net = new SslNetwork(tiny.net, 9);
    const file = path.join(dir, 'feats.arrow');
    const summary = await extractFeatureCohort(file, src, net, { patchSize: P, batchSize: 4 });
    assert.deepEqual([summary.bags, summary.instances, summary.dim], [3, 6 + 7 + 8, 8]);
    const cohort = await Cohort.open(file);
    const bag = await cohort.bag(1);
    assert.deepEqual([...bag.coords!], [...src[1].coords]);
    assert.deepEqual([...bag.instanceLabels!], [...src[1].instanceLabels!]);
    // Same numbers as running the encoder directly on the resized patches.
    const input = augmentBatch(
      src[1].pixels,
      P,
      Array.from({ length: src[1].n }, (_, i) => i),
      8,
      new Rng(0),
      NO_AUGMENT,
    );
    const direct = tf.tidy(() => net.encode(tf.tensor4d(input, [src[1].n, 8, 8, 3])).dataSync());
    assert.ok(direct.every((v, i) => Math.abs(v - bag.features[i]) < 1e-5));
    await cohort.close();
    net.dispose();
  });

  it('bad input: empty bags, too few patches, invalid settings', async () => {
    await assert.rejects(
      collectPatches([]),
      (e: Error) => e instanceof MilkitDataError && /no patches/.test(e.message),
    );
    const one = { pixels: new Uint8Array(P * P * 3), size: P, n: 1 };
    await assert.rejects(pretrain(one, tiny), /at least 2 patches/);
    const patches = await collectPatches(bags(1));
    await assert.rejects(pretrain(patches, { ...tiny, contrastiveWeight: 0, reconstructionWeight: 0 }), /not both 0/);
    await assert.rejects(pretrain(patches, { ...tiny, batchSize: 1 }), /batchSize/);
    await assert.rejects(
      pretrain(patches, { ...tiny, net: { inputSize: 10, width: 4, embedDim: 8, projDim: 4 } }),
      /multiple of 4/,
    );
    const sub = await collectPatches(bags(4), { maxPatches: 5, seed: 1 });
    assert.equal(sub.n, 5);
  });
});
