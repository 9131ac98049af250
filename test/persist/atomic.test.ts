/**
 * Temp files: named after host and pid, so the next run removes those of killed processes (a real
 * child killed with SIGKILL mid-write) and leaves those a live process is still writing.
 */
import { strict as assert } from 'node:assert';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { removeStaleTempFiles, writeFileAtomic } from '../../src/persist';
import { tempPathFor } from '../../src/persist/atomic';
import { tempDir } from '../helpers/tmp';
import { killedWriter } from './helpers';

describe('persist/atomic: temp files of dead writers are recognised and removed', () => {
  const dir = tempDir();

  it('names temp files <file>.tmp-<host>-<pid>-<n>, each one fresh', () => {
    const a = tempPathFor(path.join(dir, 'x.ckpt'));
    const b = tempPathFor(path.join(dir, 'x.ckpt'));
    assert.notEqual(a, b);
    const host = os.hostname().replace(/[^A-Za-z0-9._]/g, '_');
    assert.match(path.basename(a), new RegExp(`^x\\.ckpt\\.tmp-${host.replace(/\./g, '\\.')}-${process.pid}-\\d+$`));
  });

  it("removes a killed process's temp file, keeps a live process's and every other file", async () => {
    const sub = path.join(dir, 'run');
    fs.mkdirSync(sub);
    const deadPid = killedWriter(path.join(sub, 'last.ckpt'));
    const live = tempPathFor(path.join(sub, 'best.ckpt')); // this process: alive
    fs.writeFileSync(live, 'being written');
    // A live process of the same host other than this one.
    const sleeper = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60000)'], { stdio: 'ignore' });
    const host = path
      .basename(live)
      .split('.tmp-')[1]
      .replace(/-\d+-\d+$/, '');
    const liveOther = path.join(sub, `model.ckpt.tmp-${host}-${sleeper.pid}-0`);
    fs.writeFileSync(liveOther, 'being written by another process');
    const keep = ['last.ckpt', 'notes.tmp-1', 'result.json', 'x.tmp-abc-def'];
    for (const f of keep) fs.writeFileSync(path.join(sub, f), '');
    try {
      const removed = removeStaleTempFiles(sub);
      assert.equal(removed.length, 1);
      assert.match(path.basename(removed[0]), new RegExp(`^last\\.ckpt\\.tmp-.+-${deadPid}-0$`));
      assert.deepEqual(fs.readdirSync(sub).sort(), [...keep, path.basename(live), path.basename(liveOther)].sort());
    } finally {
      sleeper.kill('SIGKILL');
      await new Promise((r) => sleeper.once('exit', r));
    }
  });

  it("another host's temp files go only once nobody touched them for a day", () => {
    const sub = path.join(dir, 'shared');
    fs.mkdirSync(sub);
    const fresh = path.join(sub, 'last.ckpt.tmp-node17.cluster-4242-0');
    const old = path.join(sub, 'best.ckpt.tmp-node17.cluster-4242-1');
    fs.writeFileSync(fresh, '');
    fs.writeFileSync(old, '');
    const dayAgo = (Date.now() - 25 * 3600 * 1000) / 1000;
    fs.utimesSync(old, dayAgo, dayAgo);
    assert.deepEqual(removeStaleTempFiles(sub), [old]);
    assert.deepEqual(fs.readdirSync(sub), [path.basename(fresh)]);
  });

  it('a missing folder has nothing to clean; a write creates its folder', () => {
    assert.deepEqual(removeStaleTempFiles(path.join(dir, 'nope')), []);
    const file = path.join(dir, 'new', 'deep', 'f.txt');
    writeFileAtomic(file, [Buffer.from('a'), Buffer.from('b')]);
    assert.equal(fs.readFileSync(file, 'utf8'), 'ab');
    assert.deepEqual(fs.readdirSync(path.dirname(file)), ['f.txt']);
  });
});
