/**
 * The checkpoint file: round trip, crash safety (a simulated crash mid-write and real SIGKILLs), and
 * one clear error naming the file and the field for every way a file can be damaged, lie about its
 * sizes, be foreign, newer, or in one of milkit 0.1's formats (fixtures written by milkit 0.1's code).
 */
import { strict as assert } from 'node:assert';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import {
  CHECKPOINT_VERSION,
  type CheckpointContent,
  readCheckpoint,
  removeStaleTempFiles,
  writeCheckpoint,
  writeFileAtomic,
} from '../../src/persist';
import { checkpointChunks } from '../../src/persist/format';
import { tempDir } from '../helpers/tmp';
import { FIXTURES, assertRefused, rewriteHeader } from './helpers';

const content = (x: number, n = 5): CheckpointContent<{ epoch: number; best: number }> => ({
  kind: 'training-state',
  meta: { epoch: x, best: NaN },
  tensors: [
    { name: 'w', shape: [n], values: Float32Array.from({ length: n }, (_, i) => i + x + 0.1) },
    { name: 'b', shape: [1, 1], values: new Float32Array([x]) },
    { name: 'empty', shape: [0, 3], values: new Float32Array(0) },
  ],
});

describe('persist/format: one checkpoint file, read back exactly or refused clearly', () => {
  const dir = tempDir();

  it('round-trips kind, meta (NaN included), fingerprint and tensors bit for bit', () => {
    const file = path.join(dir, 'a.ckpt');
    const fingerprint = { hash: 'sha256:00', parts: { seed: 3 } };
    writeCheckpoint(file, { ...content(3), fingerprint });
    const back = readCheckpoint<{ epoch: number; best: number }>(file, 'training-state');
    assert.equal(back.kind, 'training-state');
    assert.equal(back.meta.epoch, 3);
    assert.ok(Number.isNaN(back.meta.best), 'NaN stays NaN (JSON alone would make it null)');
    assert.deepEqual(back.fingerprint, fingerprint);
    assert.match(back.milkit, /^\d+\.\d+\.\d+/);
    const orig = content(3).tensors;
    assert.deepEqual(
      back.tensors.map((t) => [t.name, t.shape]),
      orig.map((t) => [t.name, t.shape]),
    );
    back.tensors.forEach((t, i) =>
      assert.ok(
        Buffer.from(t.values.buffer, t.values.byteOffset, t.values.byteLength).equals(
          Buffer.from(orig[i].values.buffer),
        ),
      ),
    );
    // The layout is what docs/TRAINING.md says: magic, header length, JSON, padding to 8, data.
    const buf = fs.readFileSync(file);
    assert.equal(buf.toString('latin1', 0, 8), 'MILKITCK');
    const header = JSON.parse(buf.toString('utf8', 12, 12 + buf.readUInt32LE(8)));
    assert.equal(header.version, CHECKPOINT_VERSION);
    assert.deepEqual(header.tensors[1], { name: 'b', shape: [1, 1], dtype: 'float32', offset: 20 });
    assert.equal(buf.length, Math.ceil((12 + buf.readUInt32LE(8)) / 8) * 8 + 24);
  });

  it('a crash in the middle of writing leaves the previous file intact and no temp file', () => {
    const file = path.join(dir, 'crash.ckpt');
    writeCheckpoint(file, content(1));
    function* crashing() {
      const it = checkpointChunks(content(2));
      yield it.next().value as Uint8Array; // the header is written ...
      throw new Error('simulated crash'); // ... then the process "dies" before the tensors
    }
    assert.throws(() => writeFileAtomic(file, crashing()), /simulated crash/);
    assert.equal(readCheckpoint<{ epoch: number }>(file).meta.epoch, 1);
    assert.deepEqual(
      fs.readdirSync(dir).filter((f) => f.includes('.tmp-')),
      [],
    );
  });

  it('a failed rename (the target is a folder) removes its temp file too', () => {
    const target = path.join(dir, 'is-a-folder');
    fs.mkdirSync(target);
    assert.throws(() => writeFileAtomic(target, [Buffer.from('x')]), /EISDIR|directory/i);
    assert.deepEqual(
      fs.readdirSync(dir).filter((f) => f.includes('.tmp-')),
      [],
    );
  });

  it(
    'a process killed (SIGKILL) while rewriting never ' + 'leaves the file unloadable; its temp files are cleaned',
    async function () {
      this.timeout(200_000);
      const sub = path.join(dir, 'killed');
      const file = path.join(sub, 'k.ckpt');
      writeCheckpoint(file, content(0, 4));
      // A child rewrites an 8 MB checkpoint in a loop; kill it at several moments and load each time.
      const script = `
      const { writeCheckpoint } = require(${JSON.stringify(path.resolve(__dirname, '../../src/persist/format.ts'))});
      const n = 2_000_000;
      for (let x = 1; ; x++)
        writeCheckpoint(${JSON.stringify(file)}, {
          kind: 'model',
          meta: { epoch: x },
          tensors: [{ name: 'w', shape: [n], values: new Float32Array(n).fill(x) }],
        });`;
      let newest = 0;
      for (const extra of [0, 37, 83]) {
        const child = spawn(process.execPath, ['--require', 'tsx/cjs', '-e', script], { stdio: 'ignore' });
        // Wait until the child is rewriting (the file changed), then kill it at an arbitrary moment.
        const before = fs.statSync(file).mtimeMs;
        const deadline = Date.now() + 60_000;
        while (fs.statSync(file).mtimeMs === before && Date.now() < deadline)
          await new Promise((r) => setTimeout(r, 5));
        await new Promise((r) => setTimeout(r, extra));
        child.kill('SIGKILL');
        await new Promise((r) => child.once('exit', r));
        const ck = readCheckpoint<{ epoch: number }>(file);
        const x = ck.meta.epoch;
        assert.ok(
          x === 0 || ck.tensors[0].values.every((v) => v === x),
          'tensor values belong to the header they were written with',
        );
        newest = Math.max(newest, x);
        // Whatever the child was writing when it died is recognised as stale and removed.
        removeStaleTempFiles(sub);
        assert.deepEqual(fs.readdirSync(sub), ['k.ckpt']);
      }
      assert.ok(newest > 0, 'the child rewrote the checkpoint before being killed');
    },
  );

  describe('damaged, lying and foreign files: one error naming the file and the field', () => {
    const good = path.join(dir, 'good.ckpt');
    const bad = path.join(dir, 'bad.ckpt');
    before(() => writeCheckpoint(good, content(1)));
    const bytes = () => fs.readFileSync(good);

    it('truncated anywhere: in the magic, the length, the header, the data', () => {
      const b = bytes();
      const n = b.readUInt32LE(8);
      for (const [cut, why] of [
        [0, /truncated: 0 bytes/],
        [5, /truncated: 5 bytes/],
        [10, /truncated: 10 bytes/],
        [12 + Math.floor(n / 2), /truncated: the header needs/],
        [b.length - 3, /truncated: the header declares 24 bytes of tensor data, the file holds 21/],
      ] as const) {
        fs.writeFileSync(bad, b.subarray(0, cut));
        assertRefused(() => readCheckpoint(bad), bad, why);
      }
    });

    it('not a checkpoint, bytes after the data, a damaged header', () => {
      fs.writeFileSync(bad, 'hello world, not a checkpoint');
      assertRefused(() => readCheckpoint(bad), bad, /not a milkit checkpoint \(no MILKITCK magic/);
      fs.writeFileSync(bad, Buffer.concat([bytes(), Buffer.alloc(4)]));
      assertRefused(() => readCheckpoint(bad), bad, /4 bytes after the last tensor/);
      const b = Buffer.from(bytes());
      b.write('}', 12, 'latin1'); // the first character of the JSON
      fs.writeFileSync(bad, b);
      assertRefused(() => readCheckpoint(bad), bad, /corrupt header/, 'header');
      assertRefused(
        () => readCheckpoint(path.join(dir, 'missing.ckpt')),
        path.join(dir, 'missing.ckpt'),
        /cannot read checkpoint: ENOENT/,
      );
    });

    it('a header that lies about sizes, offsets, shapes or dtypes', () => {
      const cases: [(h: Record<string, unknown>) => void, RegExp, string?][] = [
        [
          (h) => ((h.tensors as { shape: number[] }[])[0].shape = [6]),
          /puts it at byte 20 of the data, the tensors before it end at 24/,
          'b',
        ],
        [
          (h) => ((h.tensors as { shape: number[] }[])[2].shape = [1, 3]),
          /declares 36 bytes of tensor data, the file holds 24/,
        ],
        [
          (h) => ((h.tensors as { shape: number[] }[])[0].shape = [5, 0]),
          /the header puts it at byte 20 .* end at 0/,
          'b',
        ],
        [(h) => ((h.tensors as { offset: number }[])[1].offset = 16), /puts it at byte 16 of the data/, 'b'],
        [(h) => ((h.tensors as { shape: unknown }[])[0].shape = [-5]), /invalid shape \[-5\]/, 'w'],
        [(h) => ((h.tensors as { dtype: string }[])[0].dtype = 'float16'), /dtype "float16"/, 'w'],
        [(h) => ((h.tensors as { name: string }[])[1].name = 'w'), /lists this tensor twice/, 'w'],
        [(h) => delete h.tensors, /lists no tensors/, 'tensors'],
        [(h) => (h.kind = 'weights'), /unknown kind "weights"/, 'kind'],
        [(h) => delete h.version, /no format version/, 'version'],
        [
          (h) => ((h.version = 3), (h.milkit = '9.0.0')),
          /milkit 9\.0\.0 in checkpoint format 3; .* upgrade milkit/,
          'version',
        ],
      ];
      for (const [edit, why, field] of cases) {
        fs.copyFileSync(good, bad);
        rewriteHeader(bad, edit);
        assertRefused(() => readCheckpoint(bad), bad, why, field);
      }
    });

    it('another kind than the caller needs says what the file is', () => {
      assertRefused(
        () => readCheckpoint(good, ['model', 'trained-model']),
        good,
        new RegExp(
          /this is a training checkpoint \(last\.ckpt \/ best\.ckpt of milkit train\), /.source +
            /but a saved model \(saveModel\) or a trained fold model .* is needed here/.source,
        ),
        'kind',
      );
    });

    it("milkit 0.1's three formats are recognised and refused with what to do", () => {
      const rerun =
        /which this milkit does not read\. Fix: move it away and run the command that made it again with this milkit/;
      for (const f of ['milkit-0.1-model.ckpt', 'milkit-0.1-last.ckpt']) {
        const file = path.join(FIXTURES, f);
        assertRefused(
          () => readCheckpoint(file),
          file,
          /a checkpoint in milkit 0\.1's format 1 \(weights by position\)/,
        );
        assertRefused(() => readCheckpoint(file), file, rerun);
      }
      const ssl = path.join(FIXTURES, 'milkit-0.1-encoder.ckpt');
      assertRefused(() => readCheckpoint(ssl), ssl, /an SSL encoder checkpoint in milkit 0\.1's "MKSSL1" format/);
      const folder = path.join(FIXTURES, 'milkit-0.1-saved-model');
      assertRefused(
        () => readCheckpoint(folder),
        folder,
        /a model folder saved by milkit 0\.1 \(model\.json \+ weights\.bin\)/,
      );
      const json = path.join(folder, 'model.json');
      assertRefused(() => readCheckpoint(json), json, /the model\.json of a model folder saved by milkit 0\.1/);
      assertRefused(() => readCheckpoint(dir), dir, /is a folder, not a checkpoint file/);
    });
  });
});
