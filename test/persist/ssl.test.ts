/**
 * SSL pretraining checkpoints: the encoder reloads bit for bit and embeds the same; a resume on other
 * patches or settings is refused naming what differs; a file that does not fit is refused naming the
 * tensor; milkit 0.1's MKSSL1 file and other kinds are refused with what to do.
 */
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { Rng } from '../../src/random';
import { loadSslNetwork, readCheckpoint, writeCheckpoint } from '../../src/persist';
import { type PatchSet, type PretrainConfig, pretrain } from '../../src/ssl/pretrain';
import { tempDir } from '../helpers/tmp';
import { FIXTURES, assertRefused, killedWriter } from './helpers';

const tiny: Partial<PretrainConfig> = {
  net: { inputSize: 8, width: 2, embedDim: 4, projDim: 2 },
  batchSize: 4,
  steps: 3,
  learningRate: 3e-3,
  seed: 2,
};

function patchSet(n: number, seed: number): PatchSet {
  const rng = new Rng(seed);
  return { pixels: Uint8Array.from({ length: n * 8 * 8 * 3 }, () => rng.int(256)), size: 8, n };
}

describe('persist/ssl: SSL encoder checkpoints', function () {
  this.timeout(120_000);
  const dir = tempDir();
  const file = path.join(dir, 'encoder.ckpt');
  const patches = patchSet(12, 1);

  it('the encoder reloads bit for bit and embeds patches identically', async () => {
    killedWriter(file); // a killed earlier run's leftover, removed when pretraining starts
    const r = await pretrain(patches, tiny, { checkpoint: file });
    const loaded = loadSslNetwork(file);
    try {
      assert.equal(loaded.step, 3);
      assert.deepEqual(loaded.history, r.history);
      assert.deepEqual(loaded.config, { ...loaded.config, ...tiny, net: { ...loaded.config.net, ...tiny.net } });
      for (const [name, v] of r.network.params)
        assert.ok(
          Buffer.from(v.dataSync().buffer).equals(Buffer.from(loaded.network.params.get(name)!.dataSync().buffer)),
          name,
        );
      const x = tf.tensor4d(
        Float32Array.from(patches.pixels.subarray(0, 2 * 192), (p) => p / 255),
        [2, 8, 8, 3],
      );
      const [a, b] = [r.network, loaded.network].map((n) => tf.tidy(() => Array.from(n.encode(x).dataSync())));
      assert.deepEqual(a, b);
      x.dispose();
      assert.deepEqual(
        fs.readdirSync(dir).filter((f) => f.includes('.tmp-')),
        [],
      );
    } finally {
      r.network.dispose();
      loaded.network.dispose();
    }
  });

  it('a resume on other patches or settings is refused, naming what differs', async () => {
    await assert.rejects(pretrain(patchSet(12, 2), tiny, { checkpoint: file, resume: true }), (e: Error) => {
      assert.match(
        e.message,
        /field "fingerprint": cannot resume: .* \(data\.pixels: saved "sha256:[0-9a-f]+…, now "sha256:/,
      );
      return true;
    });
    await assert.rejects(
      pretrain(patches, { ...tiny, learningRate: 1e-2 }, { checkpoint: file, resume: true }),
      (e: Error) => {
        assert.match(e.message, /\(pretraining\.learningRate: saved 0\.003, now 0\.01\); only `steps` may change/);
        return true;
      },
    );
    // Only `steps` may change: continuing to 5 steps resumes at 3.
    const more = await pretrain(patches, { ...tiny, steps: 5 }, { checkpoint: file, resume: true });
    assert.equal(more.startStep, 3);
    more.network.dispose();
  });

  it('a file that does not fit the network it describes, another kind, milkit 0.1', () => {
    const bad = path.join(dir, 'bad.ckpt');
    const ck = readCheckpoint<{ config: PretrainConfig }>(file);
    ck.meta.config.net.width = 3;
    writeCheckpoint(bad, ck);
    assertRefused(
      () => loadSslNetwork(bad),
      bad,
      /shape \[3,3,3,2\] in the file, \[3,3,3,3\] in the SSL network/,
      'network/enc/stem/w',
    );
    const model = readCheckpoint(file);
    writeCheckpoint(bad, { ...model, kind: 'model' });
    assertRefused(
      () => loadSslNetwork(bad),
      bad,
      new RegExp(
        /this is a saved model .* an SSL encoder checkpoint .* is /.source +
          /needed here\. Fix: give the --out file of milkit ssl pretrain/.source,
      ),
      'kind',
    );
    const old = path.join(FIXTURES, 'milkit-0.1-encoder.ckpt');
    assertRefused(() => loadSslNetwork(old), old, /milkit 0\.1's "MKSSL1" format, which this milkit does not read/);
  });
});
