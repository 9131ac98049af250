import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import {
  MilkitDataError,
  gridPatches,
  mppFromProperties,
  openSlide,
  parseAperioDescription,
  planTiling,
  readPatchFile,
  readPatches,
  tileSlides,
  type SlideGeometry,
  type TissueMask,
} from '../../src';
import { tempDir } from '../helpers/tmp';
import { syntheticSlide, writePng } from './fixtures';

function geometry(over: Partial<SlideGeometry> = {}): SlideGeometry {
  return {
    path: 'slide.svs',
    width: 40_000,
    height: 30_000,
    levels: [
      { width: 40_000, height: 30_000, downsample: 1 },
      { width: 10_000, height: 7_500, downsample: 4 },
      { width: 2_500, height: 1_875, downsample: 16 },
    ],
    mpp: { x: 0.25, y: 0.25 },
    objectivePower: 40,
    ...over,
  };
}

function throwsData(fn: () => unknown, ...parts: string[]): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof MilkitDataError, `expected MilkitDataError, got ${e}`);
    for (const p of parts) assert.ok(e.message.includes(p), `"${e.message}" lacks "${p}"`);
    return true;
  });
}

describe('slides: tiling plan (pure)', () => {
  it('256 px at 20× on a 40× slide: 512 level-0 px, read from level 0 and halved (no 2× level)', () => {
    const p = planTiling(geometry(), { magnification: 20, patchSize: 256 });
    assert.equal(p.downsample, 2);
    assert.equal(p.patchSizeLevel0, 512);
    assert.equal(p.patchLevel, 0);
    assert.equal(p.readSize, 512);
    assert.equal(p.targetMpp, 0.5);
    assert.equal(p.targetMagnification, 20);
  });

  it('10× matches level 1 exactly (downsample 4): read 256 px there, no resize', () => {
    const p = planTiling(geometry(), { magnification: 10, patchSize: 256 });
    assert.deepEqual([p.patchLevel, p.readSize, p.patchSizeLevel0], [1, 256, 1024]);
  });

  it('a target µm/px instead of a magnification; overlap shortens the step', () => {
    const p = planTiling(geometry(), { targetMpp: 2, patchSize: 224, overlap: 32 });
    assert.equal(p.downsample, 8);
    assert.deepEqual([p.patchLevel, p.readSize, p.stepLevel0], [1, 448, (224 - 32) * 8]);
    assert.equal(p.targetMagnification, 5);
  });

  it('without an objective power the level-0 magnification is 10 / µm per pixel', () => {
    const p = planTiling(geometry({ objectivePower: undefined, mpp: { x: 0.5, y: 0.5 } }), { magnification: 20 });
    assert.deepEqual([p.level0Magnification, p.downsample], [20, 1]);
  });

  it('refuses: no µm/px (names --mpp), --mpp given works; finer than level 0; smaller than a patch', () => {
    throwsData(() => planTiling(geometry({ mpp: undefined })), 'slide.svs', '--mpp');
    assert.equal(planTiling(geometry({ mpp: undefined }), { mpp: 0.25 }).level0Mpp, 0.25);
    throwsData(() => planTiling(geometry(), { magnification: 80 }), 'finer than', 'never upsampled');
    throwsData(
      () => planTiling(geometry({ width: 300, height: 300, levels: [{ width: 300, height: 300, downsample: 1 }] })),
      'smaller than one patch',
      '--patch-size',
    );
    throwsData(() => planTiling(geometry(), { overlap: 256 }), '--overlap');
  });

  it('patch tissue fractions integrate the mask exactly, also over fractional mask pixels', () => {
    // Mask 4 × 4 over a 1024 × 1024 slide (256 level-0 px per mask pixel), left half tissue.
    const mask: TissueMask = {
      width: 4,
      height: 4,
      data: Uint8Array.from({ length: 16 }, (_, i) => (i % 4 < 2 ? 1 : 0)),
      umPerPixel: 128,
      threshold: 20,
      regions: 1,
      tissueFraction: 0.5,
      penPixels: 0,
    };
    const g = geometry({ width: 1024, height: 1024, levels: [{ width: 1024, height: 1024, downsample: 1 }] });
    const plan = planTiling(g, { magnification: 40, patchSize: 384, overlap: 0 });
    const grid = gridPatches(plan, g, mask, 0);
    // Patches at x = 0 (all tissue) and x = 384 (128 of 384 columns are tissue: 1/3), 2 rows.
    assert.equal(grid.gridSize, 4);
    assert.deepEqual([...grid.coords], [0, 0, 384, 0, 0, 384, 384, 384]);
    assert.deepEqual(
      [...grid.tissue].map((t) => +t.toFixed(6)),
      [1, 1 / 3, 1, 1 / 3].map((t) => +t.toFixed(6)),
    );
    assert.equal(gridPatches(plan, g, mask, 0.5).coords.length, 4, 'min-tissue 0.5 keeps the two full patches');
  });

  it('reads the metadata OpenSlide reads: Aperio description, mpp from TIFF resolution (not 72 dpi)', () => {
    const a = parseAperioDescription('Aperio Image Library v11 \r\n2220x2967 JPEG|AppMag = 20|MPP = 0.4990|MPP = 9');
    assert.deepEqual(a, { 'aperio.AppMag': '20', 'aperio.MPP': '0.4990' });
    assert.deepEqual(mppFromProperties(a), { x: 0.499, y: 0.499 });
    const cm = { 'tiff.XResolution': '20040', 'tiff.YResolution': '20040', 'tiff.ResolutionUnit': 'centimeter' };
    assert.ok(Math.abs(mppFromProperties(cm)!.x - 0.499) < 1e-3);
    assert.equal(mppFromProperties({ 'tiff.XResolution': '72', 'tiff.ResolutionUnit': 'inch' }), undefined);
  });
});

describe('slides: tileSlides on a PNG slide (resume, fingerprints, bad input)', function () {
  this.timeout(60_000);
  const dir = tempDir('milkit-slides-');
  const slidePath = path.join(dir, 'disk.png');
  const blankPath = path.join(dir, 'blank.png');
  const tinyPath = path.join(dir, 'tiny.png');
  before(() => {
    writePng(slidePath, syntheticSlide(1200, 1000, 400, 60));
    const blank = syntheticSlide(600, 600, 0, 0);
    blank.data.fill(245);
    writePng(blankPath, blank);
    writePng(tinyPath, syntheticSlide(100, 100, 30, 0));
  });

  it('tiles, writes the coordinates file and images, and skips the slide on a re-run', async () => {
    const out = path.join(dir, 'out');
    const opts = { tiling: { mpp: 0.5, magnification: 20, patchSize: 128 } };
    const [r] = await tileSlides([slidePath], out, opts);
    assert.equal(r.status, 'tiled', r.error ?? '');
    // Disk of radius 400 px: πr² / 128² ≈ 30.7 patches' worth of tissue; at ≥ 50 % per patch, 24..36.
    assert.ok(r.patches! >= 24 && r.patches! <= 36, `patches ${r.patches}`);
    const file = await readPatchFile(r.files!.patches);
    assert.equal(file.coords.length / 2, r.patches);
    assert.equal(file.attrs.patch_size, 128);
    assert.equal(file.attrs.patch_level, 0);
    assert.equal(file.attrs.target_magnification, 20);
    assert.equal(file.attrs.level0_mpp, 0.5);
    assert.ok(file.tissue.every((t) => t >= 0.5 && t <= 1));
    for (const f of [r.files!.mask, r.files!.preview]) assert.ok(fs.statSync(f).size > 0, f);
    assert.deepEqual(
      fs.readdirSync(path.join(out, 'patches')).filter((f) => f.includes('.tmp-')),
      [],
      'no temporary files left',
    );
    const [again] = await tileSlides([slidePath], out, opts);
    assert.equal(again.status, 'skipped');
    assert.equal(again.patches, r.patches);
  });

  it('refuses to mix settings in one folder unless --overwrite', async () => {
    const out = path.join(dir, 'mix');
    await tileSlides([slidePath], out, { tiling: { mpp: 0.5, patchSize: 128 } });
    const [r] = await tileSlides([slidePath], out, { tiling: { mpp: 0.5, patchSize: 128, minTissue: 0.9 } });
    assert.equal(r.status, 'failed');
    assert.match(r.error!, /other tiling\/tissue settings \(tiling\.minTissue: saved 0\.5, now 0\.9\)/);
    assert.match(r.error!, /--overwrite/);
    const [o] = await tileSlides([slidePath], out, {
      tiling: { mpp: 0.5, patchSize: 128, minTissue: 0.9 },
      overwrite: true,
    });
    assert.equal(o.status, 'tiled');
    assert.equal((await readPatchFile(o.files!.patches)).attrs.min_tissue, 0.9);
  });

  it('reports each bad slide with its file and the fix, and tiles the others', async () => {
    const out = path.join(dir, 'bad');
    const notSlide = path.join(dir, 'notes.txt');
    fs.writeFileSync(notSlide, 'not an image at all');
    const results = await tileSlides([blankPath, tinyPath, notSlide, slidePath], out, {
      tiling: { mpp: 0.5, patchSize: 128 },
    });
    const byId = Object.fromEntries(results.map((r) => [r.slideId, r]));
    assert.match(byId.blank.error!, /blank\.png.*no tissue found/);
    assert.match(byId.tiny.error!, /tiny\.png.*smaller than one patch/);
    assert.match(byId.notes.error!, /notes\.txt.*not a slide/);
    assert.equal(byId.disk.status, 'tiled');
    assert.ok(fs.existsSync(path.join(out, 'previews', 'blank.png')), 'the preview of a slide without tissue is kept');
    assert.ok(!fs.existsSync(path.join(out, 'patches', 'blank.h5')), 'but no coordinates file');
    const [nompp] = await tileSlides([slidePath], path.join(dir, 'nompp'), { tiling: { patchSize: 128 } });
    assert.match(nompp.error!, /disk\.png.*--mpp/);
  });

  it(
    'a second run on a locked folder is refused while ' + 'the owner lives; a dead owner’s lock is taken over',
    async () => {
      const out = path.join(dir, 'locked');
      fs.mkdirSync(out, { recursive: true });
      const lock = path.join(out, '.milkit-tile.lock');
      fs.writeFileSync(lock, `${process.pid}@${os.hostname()}`);
      await assert.rejects(tileSlides([slidePath], out, { tiling: { mpp: 0.5, patchSize: 128 } }), /another milkit/);
      fs.writeFileSync(lock, `999999999@${os.hostname()}`);
      const [r] = await tileSlides([slidePath], out, { tiling: { mpp: 0.5, patchSize: 128 } });
      assert.equal(r.status, 'tiled');
      assert.ok(!fs.existsSync(lock), 'lock released');
    },
  );

  it('readPatches streams the tiled patches in batches, pixel-equal to readRegion', async () => {
    const out = path.join(dir, 'read');
    const [r] = await tileSlides([slidePath], out, { tiling: { mpp: 0.5, patchSize: 128 } });
    const file = await readPatchFile(r.files!.patches);
    const slide = await openSlide(slidePath);
    let seen = 0;
    for await (const b of readPatches(
      slide,
      file.coords,
      { patchLevel: 0, readSize: 128, patchSize: 128 },
      { batchSize: 7 },
    )) {
      assert.ok(b.n <= 7);
      assert.equal(b.pixels.length, b.n * 128 * 128 * 3);
      const region = await slide.readRegion(0, b.coords[0], b.coords[1], 128, 128);
      for (let i = 0; i < 128 * 128; i += 97) assert.equal(b.pixels[3 * i], region.data[4 * i]);
      seen += b.n;
    }
    assert.equal(seen, r.patches);
    slide.close();
  });
});
