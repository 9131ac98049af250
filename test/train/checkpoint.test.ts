import { strict as assert } from 'node:assert';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { checkpointChunks, loadCheckpoint, saveCheckpoint, writeFileAtomic } from '../../src/train';
import { tempDir } from '../helpers/tmp';

const data = (x: number, n = 5) => ({
  header: { epoch: x },
  tensors: [
    { name: 'w', shape: [n], values: Float32Array.from({ length: n }, (_, i) => i + x) },
    { name: 'b', shape: [1], values: new Float32Array([x]) },
  ],
});

describe('train/checkpoint: atomic single-file checkpoints', () => {
  const dir = tempDir();

  it('round-trips header and tensors', () => {
    const file = path.join(dir, 'a.ckpt');
    saveCheckpoint(file, data(3));
    const back = loadCheckpoint<{ epoch: number }>(file);
    assert.equal(back.header.epoch, 3);
    assert.deepEqual(
      back.tensors.map((t) => [t.name, t.shape, Array.from(t.values)]),
      [
        ['w', [5], [3, 4, 5, 6, 7]],
        ['b', [1], [3]],
      ],
    );
  });

  it('a crash in the middle of writing leaves the previous checkpoint intact and no temp file', () => {
    const file = path.join(dir, 'crash.ckpt');
    saveCheckpoint(file, data(1));
    function* crashing() {
      const it = checkpointChunks(data(2));
      yield it.next().value as Uint8Array; // the header is written ...
      throw new Error('simulated crash'); // ... then the process "dies" before the tensors
    }
    assert.throws(() => writeFileAtomic(file, crashing()), /simulated crash/);
    assert.equal(loadCheckpoint<{ epoch: number }>(file).header.epoch, 1);
    assert.deepEqual(
      fs.readdirSync(dir).filter((f) => f.startsWith('crash.ckpt.tmp')),
      [],
    );
  });

  it('a process killed (SIGKILL) while rewriting a checkpoint never leaves it unloadable', async function () {
    this.timeout(200_000);
    const file = path.join(dir, 'killed.ckpt');
    saveCheckpoint(file, data(0, 4));
    // A child rewrites an 8 MB checkpoint in a loop; kill it at several moments and load each time.
    const script = `
      const { saveCheckpoint } = require(${JSON.stringify(path.resolve(__dirname, '../../src/train/checkpoint.ts'))});
      const n = 2_000_000;
      for (let x = 1; ; x++) saveCheckpoint(${JSON.stringify(file)}, { header: { epoch: x }, tensors: [{ name: 'w', shape: [n], values: new Float32Array(n).fill(x) }] });`;
    let newest = 0;
    for (const extra of [0, 37, 83]) {
      const child = spawn(process.execPath, ['--require', 'tsx/cjs', '-e', script], { stdio: 'ignore' });
      // Wait until the child is rewriting (the file changed), then kill it at an arbitrary moment.
      const before = fs.statSync(file).mtimeMs;
      const deadline = Date.now() + 60_000;
      while (fs.statSync(file).mtimeMs === before && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
      await new Promise((r) => setTimeout(r, extra));
      child.kill('SIGKILL');
      await new Promise((r) => child.once('exit', r));
      const ck = loadCheckpoint<{ epoch: number }>(file);
      const x = ck.header.epoch;
      assert.ok(
        x === 0 || ck.tensors[0].values.every((v) => v === x),
        'tensor values belong to the header they were written with',
      );
      newest = Math.max(newest, x);
    }
    assert.ok(newest > 0, 'the child rewrote the checkpoint before being killed');
  });

  it('truncated and foreign files give clear errors naming the file', () => {
    const file = path.join(dir, 't.ckpt');
    saveCheckpoint(file, data(1));
    const bytes = fs.readFileSync(file);
    fs.writeFileSync(file, bytes.subarray(0, bytes.length - 3));
    assert.throws(() => loadCheckpoint(file), /t\.ckpt: expected \d+ bytes, the file has \d+ \(truncated or corrupt\)/);
    fs.writeFileSync(file, 'hello world, not a checkpoint');
    assert.throws(() => loadCheckpoint(file), /t\.ckpt: not a milkit checkpoint/);
  });
});
