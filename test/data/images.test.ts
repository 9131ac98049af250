import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import { PNG } from 'pngjs';
import * as tarStream from 'tar-stream';
import { Cohort, MilkitDataError } from '../../src/data';
import {
  COLOR_STATS_DIM,
  type RgbImage,
  colorStatsFeatures,
  decodeImage,
  isBackground,
  packTiles,
  patchStats,
  rawPixelFeaturizer,
  readArchiveImages,
  readFolderImages,
  readImage,
  tileImage,
  writePatchCohort,
} from '../../src/data/images';
import { breastLabel, breastPatchBags } from '../../src/data/datasets/breast';
import { colonPatchBags } from '../../src/data/datasets/colon';
import { tempDir } from '../helpers/tmp';

// eslint-disable-next-line @typescript-eslint/no-require-imports -- utif ships no type declarations
const UTIF = require('utif') as { encodeImage(rgba: Uint8Array, w: number, h: number): ArrayBuffer };

/**
 * A 10 × 7 test card: white glass everywhere except a pink tissue block (H&E eosin-like,
 * rgb 200,120,170) covering x 3..9, y 0..6, plus a grey (unsaturated, mid-bright) pixel column.
 */
function testCard(): RgbImage {
  const width = 10;
  const height = 7;
  const data = new Uint8Array(width * height * 3).fill(245);
  for (let y = 0; y < height; y++) {
    for (let x = 3; x < width; x++) data.set([200, 120, 170], (y * width + x) * 3);
  }
  return { width, height, data, source: 'test-card' };
}

function toRgba(img: RgbImage): Uint8Array {
  const rgba = new Uint8Array(img.width * img.height * 4);
  for (let i = 0; i < img.width * img.height; i++) rgba.set([...img.data.subarray(3 * i, 3 * i + 3), 255], 4 * i);
  return rgba;
}

function pngBytes(img: RgbImage): Buffer {
  const png = new PNG({ width: img.width, height: img.height });
  png.data = Buffer.from(toRgba(img));
  return PNG.sync.write(png);
}

async function writeTar(file: string, entries: { name: string; data: Buffer }[], gzip: boolean): Promise<void> {
  const pack = tarStream.pack();
  for (const e of entries) pack.entry({ name: e.name }, e.data);
  pack.finalize();
  const chunks: Buffer[] = [];
  for await (const c of pack) chunks.push(c as Buffer);
  const tar = Buffer.concat(chunks);
  fs.writeFileSync(file, gzip ? zlib.gzipSync(tar) : tar);
}

async function expectDataError(p: Promise<unknown> | (() => unknown), ...fragments: string[]): Promise<void> {
  try {
    await (typeof p === 'function' ? p() : p);
  } catch (err) {
    assert.ok(err instanceof MilkitDataError, `expected MilkitDataError, got ${err}`);
    for (const f of fragments) assert.ok(err.message.includes(f), `message "${err.message}" lacks "${f}"`);
    return;
  }
  assert.fail('expected an error');
}

async function drain<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of it) out.push(x);
  return out;
}

describe('data/images: decoding, tiling, background filter, archives', () => {
  const dir = tempDir();

  it('tiles a hand-made image: grid counts, coordinates and pixels', () => {
    const img = testCard();
    // size 4, stride 3: x origins 0, 3, 6 (6 + 4 = 10 fits), y origins 0, 3 (3 + 4 = 7 fits) → 6 tiles.
    const { tiles, dropped } = tileImage(img, { size: 4, stride: 3, background: false });
    assert.equal(dropped, 0);
    assert.deepEqual(
      tiles.map((t) => [t.x, t.y]),
      [
        [0, 0],
        [3, 0],
        [6, 0],
        [0, 3],
        [3, 3],
        [6, 3],
      ],
    );
    // Tile (3, 3) starts in tissue; tile (0, 0) is glass in its columns 0-2 and tissue in column 3.
    assert.deepEqual([...tiles[4].pixels.subarray(0, 3)], [200, 120, 170]);
    assert.deepEqual(
      [...tiles[0].pixels.subarray(0, 12)],
      [245, 245, 245, 245, 245, 245, 245, 245, 245, 200, 120, 170],
    );
    // Default stride = size: 2 × 1 non-overlapping 4 × 4 tiles (8 > 7 rows would not fit a second row).
    assert.deepEqual(
      tileImage(img, { size: 4, background: false }).tiles.map((t) => [t.x, t.y]),
      [
        [0, 0],
        [4, 0],
      ],
    );
  });

  it('drops bright unsaturated (glass) tiles and keeps stained tissue, with coordinates', () => {
    const { tiles, dropped } = tileImage(testCard(), { size: 3, stride: 3 });
    // Origins x 0, 3, 6 × y 0, 3: the x = 0 column is glass (2 tiles dropped), the rest is tissue.
    assert.equal(dropped, 2);
    assert.deepEqual(
      tiles.map((t) => [t.x, t.y]),
      [
        [3, 0],
        [6, 0],
        [3, 3],
        [6, 3],
      ],
    );
    const glass = patchStats(new Uint8Array(27).fill(245));
    assert.ok(glass.brightness > 0.95 && glass.saturation === 0);
    // Grey but dark is not background (a nucleus-dense tile can be grey-ish).
    assert.equal(isBackground(new Uint8Array(27).fill(120)), false);
    // Pale pink: bright yet saturated → tissue.
    const palePink = new Uint8Array(27);
    for (let i = 0; i < 9; i++) palePink.set([250, 200, 230], 3 * i);
    assert.equal(isBackground(palePink), false);
    const { pixels, coords } = packTiles(tiles, 3);
    assert.equal(pixels.length, 4 * 27);
    assert.deepEqual([...coords], [3, 0, 6, 0, 3, 3, 6, 3]);
  });

  it('decodes PNG and TIFF to the same RGB pixels', () => {
    const img = testCard();
    const png = decodeImage(pngBytes(img), 'card.png');
    assert.deepEqual([png.width, png.height], [10, 7]);
    assert.deepEqual([...png.data], [...img.data]);
    const tiff = decodeImage(new Uint8Array(UTIF.encodeImage(toRgba(img), img.width, img.height)), 'card.tif');
    assert.deepEqual([tiff.width, tiff.height], [10, 7]);
    assert.deepEqual([...tiff.data], [...img.data]);
  });

  it('raw-pixel and colour-statistics features', () => {
    const patch = new Uint8Array(4 * 3);
    for (let i = 0; i < 4; i++) patch.set([255, 0, i < 2 ? 0 : 255], 3 * i);
    assert.deepEqual([...(rawPixelFeaturizer.featurize(patch, 1, 2) as Float32Array)].slice(0, 3), [1, 0, 0]);
    const f = colorStatsFeatures(patch);
    assert.equal(f.length, COLOR_STATS_DIM);
    // Red: all 255 → last histogram bin 1, mean 1, sd 0. Blue: half 0 half 255 → mean 0.5, sd 0.5.
    assert.deepEqual([f[7], f[8], f[9]], [1, 1, 0]);
    assert.ok(
      Math.abs(f[20] - 0.5) < 1e-6 &&
        Math.abs(f[27] - 0.5) < 1e-6 &&
        Math.abs(f[28] - 0.5) < 1e-6 &&
        Math.abs(f[29] - 0.5) < 1e-6,
    );
  });

  it('streams images from a .tar, a .tar.gz and a folder, in order, skipping non-images', async () => {
    const img = testCard();
    const entries = [
      { name: 'imgs/b_benign1.png', data: pngBytes(img) },
      { name: 'imgs/readme.txt', data: Buffer.from('not an image') },
      { name: 'imgs/a_malignant2.tif', data: Buffer.from(UTIF.encodeImage(toRgba(img), 10, 7)) },
    ];
    for (const gzip of [false, true]) {
      const file = path.join(dir, gzip ? 'set.tar.gz' : 'set.tar');
      await writeTar(file, entries, gzip);
      const got = await drain(readArchiveImages(file));
      assert.deepEqual(
        got.map((g) => g.name),
        ['imgs/b_benign1.png', 'imgs/a_malignant2.tif'],
      );
      assert.deepEqual([...got[1].image.data], [...img.data]);
      assert.equal(got[0].image.source, `${file}:imgs/b_benign1.png`);
      assert.deepEqual(
        (await drain(readArchiveImages(file, { include: (n) => n.endsWith('.tif') }))).map((g) => g.name),
        ['imgs/a_malignant2.tif'],
      );
    }
    const folder = path.join(dir, 'folder');
    fs.mkdirSync(folder);
    fs.writeFileSync(path.join(folder, 'z.png'), pngBytes(img));
    fs.writeFileSync(path.join(folder, 'notes.txt'), 'x');
    fs.writeFileSync(path.join(folder, 'a.png'), pngBytes(img));
    assert.deepEqual(
      (await drain(readFolderImages(folder))).map((g) => g.name),
      ['a.png', 'z.png'],
    );
    assert.deepEqual([breastLabel('x/ytma_benign3_ccd.tif'), breastLabel('ytma_malignant1.tif')], [0, 1]);
  });

  it('writes tiles as a cohort with coordinates', async () => {
    const { tiles } = tileImage(testCard(), { size: 3 });
    const { pixels, coords } = packTiles(tiles, 3);
    const file = path.join(dir, 'tiles.arrow');
    const summary = await writePatchCohort(
      file,
      [{ id: 'card', label: 1, patientId: 'p', size: 3, n: tiles.length, pixels, coords }],
      rawPixelFeaturizer,
      { patchSize: 3 },
    );
    assert.deepEqual([summary.bags, summary.instances, summary.dim], [1, 4, 27]);
    const cohort = await Cohort.open(file);
    const bag = await cohort.bag(0);
    assert.deepEqual([...bag.coords!], [...coords]);
    assert.ok(Math.abs(bag.features[0] - 200 / 255) < 1e-6);
    assert.equal(cohort.metadata.get('milkit.features'), 'raw-pixels');
    await cohort.close();
  });

  it('bad input: unreadable image, patch larger than the image, empty folder/archive, missing file', async () => {
    const bad = path.join(dir, 'broken.png');
    fs.writeFileSync(bad, Buffer.concat([pngBytes(testCard()).subarray(0, 40)]));
    await expectDataError(() => readImage(bad), bad, 'unreadable image');
    const junk = path.join(dir, 'junk.png');
    fs.writeFileSync(junk, 'hello');
    await expectDataError(() => readImage(junk), junk, 'neither PNG nor TIFF');
    await expectDataError(
      () => tileImage(testCard(), { size: 8 }),
      'test-card',
      'patch size 8 is larger than the image (10×7)',
    );
    await expectDataError(() => tileImage(testCard(), { size: 0 }), 'patch size must be a positive integer');
    const empty = path.join(dir, 'empty');
    fs.mkdirSync(empty);
    await expectDataError(drain(readFolderImages(empty)), empty, 'no PNG or TIFF');
    const emptyTar = path.join(dir, 'empty.tar.gz');
    await writeTar(emptyTar, [{ name: 'a.txt', data: Buffer.from('x') }], true);
    await expectDataError(drain(readArchiveImages(emptyTar)), emptyTar, 'no PNG or TIFF');
    const notGz = path.join(dir, 'fake.tar.gz');
    fs.writeFileSync(notGz, 'this is not gzip');
    await expectDataError(drain(readArchiveImages(notGz)), notGz, 'unreadable archive');
    await expectDataError(drain(readArchiveImages(path.join(dir, 'nope.tar'))), 'nope.tar', 'archive not found');
    const badInTar = path.join(dir, 'bad.tar');
    await writeTar(badInTar, [{ name: 'x/1.png', data: Buffer.from('garbage') }], false);
    await expectDataError(drain(readArchiveImages(badInTar)), `${badInTar}:x/1.png`, 'unreadable image');
  });
});

describe('data/datasets colon + breast builders on hand-made archives (layout of shared/data)', () => {
  const dir = tempDir();
  const patch = (rgb: [number, number, number]): RgbImage => ({
    width: 27,
    height: 27,
    data: new Uint8Array(27 * 27 * 3).map((_, i) => rgb[i % 3]),
    source: 'p',
  });

  async function colonFolder(name: string, main: string, extra: string, pngs: string[]): Promise<string> {
    const d = path.join(dir, name);
    fs.mkdirSync(d);
    fs.writeFileSync(path.join(d, 'data_labels_mainData.csv'), main);
    fs.writeFileSync(path.join(d, 'data_labels_extraData.csv'), extra);
    await writeTar(
      path.join(d, 'patch_images.tar'),
      pngs.map((p, i) => ({ name: `patch_images/${p}`, data: pngBytes(patch([100 + 10 * i, 50, 150])) })),
      false,
    );
    return d;
  }

  it('colon: bags per patient, bag label = any cancerous patch, mosaic coordinates', async () => {
    const d = await colonFolder(
      'colon-ok',
      'InstanceID,patientID,ImageName,cellTypeName,cellType,isCancerous\n' +
        '3,1,3.png,fibroblast,0,0\n1,1,1.png,epithelial,2,1\n2,2,2.png,others,3,0\n',
      'InstanceID,patientID,ImageName,isCancerous\n4,10,4.png,0\n',
      ['1.png', '2.png', '3.png', '4.png', '9.png'],
    );
    const bags = await drain(colonPatchBags({ dir: d }));
    assert.deepEqual(
      bags.map((b) => [b.id, b.label, b.n, b.meta?.source]),
      [
        ['patient-1', 1, 2, 'main'],
        ['patient-2', 0, 1, 'main'],
        ['patient-10', 0, 1, 'extra'],
      ],
    );
    assert.deepEqual([...bags[0].instanceLabels!], [1, 0], 'instances in InstanceID order');
    assert.deepEqual([...bags[0].coords], [0, 0, 27, 0]);
    assert.equal(bags[0].pixels[0], 100, 'patch 1.png is the first entry of the archive');
  });

  it('colon and breast: bad input names the file and field', async () => {
    const header = 'InstanceID,patientID,ImageName,cellTypeName,cellType,isCancerous\n';
    const missing = await colonFolder(
      'colon-missing',
      `${header}1,1,1.png,x,0,0\n5,1,5.png,x,0,0\n`,
      'InstanceID,patientID,ImageName,isCancerous\n',
      ['1.png'],
    );
    await expectDataError(
      drain(colonPatchBags({ dir: missing })),
      'patch 5.png listed in the labels is missing from the archive',
      'patient-1',
    );
    const badLabel = await colonFolder(
      'colon-label',
      `${header}1,1,1.png,x,0,yes\n`,
      'InstanceID,patientID,ImageName,isCancerous\n',
      ['1.png'],
    );
    await expectDataError(drain(colonPatchBags({ dir: badLabel })), 'data_labels_mainData.csv', 'row 2', 'isCancerous');
    const noCol = await colonFolder(
      'colon-col',
      'InstanceID,ImageName,isCancerous\n1,1.png,0\n',
      'InstanceID,patientID,ImageName,isCancerous\n',
      ['1.png'],
    );
    await expectDataError(drain(colonPatchBags({ dir: noCol })), 'field "patientID"', 'missing column');
    // Breast: an image whose name carries no label; an image that is all glass.
    const bdir = path.join(dir, 'breast');
    fs.mkdirSync(bdir);
    const glass: RgbImage = { width: 64, height: 64, data: new Uint8Array(64 * 64 * 3).fill(240), source: 'g' };
    fs.writeFileSync(path.join(bdir, 'slide_unknown1.png'), pngBytes(glass));
    await expectDataError(drain(breastPatchBags({ source: bdir })), 'slide_unknown1.png', 'cannot tell the label');
    fs.renameSync(path.join(bdir, 'slide_unknown1.png'), path.join(bdir, 'slide_benign1.png'));
    await expectDataError(
      drain(breastPatchBags({ source: bdir })),
      'every tile was rejected as background',
      'slide_benign1',
    );
    const bags = await drain(breastPatchBags({ source: bdir, background: false }));
    assert.deepEqual(
      bags.map((b) => [b.id, b.label, b.n]),
      [['slide_benign1', 0, 4]],
    );
  });
});
