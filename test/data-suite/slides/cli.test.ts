/**
 * `milkit slides info|tile` as a user runs them (the built CLI in a child process) on the real
 * slide and the UCSB images; the coordinates file is read back by h5py (Debian python3-h5py) the
 * way CLAM's feature extraction reads it.
 */
import { strict as assert } from 'node:assert';
import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { readPatchFile } from '../../../src';
import { tempDir } from '../../helpers/tmp';
import { CMU, svsBackends, unpackUcsb } from './data';
import { skipBecause } from '../../helpers/skip';

const ROOT = path.join(__dirname, '..', '..', '..');

function milkit(args: string[], env: Record<string, string> = {}) {
  const r = spawnSync(process.execPath, [path.join(ROOT, 'bin', 'milkit.js'), ...args], {
    encoding: 'utf8',
    env: { ...process.env, MILKIT_DEBUG: '', ...env },
    timeout: 300_000,
  });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

describe('slides: the milkit slides command on real slides', function () {
  this.timeout(600_000);
  const dir = tempDir('milkit-slides-cli-');
  before(() =>
    assert.ok(fs.existsSync(path.join(ROOT, 'dist', 'cli', 'main.js')), 'run `npm run build` first (npm test does)'),
  );

  it('info prints levels, resolution and associated images; --json has every property', () => {
    const text = milkit(['slides', 'info', CMU()]);
    assert.equal(text.code, 0, text.err);
    assert.match(text.out, /size\s+2220 × 2967 px at level 0/);
    assert.match(text.out, /resolution 0\.499 × 0\.499 µm\/px, objective 20×/);
    assert.match(text.out, /associated .*thumbnail 574 × 768/);
    const json = JSON.parse(milkit(['slides', 'info', CMU(), '--json']).out);
    assert.equal(json.properties['aperio.MPP'], '0.4990');
    assert.deepEqual(json.mpp, { x: 0.499, y: 0.499 });
  });

  for (const backend of svsBackends()) {
    it(`${backend}: tile CMU-1 at 20×, 256 px → the same CLAM/TRIDENT coordinates file; a re-run skips`, () => {
      const out = path.join(dir, `cmu-${backend}`);
      const r = milkit(['slides', 'tile', CMU(), '--out', out, '--backend', backend]);
      assert.equal(r.code, 0, r.err);
      assert.match(
        r.out,
        /CMU-1-Small-Region: 28 of 88 patches, 256 px at 20× \(0\.499 µm\/px; read 256 px at level 0\)/,
      );
      assert.match(r.err, /tile CMU-1-Small-Region: .* done in/, 'a progress line on stderr');
      const h5 = path.join(out, 'patches', 'CMU-1-Small-Region.h5');
      // What CLAM's extract_features_fp.py and TRIDENT read, through h5py.
      const py = execFileSync('/usr/bin/python3', [
        '-c',
        'import sys, json, h5py\n' +
          'f = h5py.File(sys.argv[1], "r"); c = f["coords"]; a = c.attrs\n' +
          'print(json.dumps({"dtype": str(c.dtype), "shape": list(c.shape), "first": c[0].tolist(),' +
          ' "level": int(a["patch_level"]), "size": int(a["patch_size"]), "size0": int(a["patch_size_level0"]),' +
          ' "mag": float(a["target_magnification"]), "mpp": float(a["target_mpp"]), "name": str(a["name"]),' +
          ' "tissue": f["tissue_fraction"].shape[0]}))',
        h5,
      ]);
      const got = JSON.parse(String(py));
      assert.deepEqual(got, {
        dtype: 'int64',
        shape: [28, 2],
        first: got.first,
        level: 0,
        size: 256,
        size0: 256,
        mag: 20,
        mpp: 0.499,
        name: 'CMU-1-Small-Region',
        tissue: 28,
      });
      assert.ok(got.first[0] % 256 === 0 && got.first[1] % 256 === 0, 'on the 256-px grid from (0, 0)');
      assert.ok(fs.statSync(path.join(out, 'masks', 'CMU-1-Small-Region.png')).size > 100);
      const again = milkit(['slides', 'tile', CMU(), '--out', out, '--backend', backend]);
      assert.equal(again.code, 0);
      assert.match(again.out, /28 patches \(already tiled with these settings; skipped\)/);
    });
  }

  it('both backends choose the same patches on CMU-1', async function () {
    if (svsBackends().length < 2)
      return skipBecause(this, 'only one SVS reader here (the OpenSlide addon is not built)');
    const a = await readPatchFile(path.join(dir, 'cmu-openslide', 'patches', 'CMU-1-Small-Region.h5'));
    const b = await readPatchFile(path.join(dir, 'cmu-tiff', 'patches', 'CMU-1-Small-Region.h5'));
    assert.deepEqual([...a.coords], [...b.coords]);
  });

  it('10× with overlap reads from level 0 and halves; --target-mpp 1.0 is the same patch size', async () => {
    const out = path.join(dir, 'cmu-10x');
    const r = milkit(['slides', 'tile', CMU(), '--out', out, '--magnification', '10', '--overlap', '64', '--json']);
    assert.equal(r.code, 0, r.err);
    const [res] = JSON.parse(r.out);
    assert.equal(res.plan.patchSizeLevel0, 512);
    assert.equal(res.plan.stepLevel0, 384);
    assert.equal(res.plan.readSize, 512);
    const f = await readPatchFile(res.files.patches);
    assert.deepEqual([f.attrs.patch_size, f.attrs.read_size, f.attrs.overlap], [256, 512, 64]);
    const mpp = JSON.parse(
      milkit(['slides', 'tile', CMU(), '--out', `${out}-mpp`, '--target-mpp', '0.998', '--json']).out,
    );
    assert.equal(mpp[0].plan.patchSizeLevel0, 512);
  });

  it('--on-corrupt: a damaged tile fails the slide by default, skip lists it and tiles the rest', () => {
    const file = path.join(dir, 'damaged.svs');
    const bytes = fs.readFileSync(CMU());
    bytes.fill(0, 297_050, 297_050 + 16); // tile (col 4, row 4): no JPEG start marker
    fs.writeFileSync(file, bytes);
    const fail = milkit(['slides', 'tile', file, '--out', path.join(dir, 'damaged-fail')]);
    assert.equal(fail.code, 1);
    assert.match(fail.err, /damaged: FAILED: .*tile \(col 4, row 4\) of level 0 cannot be decoded/);
    const skip = milkit(['slides', 'tile', file, '--out', path.join(dir, 'damaged-skip'), '--on-corrupt', 'skip']);
    assert.equal(skip.code, 0, skip.err);
    assert.match(skip.err, /damaged: 1 undecodable tiles skipped: level 0 col 4 row 4/);
    assert.match(skip.out, /damaged: \d+ of 88 patches/);
  });

  it('UCSB TIFFs: without --mpp one clear error per image; with --mpp they tile', () => {
    const files = unpackUcsb(tempDir('milkit-ucsb-cli-')).slice(0, 3);
    const out = path.join(dir, 'ucsb');
    const bad = milkit(['slides', 'tile', ...files, '--out', out, '--patch-size', '64']);
    assert.equal(bad.code, 1);
    for (const f of files)
      assert.match(
        bad.err,
        new RegExp(`${path.basename(f)}, field "mpp": the slide does not record its microns per pixel.*--mpp`),
      );
    assert.doesNotMatch(bad.err, /at .*\.js:\d+/, 'no stack trace');
    const ok = milkit([
      'slides',
      'tile',
      ...files,
      '--out',
      out,
      '--patch-size',
      '64',
      '--mpp',
      '0.5',
      '--magnification',
      '20',
    ]);
    assert.equal(ok.code, 0, ok.err);
    assert.equal(ok.out.trim().split('\n').length, 3);
    assert.match(ok.out, /of 168 patches, 64 px at 20×/); // 14 × 12 patches of 64 px on 896 × 768
  });
});
