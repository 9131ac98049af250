/**
 * From real slides to a heatmap with the built CLI: UCSB images tiled → SSL pretraining → `slides
 * embed` (SSL and a tiny ONNX encoder) → `train` → `heatmap`. Small settings (4 images, 64-px
 * patches, 2 pretraining steps): this checks the plumbing and the numbers against independent
 * readers (h5py for the feature files, PIL for the pixels), not what the model learns.
 */
import { strict as assert } from 'node:assert';
import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { loadOnnxRuntime } from '../../../src';
import { tempDir } from '../../helpers/tmp';
import { writeMeanColourEncoder } from '../../slides/onnxModel';
import { CMU, unpackUcsb } from './data';

const ROOT = path.join(__dirname, '..', '..', '..');

function milkit(args: string[]) {
  const r = spawnSync(process.execPath, [path.join(ROOT, 'bin', 'milkit.js'), ...args], {
    encoding: 'utf8',
    env: { ...process.env, MILKIT_DEBUG: '' },
    timeout: 300_000,
  });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

const python = (code: string, ...args: string[]) =>
  JSON.parse(execFileSync('/usr/bin/python3', ['-c', code, ...args], { encoding: 'utf8' }));

describe('slides: embed and heatmap on real slides (built CLI)', function () {
  this.timeout(600_000);
  const dir = tempDir('milkit-embed-cli-');
  const tiles = path.join(dir, 'tiles');
  const labels = path.join(dir, 'labels.csv');
  let images: string[] = [];

  before(() => {
    assert.ok(fs.existsSync(path.join(ROOT, 'dist', 'cli', 'main.js')), 'run `npm run build` first (npm test does)');
    const all = unpackUcsb(path.join(dir));
    images = [
      ...all.filter((f) => f.includes('benign')).slice(0, 2),
      ...all.filter((f) => f.includes('malig')).slice(0, 2),
    ];
    const id = (f: string) => path.basename(f, '.tif');
    fs.writeFileSync(
      labels,
      ['slide_id,label', ...images.map((f) => `${id(f)},${f.includes('benign') ? 'benign' : 'malignant'}`)].join('\n'),
    );
    const t = milkit(['slides', 'tile', ...images, '--out', tiles, '--patch-size', '64', '--mpp', '0.5', '--quiet']);
    assert.equal(t.code, 0, t.err);
  });

  it('pretrain + embed ssl: TRIDENT-style feature files that h5py reads; a re-run skips', () => {
    const ckpt = path.join(dir, 'enc.ckpt');
    const p = milkit([
      'slides',
      'pretrain',
      tiles,
      '--out',
      ckpt,
      '--steps',
      '2',
      '--input-size',
      '32',
      '--max-patches',
      '128',
      '--quiet',
    ]);
    assert.equal(p.code, 0, p.err);
    assert.match(p.out, /on 128 slide .* patches, 2 steps/);
    const cohort = path.join(dir, 'ssl.arrow');
    const e = milkit(['slides', 'embed', tiles, '--encoder', `ssl:${ckpt}`, '--labels', labels, '--out', cohort]);
    assert.equal(e.code, 0, e.err);
    assert.match(e.out, /wrote 4 bags, \d+ patches, 128 features \(ssl-enc, tfjs /);
    const h5 = path.join(tiles, 'features_ssl-enc', `${path.basename(images[0], '.tif')}.h5`);
    const shapes = python(
      'import sys, json, h5py\n' +
        'f = h5py.File(sys.argv[1], "r")\n' +
        'print(json.dumps({"features": f["features"].shape, "coords": f["coords"].shape,' +
        ' "patch_size": int(f["coords"].attrs["patch_size"]), "encoder": str(f["coords"].attrs["encoder"])}))',
      h5,
    );
    assert.equal(shapes.features[1], 128);
    assert.deepEqual([shapes.coords[0], shapes.coords[1]], [shapes.features[0], 2]);
    assert.equal(shapes.patch_size, 64);
    assert.equal(shapes.encoder, 'ssl-enc');
    const again = milkit(['slides', 'embed', tiles, '--encoder', `ssl:${ckpt}`, '--labels', labels, '--out', cohort]);
    assert.equal(again.code, 0, again.err);
    assert.equal((again.out.match(/already embedded with this encoder; skipped/g) ?? []).length, 4);
  });

  it('embed onnx: features equal the patch mean colours PIL computes from the TIFF', function () {
    if (!loadOnnxRuntime().ort) {
      const e = milkit(['slides', 'embed', tiles, '--encoder', 'onnx:x.onnx', '--labels', labels, '--out', 'x.arrow']);
      assert.equal(e.code, 1);
      return;
    }
    const model = path.join(dir, 'mean.onnx');
    writeMeanColourEncoder(model, [1, 0, 0, 0, 1, 0, 0, 0, 1]);
    fs.writeFileSync(path.join(dir, 'mean.json'), JSON.stringify({ inputSize: 64, mean: [0, 0, 0], std: [1, 1, 1] }));
    const cohort = path.join(dir, 'onnx.arrow');
    const e = milkit(['slides', 'embed', tiles, '--encoder', `onnx:${model}`, '--labels', labels, '--out', cohort]);
    assert.equal(e.code, 0, e.err);
    assert.match(e.out, /3 features \(onnx-mean, onnxruntime cpu\)/);
    const id = path.basename(images[2], '.tif');
    const worst = python(
      'import sys, json, h5py, numpy as np\nfrom PIL import Image\n' +
        'img = np.asarray(Image.open(sys.argv[1]).convert("RGB"), dtype=np.float64) / 255\n' +
        'f = h5py.File(sys.argv[2], "r"); feats = f["features"][:]; coords = f["coords"][:]\n' +
        ('err = max(float(np.abs(img[y:y+64, x:x+64].reshape(-1, 3).mean(0) ' +
          '- feats[i]).max()) for i, (x, y) in enumerate(coords))\n') +
        'print(json.dumps({"n": len(coords), "err": err}))',
      images[2],
      path.join(tiles, 'features_onnx-mean', `${id}.h5`),
    );
    assert.ok(worst.n > 20, `${worst.n} patches`);
    assert.ok(worst.err < 1e-5, `largest difference ${worst.err}`);
  });

  it(
    'train + heatmap: attention over the tissue, the image ' + 'untouched outside the patches; wrong slides refused',
    () => {
      const run = path.join(dir, 'run');
      const cohort = path.join(dir, 'ssl.arrow');
      const t = milkit([
        'train',
        '--model',
        'abmil',
        '--data',
        cohort,
        '--folds',
        '2',
        '--epochs',
        '2',
        '--out',
        run,
        '--quiet',
      ]);
      assert.equal(t.code, 0, t.err);
      const bag = path.basename(images[3], '.tif');
      const png = path.join(dir, 'heat.png');
      const h = milkit(['heatmap', '--run', run, '--fold', 'rep0-fold0', '--bag', bag, '--out', png, '--json']);
      assert.equal(h.code, 0, h.err);
      const j = JSON.parse(h.out);
      assert.equal(j.score, 'attention');
      assert.equal(j.scale, 'percentile');
      // Attention over a bag sums to 1: all scores within (0, 1).
      assert.ok(j.min > 0 && j.max < 1 && j.min <= j.max);
      const check = python(
        'import sys, json, h5py, numpy as np\nfrom PIL import Image\n' +
          'heat = np.asarray(Image.open(sys.argv[1]).convert("RGB")).astype(int)\n' +
          'img = np.asarray(Image.open(sys.argv[2]).convert("RGB")).astype(int)\n' +
          'coords = h5py.File(sys.argv[3], "r")["coords"][:]\n' +
          'inside = np.zeros(img.shape[:2], bool)\n' +
          'for x, y in coords: inside[y:y+64, x:x+64] = True\n' +
          'part = heat[:img.shape[0], :img.shape[1]]\n' +
          ('print(json.dumps({"size": [heat.shape[1], heat.shape[0]], ' +
            '"outside": int(np.abs(part - img)[~inside].max()),') +
          ' "inside": float(np.abs(part - img)[inside].mean())}))',
        png,
        images[3],
        path.join(tiles, 'patches', `${bag}.h5`),
      );
      assert.equal(check.size[1], 768);
      assert.ok(check.size[0] > 896, 'a colour bar right of the image');
      assert.ok(check.outside <= 1, `outside the patches the slide is drawn as decoded (max diff ${check.outside})`);
      assert.ok(check.inside > 5, `inside, the overlay changes the pixels (mean diff ${check.inside})`);

      const other = milkit([
        'heatmap',
        '--run',
        run,
        '--fold',
        'rep0-fold0',
        '--bag',
        bag,
        '--slide',
        images[2],
        '--out',
        png,
      ]);
      assert.equal(other.code, 1);
      assert.match(other.err, /other content: a heatmap over it would put scores on the wrong tissue/);
      const cmu = milkit([
        'heatmap',
        '--run',
        run,
        '--fold',
        'rep0-fold0',
        '--bag',
        bag,
        '--slide',
        CMU(),
        '--out',
        png,
      ]);
      assert.equal(cmu.code, 1);
      assert.match(cmu.err, /the slide is 2220 × 2967 px, but the bag's patches come from a 896 × 768 px slide/);
      const folds = milkit(['heatmap', '--run', run, '--bag', bag, '--out', png]);
      assert.equal(folds.code, 2);
      assert.match(folds.err, /choose one with --fold \(rep0-fold0, rep0-fold1\)/);
    },
  );
});
