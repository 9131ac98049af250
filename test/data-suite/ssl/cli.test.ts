/**
 * `milkit ssl pretrain / extract` as a user runs them (the built CLI in a child process) on the real
 * colon patches: tiny network, 300 patches, a few steps; resume; extraction of all 20,280 patches.
 */
import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Cohort } from '../../../src/data';
import { tempDir } from '../../helpers/tmp';
import { DATA_ROOT, sharedData } from '../shared-data';

const ROOT = path.join(__dirname, '..', '..', '..');

function milkit(args: string[]) {
  const r = spawnSync(process.execPath, [path.join(ROOT, 'bin', 'milkit.js'), ...args], {
    encoding: 'utf8',
    env: { ...process.env, MILKIT_DATA: DATA_ROOT, MILKIT_DEBUG: '' },
    timeout: 600_000,
  });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

describe('data-suite/ssl: the milkit ssl command on real colon patches', function () {
  this.timeout(900_000);
  const dir = tempDir();

  it('pretrains, resumes, and extracts a cohort any MIL model can read; clear usage errors', async () => {
    sharedData('colon-crchp/patch_images.tar');
    assert.ok(fs.existsSync(path.join(ROOT, 'dist', 'cli', 'main.js')), 'run `npm run build` first');
    const ckpt = path.join(dir, 'enc.ckpt');
    const net = [
      '--width',
      '4',
      '--embed-dim',
      '8',
      '--proj-dim',
      '4',
      '--input-size',
      '28',
      '--batch-size',
      '16',
      '--max-patches',
      '300',
    ];
    const first = milkit([
      'ssl',
      'pretrain',
      '--dataset',
      'colon',
      '--out',
      ckpt,
      '--steps',
      '3',
      '--checkpoint-every',
      '2',
      '--json',
      ...net,
    ]);
    assert.equal(first.code, 0, first.err);
    const a = JSON.parse(first.out);
    assert.deepEqual([a.patches, a.steps, a.resumedFrom], [300, 3, 0]);
    assert.ok(
      Number.isFinite(a.final.loss) && Number.isFinite(a.final.contrastive) && Number.isFinite(a.final.reconstruction),
    );
    const again = milkit([
      'ssl',
      'pretrain',
      '--dataset',
      'colon',
      '--out',
      ckpt,
      '--steps',
      '5',
      '--resume',
      '--json',
      ...net,
    ]);
    assert.equal(again.code, 0, again.err);
    assert.equal(JSON.parse(again.out).resumedFrom, 3);
    const out = path.join(dir, 'colon-ssl.arrow');
    const ex = milkit(['ssl', 'extract', '--dataset', 'colon', '--checkpoint', ckpt, '--out', out, '--quiet']);
    assert.equal(ex.code, 0, ex.err);
    assert.match(ex.out, /wrote 98 bags, 20280 patches, 8 features/);
    const cohort = await Cohort.open(out);
    assert.equal(cohort.dim, 8);
    assert.equal(cohort.bags.filter((b) => b.label === 1).length, 51);
    const bag = await cohort.bag(0);
    assert.ok(bag.coords && bag.instanceLabels && bag.features.every(Number.isFinite));
    await cohort.close();
    const both = milkit([
      'ssl',
      'extract',
      '--dataset',
      'colon',
      '--out',
      out,
      '--checkpoint',
      ckpt,
      '--random-encoder',
    ]);
    assert.equal(both.code, 2);
    assert.match(both.err, /exactly one of --checkpoint/);
    const unknown = milkit(['ssl', 'pretrain', '--dataset', 'lung', '--out', ckpt]);
    assert.equal(unknown.code, 2);
    assert.match(unknown.err, /unknown --dataset "lung"; known: colon, breast/);
    const badCkpt = path.join(dir, 'bad.ckpt');
    fs.writeFileSync(badCkpt, 'x');
    const bad = milkit(['ssl', 'extract', '--dataset', 'colon', '--checkpoint', badCkpt, '--out', out]);
    assert.equal(bad.code, 1);
    assert.match(bad.err, new RegExp(`file ${badCkpt}: not a milkit checkpoint \\(no MILKITCK magic`));
    // An encoder pretrained by milkit 0.1 (MKSSL1) is named as such, with what to do.
    const old = path.join(__dirname, '..', '..', 'persist', 'fixtures', 'milkit-0.1-encoder.ckpt');
    const legacy = milkit(['ssl', 'extract', '--dataset', 'colon', '--checkpoint', old, '--out', out]);
    assert.equal(legacy.code, 1);
    assert.match(
      legacy.err,
      /milkit 0\.1's "MKSSL1" format, which this milkit does not read\. Fix: move it away and run/,
    );
  });
});
