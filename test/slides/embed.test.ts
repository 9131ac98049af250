import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import {
  Cohort,
  MilkitDataError,
  embedSlides,
  loadOnnxRuntime,
  onnxSlideEncoder,
  readOnnxConfig,
  tileSlides,
} from '../../src';
import { tempDir } from '../helpers/tmp';
import { syntheticSlide, writePng } from './fixtures';
import { writeMeanColourEncoder } from './onnxModel';

async function rejectsData(p: Promise<unknown>, ...parts: string[]): Promise<void> {
  await assert.rejects(p, (e: unknown) => {
    assert.ok(e instanceof MilkitDataError, `expected MilkitDataError, got ${e}`);
    for (const part of parts) assert.ok(e.message.includes(part), `"${e.message}" lacks "${part}"`);
    return true;
  });
}

describe('slides: ONNX encoder config (pure)', () => {
  const dir = tempDir('milkit-onnxcfg-');
  const write = (name: string, body: unknown) => {
    const f = path.join(dir, name);
    fs.writeFileSync(f, typeof body === 'string' ? body : JSON.stringify(body));
    return f;
  };
  const good = { inputSize: 64, mean: [0.5, 0.5, 0.5], std: [0.25, 0.25, 0.25] };

  it('fills the defaults (RGB, NCHW) and refuses bad fields by name', () => {
    assert.deepEqual(readOnnxConfig(write('ok.json', good)), { ...good, channelOrder: 'RGB', layout: 'NCHW' });
    const bad = (body: unknown, field: string, ...parts: string[]) =>
      assert.throws(
        () => readOnnxConfig(write('bad.json', body)),
        (e: unknown) =>
          e instanceof MilkitDataError &&
          e.message.includes(`field "${field}"`) &&
          parts.every((p) => e.message.includes(p)),
      );
    bad({ ...good, std: [0.2, 0, 0.2] }, 'std', 'positive');
    bad({ ...good, mean: [0.5, 0.5] }, 'mean', '3 numbers');
    bad({ ...good, inputSize: 0 }, 'inputSize', 'positive integer');
    bad({ ...good, layout: 'CHW' }, 'layout', 'NCHW or NHWC');
    bad({ ...good, meen: [1, 1, 1] }, 'meen', 'did you mean "mean"');
    assert.throws(() => readOnnxConfig(write('x.json', '{inputSize:')), /cannot read the encoder config as JSON/);
  });
});

describe('slides: embedSlides with an ONNX encoder (features checked by hand)', function () {
  this.timeout(120_000);
  const dir = tempDir('milkit-embed-');
  const { ort, reason } = loadOnnxRuntime();
  const model = path.join(dir, 'mean.onnx');
  const config = path.join(dir, 'mean.json');
  const slides = ['a', 'b'].map((id) => path.join(dir, `${id}.png`));
  const images = [syntheticSlide(640, 512, 200, 40), syntheticSlide(512, 512, 180, 0, true)];
  const labels = path.join(dir, 'labels.csv');
  const tiles = path.join(dir, 'tiles');
  // Feature k of a patch = Σ_c mean_c · W[c][k], mean_c the patch mean of (v/255 − 0.5) / 0.25.
  const W = [1, 0, 0, 2, 0, 1, 0, -1, 0, 0, 1, 0.5];

  before(async () => {
    slides.forEach((f, i) => writePng(f, images[i]));
    fs.writeFileSync(labels, 'slide_id,label\na,normal\nb,tumor\n');
    writeMeanColourEncoder(model, W);
    fs.writeFileSync(config, JSON.stringify({ inputSize: 64, mean: [0.5, 0.5, 0.5], std: [0.25, 0.25, 0.25] }));
    const tiled = await tileSlides(slides, tiles, { tiling: { patchSize: 64, magnification: 20, mpp: 0.5 } });
    assert.deepEqual(
      tiled.map((t) => t.error ?? t.status),
      ['tiled', 'tiled'],
    );
  });

  if (!ort) {
    it('without onnxruntime-node: one clear error saying how to install it', () =>
      rejectsData(onnxSlideEncoder(model), 'onnxruntime-node', 'not installed', `(${reason})`, 'npm install'));
    return;
  }

  it('writes per-slide features and a labelled cohort equal to the model computed by hand', async () => {
    const encoder = await onnxSlideEncoder(model);
    const out = path.join(dir, 'cohort.arrow');
    try {
      const r = await embedSlides(tiles, out, encoder, { labels, onNotice: () => {} });
      assert.deepEqual(
        r.slides.map((s) => s.status),
        ['embedded', 'embedded'],
      );
      assert.equal(encoder.device, 'onnxruntime cpu');
      assert.ok(fs.existsSync(path.join(tiles, 'features_onnx-mean', 'a.h5')));
    } finally {
      encoder.dispose();
    }
    const cohort = await Cohort.open(out);
    try {
      assert.deepEqual(cohort.classes, ['normal', 'tumor']);
      assert.equal(cohort.dim, 4);
      assert.equal(cohort.metadata.get('milkit.patch_size'), '64');
      for (const [i, id] of ['a', 'b'].entries()) {
        const bag = await cohort.bag(id);
        assert.equal(bag.label, i);
        assert.deepEqual([bag.meta.slide_width, bag.meta.slide_height], [images[i].width, images[i].height]);
        assert.equal(bag.meta.patch_size_level0, 64);
        assert.ok(bag.numInstances > 5, `${bag.numInstances} patches`);
        const img = images[i];
        for (let p = 0; p < bag.numInstances; p++) {
          const [x0, y0] = [bag.coords![2 * p], bag.coords![2 * p + 1]];
          const mean = [0, 0, 0];
          for (let y = y0; y < y0 + 64; y++)
            for (let x = x0; x < x0 + 64; x++)
              for (let c = 0; c < 3; c++) mean[c] += (img.data[3 * (y * img.width + x) + c] / 255 - 0.5) / 0.25 / 4096;
          for (let k = 0; k < 4; k++) {
            const want = mean[0] * W[k] + mean[1] * W[4 + k] + mean[2] * W[8 + k];
            const got = bag.features[p * 4 + k];
            assert.ok(Math.abs(got - want) < 1e-4, `${id} patch ${p} feature ${k}: ${got} vs ${want}`);
          }
        }
      }
    } finally {
      await cohort.close();
    }
  });

  it('a re-run skips embedded slides; another preprocessing is refused unless overwrite', async () => {
    const again = await onnxSlideEncoder(model);
    try {
      const r = await embedSlides(tiles, path.join(dir, 'again.arrow'), again, { labels, onNotice: () => {} });
      assert.deepEqual(
        r.slides.map((s) => s.status),
        ['skipped', 'skipped'],
      );
    } finally {
      again.dispose();
    }
    const other = path.join(dir, 'other.json');
    fs.writeFileSync(other, JSON.stringify({ inputSize: 64, mean: [0.4, 0.5, 0.5], std: [0.25, 0.25, 0.25] }));
    const changed = await onnxSlideEncoder(model, { config: other });
    try {
      await rejectsData(
        embedSlides(tiles, path.join(dir, 'other.arrow'), changed, { labels, onNotice: () => {} }),
        'a.h5',
        'another encoder',
        '--overwrite',
      );
      const r = await embedSlides(tiles, path.join(dir, 'other.arrow'), changed, {
        labels,
        overwrite: true,
        onNotice: () => {},
      });
      assert.deepEqual(
        r.slides.map((s) => s.status),
        ['embedded', 'embedded'],
      );
    } finally {
      changed.dispose();
    }
  });

  it('refuses a model whose input shape does not fit the config, naming the fix', async () => {
    const fixed = path.join(dir, 'fixed48.onnx');
    writeMeanColourEncoder(fixed, W, [1, 3, 48, 48]);
    await rejectsData(onnxSlideEncoder(fixed, { config }), 'fixed48.onnx', '[1, 3, 48, 48]', '"inputSize": 48');
    const nhwc = path.join(dir, 'nhwc.onnx');
    writeMeanColourEncoder(nhwc, W, ['batch', 64, 64, 3], true);
    await rejectsData(onnxSlideEncoder(nhwc, { config }), 'nhwc.onnx', '"layout": "NHWC"');
    // With the layout it asks for, the same features as the NCHW model.
    const nhwcConfig = path.join(dir, 'nhwc.json');
    fs.writeFileSync(nhwcConfig, JSON.stringify({ ...JSON.parse(fs.readFileSync(config, 'utf8')), layout: 'NHWC' }));
    const [a, b] = [await onnxSlideEncoder(nhwc), await onnxSlideEncoder(model)];
    try {
      const pixels = Uint8Array.from({ length: 2 * 64 * 64 * 3 }, (_, i) => (i * 37) % 256);
      const [fa, fb] = [await a.featurize(pixels, 2, 64), await b.featurize(pixels, 2, 64)];
      fa.forEach((v, i) => assert.ok(Math.abs(v - fb[i]) < 1e-5, `feature ${i}: ${v} vs ${fb[i]}`));
    } finally {
      a.dispose();
      b.dispose();
    }
  });

  it('refuses labels without a tiled slide, and tiled slides without a label', async () => {
    const encoder = await onnxSlideEncoder(model);
    try {
      const missing = path.join(dir, 'missing.csv');
      fs.writeFileSync(missing, 'slide_id,label\na,normal\nb,tumor\nc,tumor\n');
      await rejectsData(
        embedSlides(tiles, path.join(dir, 'x.arrow'), encoder, { labels: missing, onNotice: () => {} }),
        'missing.csv',
        '1 of 3 slides have no tiled patches',
        'milkit slides tile',
      );
      const partial = path.join(dir, 'partial.csv');
      fs.writeFileSync(partial, 'slide_id,label\na,normal\n');
      await rejectsData(
        embedSlides(tiles, path.join(dir, 'x.arrow'), encoder, { labels: partial, onNotice: () => {} }),
        '1 of 2 slides',
        'have no row in the labels CSV (b)',
        '--skip-unlabelled',
      );
    } finally {
      encoder.dispose();
    }
  });
});
