/**
 * Reading real slides with both backends, against pixel values decoded by an independent tool:
 * Python PIL 9.4 (Debian python3-pil: libtiff + libjpeg-turbo), computed once with
 *   im = Image.open(path); im.seek(page); im.load(); [im.getpixel((x, y)) ...]
 * and stored here as numbers. Tolerances, measured over every pixel of CMU-1-Small-Region:
 * - OpenSlide: 0. It decodes with the same libjpeg-turbo as PIL (max |diff| 0 over all 6.6 M
 *   level-0 pixels, the thumbnail and the macro image).
 * - pure-JS (geotiff): 1 level. Its JPEG decoder rounds its IDCT differently (max |diff| 1,
 *   mean 0.026 over level 0); lossless pages (LZW label, PackBits UCSB) are exact.
 */
import { strict as assert } from 'node:assert';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import {
  CorruptTileError,
  MilkitDataError,
  openSlide,
  readPatchFile,
  readPatches,
  rgbaToRgbOnWhite,
  tileSlides,
  type RgbaImage,
  type Slide,
} from '../../../src';
import { tempDir } from '../../helpers/tmp';
import { CMU, svsBackends, unpackUcsb } from './data';

const TOLERANCE = { openslide: 0, tiff: 1 } as const;

/** PIL's level-0 pixels (RGB, row-major) of 4 × 4 regions: across a tile corner, in tissue, at the edge. */
const CMU_REGIONS: Record<string, number[]> = {
  '478,478': [
    246, 243, 243, 246, 243, 243, 246, 246, 246, 246, 246, 246, 246, 243, 243, 246, 243, 243, 246, 246, 246, 246, 246,
    246, 246, 243, 246, 246, 243, 246, 246, 243, 243, 246, 243, 243, 246, 243, 246, 246, 243, 246, 246, 243, 243, 246,
    243, 243,
  ],
  '1000,1000': [
    67, 34, 65, 18, 5, 53, 38, 0, 55, 85, 24, 83, 74, 42, 76, 19, 11, 58, 15, 0, 53, 39, 18, 77, 113, 61, 97, 55, 26,
    69, 22, 2, 53, 17, 14, 69, 150, 88, 123, 104, 52, 85, 58, 21, 61, 33, 20, 68,
  ],
  '2216,2963': [
    243, 243, 243, 244, 244, 244, 246, 246, 246, 248, 248, 248, 243, 243, 243, 244, 244, 244, 246, 246, 246, 248, 248,
    248, 243, 243, 243, 244, 244, 244, 246, 246, 246, 248, 248, 248, 243, 243, 243, 244, 244, 244, 246, 246, 246, 248,
    248, 248,
  ],
};
/** PIL's per-channel mean of level 0 over [960, 1440) × [1200, 1680). */
const CMU_MEAN_480 = [157.96, 120.089, 152.944];
/** Associated images: size, 4 pixels in a row from (x, y), whole-image mean. */
const CMU_ASSOCIATED = {
  thumbnail: {
    size: [574, 768],
    at: [300, 400],
    pixels: [139, 88, 136, 127, 75, 122, 120, 76, 126, 138, 79, 132],
    mean: [213.848, 194.597, 207.666],
  },
  label: {
    size: [387, 463],
    at: [100, 100],
    pixels: [190, 136, 64, 192, 144, 64, 192, 140, 68, 194, 129, 60],
    mean: [145.735, 104.17, 57.554],
  },
  macro: {
    size: [1280, 431],
    at: [600, 200],
    pixels: [238, 238, 236, 238, 238, 236, 238, 238, 236, 238, 238, 236],
    mean: [177.896, 180.664, 178.589],
  },
};
/** Two UCSB images (PackBits strips, lossless): 4 × 4 regions and the whole-image mean. */
const UCSB_REF: Record<string, { at100: number[]; at892_764: number[]; mean: number[] }> = {
  'ytma12_010804_benign1_ccd.tif': {
    at100: [
      224, 191, 229, 222, 182, 225, 218, 172, 219, 219, 176, 219, 226, 193, 225, 224, 181, 224, 216, 171, 219, 214, 175,
      221, 227, 193, 225, 223, 183, 223, 216, 171, 221, 210, 171, 222, 223, 187, 222, 225, 184, 220, 219, 174, 216, 207,
      166, 216,
    ],
    at892_764: [
      93, 61, 155, 96, 60, 153, 97, 65, 162, 101, 74, 166, 112, 72, 167, 110, 70, 167, 109, 70, 171, 112, 76, 175, 144,
      97, 190, 136, 91, 188, 128, 88, 188, 129, 87, 185, 190, 126, 195, 181, 123, 202, 176, 121, 207, 170, 122, 203,
    ],
    mean: [220.029, 201.318, 232.321],
  },
  'ytma49_042403_malignant1_ccd.tif': {
    at100: [
      164, 63, 142, 119, 43, 137, 62, 35, 137, 44, 38, 149, 105, 47, 153, 74, 38, 131, 52, 32, 117, 43, 34, 125, 63, 42,
      140, 57, 38, 124, 53, 31, 108, 45, 31, 111, 55, 40, 126, 55, 35, 116, 60, 31, 108, 51, 30, 109,
    ],
    at892_764: [
      101, 69, 147, 103, 70, 139, 102, 67, 133, 94, 61, 128, 87, 58, 138, 95, 62, 137, 97, 61, 131, 90, 56, 119, 87, 51,
      135, 93, 55, 124, 93, 54, 125, 83, 49, 116, 93, 50, 123, 90, 49, 119, 86, 46, 116, 74, 38, 109,
    ],
    mean: [185.496, 145.193, 206.517],
  },
};

function rgbOf(img: RgbaImage): number[] {
  const out: number[] = [];
  for (let i = 0; i < img.width * img.height; i++) {
    assert.equal(img.data[4 * i + 3], 255, 'opaque inside the slide');
    out.push(img.data[4 * i], img.data[4 * i + 1], img.data[4 * i + 2]);
  }
  return out;
}

function assertClose(got: number[], want: number[], tol: number, what: string): void {
  assert.equal(got.length, want.length, what);
  const worst = Math.max(...got.map((v, i) => Math.abs(v - want[i])));
  assert.ok(worst <= tol, `${what}: max |diff| ${worst} > ${tol}\n got ${got}\nwant ${want}`);
}

function meanRgb(img: RgbaImage): number[] {
  const s = [0, 0, 0];
  const n = img.width * img.height;
  for (let i = 0; i < n; i++) for (let k = 0; k < 3; k++) s[k] += img.data[4 * i + k];
  return s.map((v) => v / n);
}

describe('slides: reading real slides against PIL', function () {
  this.timeout(120_000);

  for (const backend of svsBackends()) {
    describe(`CMU-1-Small-Region.svs through ${backend}`, () => {
      let slide: Slide;
      before(async () => (slide = await openSlide(CMU(), { backend })));
      after(() => slide?.close());

      it('metadata: one 2220 × 2967 level of 240-px tiles, 0.499 µm/px, 20×, thumbnail/label/macro', () => {
        assert.equal(slide.backend, backend);
        assert.equal(slide.vendor, 'aperio');
        assert.deepEqual(
          slide.levels.map((l) => [l.width, l.height, l.downsample, l.tileWidth, l.tileHeight]),
          [[2220, 2967, 1, 240, 240]],
        );
        assert.deepEqual(slide.mpp, { x: 0.499, y: 0.499 });
        assert.equal(slide.objectivePower, 20);
        assert.equal(slide.properties['aperio.AppMag'], '20');
        assert.deepEqual(
          Object.entries(slide.associatedImages)
            .map(([k, v]) => `${k} ${v.width}x${v.height}`)
            .sort(),
          ['label 387x463', 'macro 1280x431', 'thumbnail 574x768'],
        );
      });

      it(
        `level-0 regions equal PIL's within ${TOLERANCE[backend]}` + ` (tile corner, tissue, bottom-right edge)`,
        async () => {
          for (const [at, want] of Object.entries(CMU_REGIONS)) {
            const [x, y] = at.split(',').map(Number);
            assertClose(rgbOf(await slide.readRegion(0, x, y, 4, 4)), want, TOLERANCE[backend], `region ${at}`);
          }
          const big = await slide.readRegion(0, 960, 1200, 480, 480);
          assertClose(meanRgb(big), CMU_MEAN_480, backend === 'openslide' ? 1e-3 : 0.1, 'mean of a 480² region');
        },
      );

      it('outside the slide is transparent; over white it reads as glass', async () => {
        const r = await slide.readRegion(0, 2218, 2965, 4, 4);
        assert.equal(r.data[3], 255, 'inside');
        assert.deepEqual([...r.data.subarray(8, 12)], [0, 0, 0, 0], 'right of the slide');
        assert.deepEqual([...rgbaToRgbOnWhite(r).data.subarray(6, 9)], [255, 255, 255]);
      });

      it("associated images equal PIL's (JPEG within the tolerance, the LZW label exactly)", async () => {
        for (const [name, ref] of Object.entries(CMU_ASSOCIATED)) {
          const img = await slide.readAssociatedImage(name);
          assert.deepEqual([img.width, img.height], ref.size, name);
          const [x, y] = ref.at;
          const row = rgbOf({
            width: 4,
            height: 1,
            data: img.data.subarray(4 * (y * img.width + x), 4 * (y * img.width + x + 4)),
          });
          const tol = name === 'label' ? 0 : TOLERANCE[backend];
          assertClose(row, ref.pixels, tol, `${name} pixels`);
          assertClose(meanRgb(img), ref.mean, backend === 'openslide' || name === 'label' ? 1e-3 : 0.1, `${name} mean`);
        }
      });
    });
  }

  describe('the 58 UCSB breast TIFFs (strip TIFF, PackBits) as single-level slides', () => {
    let files: string[];
    before(() => (files = unpackUcsb(tempDir('milkit-ucsb-'))));

    it("all 58 open as 896 × 768 one-level slides without µm/px; two equal PIL's exactly", async () => {
      assert.equal(files.length, 58);
      for (const f of files) {
        const s = await openSlide(f);
        assert.equal(s.backend, 'tiff', `${f}: OpenSlide does not read strip TIFFs, the pure-JS reader does`);
        assert.deepEqual([s.width, s.height, s.levels.length], [896, 768, 1], f);
        assert.equal(s.mpp, undefined, '72 dpi is not a microscope resolution');
        const ref = UCSB_REF[path.basename(f)];
        if (ref) {
          assert.deepEqual(rgbOf(await s.readRegion(0, 100, 100, 4, 4)), ref.at100);
          assert.deepEqual(rgbOf(await s.readRegion(0, 892, 764, 4, 4)), ref.at892_764);
          assertClose(meanRgb(await s.readRegion(0, 0, 0, 896, 768)), ref.mean, 1e-3, 'mean');
        }
        s.close();
      }
    });
  });

  describe('a generic pyramidal TIFF (vips: JPEG in YCbCr 4:2:0, 5 levels) against PIL at test time', () => {
    let file: string;
    let reference: (page: number) => Buffer;
    before(function () {
      const dir = tempDir('milkit-pyramid-');
      file = path.join(dir, 'pyramid.tif');
      const v = path.join(dir, 'cmu.v');
      try {
        execFileSync('vips', ['tiffload', CMU(), v]);
        execFileSync('vips', [
          'tiffsave',
          v,
          file,
          '--tile',
          '--pyramid',
          '--compression',
          'jpeg',
          '--Q',
          '75',
          '--tile-width',
          '256',
          '--tile-height',
          '256',
          '--xres',
          '2004',
          '--yres',
          '2004',
          '--strip',
        ]);
      } catch (err) {
        throw new Error(
          `this test needs vips (Debian libvips-tools; scripts/install-system-deps.sh): ${(err as Error).message}`,
        );
      }
      reference = (page) =>
        execFileSync(
          '/usr/bin/python3',
          [
            '-c',
            'import sys; from PIL import Image; im = Image.open(sys.argv[1]); im.seek(int(sys.argv[2])); ' +
              'sys.stdout.buffer.write(im.convert("RGB").tobytes())',
            file,
            String(page),
          ],
          { maxBuffer: 64 * 2 ** 20 },
        );
    });

    for (const backend of svsBackends()) {
      it(`${backend}: levels, µm/px from the resolution tags, and every level's pixels`, async () => {
        const s = await openSlide(file, { backend });
        assert.deepEqual(
          s.levels.map((l) => `${l.width}x${l.height}`),
          ['2220x2967', '1110x1483', '555x741', '277x370', '138x185'],
        );
        assert.ok(Math.abs(s.levels[2].downsample - 4.002) < 1e-3);
        assert.ok(Math.abs(s.mpp!.x - 0.499) < 1e-3, `mpp ${s.mpp?.x}`);
        for (let level = 0; level < s.levels.length; level++) {
          const { width, height } = s.levels[level];
          const got = rgbaToRgbOnWhite(await s.readRegion(level, 0, 0, width, height)).data;
          const want = reference(level);
          let sum = 0;
          const hist = new Uint32Array(256);
          for (let i = 0; i < want.length; i++) {
            const d = Math.abs(got[i] - want[i]);
            sum += d;
            hist[d]++;
          }
          let acc = 0;
          let p99 = 0;
          while ((acc += hist[p99]) < 0.99 * want.length) p99++;
          if (backend === 'openslide') assert.equal(sum, 0, `level ${level}: OpenSlide and PIL share libjpeg-turbo`);
          // geotiff upsamples chroma by replication, libjpeg by a triangle filter ("fancy
          // upsampling"): equal on flat colour, a few levels apart at colour edges (measured: mean
          // 0.59-0.63, 99th percentile 5-7, max 16-45 per level).
          else assert.ok(sum / want.length < 1 && p99 <= 8, `level ${level}: mean ${sum / want.length}, p99 ${p99}`);
        }
        s.close();
      });
    }
  });

  describe("a generic pyramidal TIFF (vips: lossless deflate, 5 levels) against vips's own decode, bit for bit", () => {
    let file: string;
    let reference: (page: number) => Buffer;
    before(function () {
      const dir = tempDir('milkit-pyramid-deflate-');
      file = path.join(dir, 'pyramid-deflate.tif');
      const v = path.join(dir, 'cmu.v');
      try {
        execFileSync('vips', ['tiffload', CMU(), v]);
        // An odd tile size, and vips's own metadata (an XML ImageDescription large enough for
        // geotiff to defer): nothing here may assume 256-px tiles or an Aperio description.
        const opts = ['--tile', '--pyramid', '--compression', 'deflate', '--tile-width', '240', '--tile-height', '240'];
        execFileSync('vips', ['tiffsave', v, file, ...opts]);
      } catch (err) {
        throw new Error(
          `this test needs vips (Debian libvips-tools; scripts/install-system-deps.sh): ${(err as Error).message}`,
        );
      }
      // vips decodes each page itself: its raw RGB bytes are the reference (lossless, so exact).
      reference = (page) => {
        const [v, raw] = [path.join(dir, `page${page}.v`), path.join(dir, `page${page}.raw`)];
        // tiffload by name: vips would otherwise open the file through its own OpenSlide loader.
        execFileSync('vips', ['tiffload', file, v, '--page', String(page)]);
        execFileSync('vips', ['rawsave', v, raw]);
        return fs.readFileSync(raw);
      };
    });

    for (const backend of svsBackends()) {
      it(`${backend}: levels and every level's pixels equal vips's`, async () => {
        const s = await openSlide(file, { backend });
        after(() => s.close());
        assert.deepEqual(
          s.levels.map((l) => `${l.width}x${l.height}`),
          ['2220x2967', '1110x1483', '555x741', '277x370', '138x185'],
        );
        assert.ok(Math.abs(s.mpp!.x - 0.499) < 1e-3, `µm/px from the resolution vips carried over: ${s.mpp?.x}`);
        for (let level = 0; level < s.levels.length; level++) {
          const { width, height } = s.levels[level];
          const want = reference(level);
          assert.equal(want.length, width * height * 3, `vips page ${level} is ${width} × ${height} RGB`);
          const got = rgbaToRgbOnWhite(await s.readRegion(level, 0, 0, width, height)).data;
          let differ = 0;
          for (let i = 0; i < want.length; i++) if (got[i] !== want[i]) differ++;
          assert.equal(differ, 0, `level ${level}: ${differ} of ${want.length} bytes differ from vips`);
        }
        // A region read across a corner of four 240-px tiles: the same bytes as vips's whole page.
        const r = rgbaToRgbOnWhite(await s.readRegion(0, 470, 470, 20, 20)).data;
        const page0 = reference(0);
        for (let y = 0; y < 20; y++)
          for (let x = 0; x < 20; x++)
            for (let c = 0; c < 3; c++)
              assert.equal(r[(y * 20 + x) * 3 + c], page0[((470 + y) * 2220 + 470 + x) * 3 + c], `(${x}, ${y})`);
      });
    }
  });

  describe('damaged files: one clear error naming the file, never black pixels', () => {
    let dir: string;
    before(() => (dir = tempDir('milkit-bad-slides-')));

    /** Byte offset and size of tile (col 4, row 4) of CMU-1-Small-Region level 0 (PIL's TileOffsets[44]). */
    const TILE_44 = 297_050;

    for (const backend of svsBackends()) {
      it(`${backend}: a corrupt JPEG tile fails naming the tile, or is skipped and reported`, async () => {
        const file = path.join(dir, `corrupt-${backend}.svs`);
        const bytes = fs.readFileSync(CMU());
        bytes.fill(0, TILE_44, TILE_44 + 16); // no JPEG start marker any more
        fs.writeFileSync(file, bytes);
        const s = await openSlide(file, { backend });
        await assert.rejects(s.readRegion(0, 970, 970, 256, 256), (e: unknown) => {
          assert.ok(e instanceof CorruptTileError, String(e));
          assert.match(e.message, /corrupt-\w+\.svs.*tile \(col 4, row 4\) of level 0 cannot be decoded/);
          assert.deepEqual(e.tiles, [{ col: 4, row: 4 }]);
          return true;
        });
        // The rest of the slide still reads, bit-exact for OpenSlide.
        assertClose(rgbOf(await s.readRegion(0, 478, 478, 4, 4)), CMU_REGIONS['478,478'], TOLERANCE[backend], 'after');
        const coords = Int32Array.from([0, 0, 900, 900, 1200, 1500]);
        const geometry = { patchLevel: 0, readSize: 256, patchSize: 256 };
        await assert.rejects(async () => {
          for await (const b of readPatches(s, coords, geometry)) void b;
        }, CorruptTileError);
        const skipped: number[] = [];
        const kept: number[] = [];
        for await (const b of readPatches(s, coords, geometry, { onCorrupt: 'skip', onSkip: (i) => skipped.push(i) }))
          kept.push(...b.indices);
        assert.deepEqual([kept, skipped], [[0, 2], [1]]);
        s.close();
      });
    }

    it('tiling a slide with a corrupt tile: fails naming it, or skips it and places no patch over it', async () => {
      const file = path.join(dir, 'corrupt-tile.svs');
      const bytes = fs.readFileSync(CMU());
      bytes.fill(0, TILE_44, TILE_44 + 16);
      fs.writeFileSync(file, bytes);
      const [failed] = await tileSlides([file], path.join(dir, 'tile-fail'));
      assert.equal(failed.status, 'failed');
      assert.match(
        failed.error!,
        /corrupt-tile\.svs: tile \(col 4, row 4\) of level 0 cannot be decoded.*--on-corrupt skip/,
      );
      const [skipped] = await tileSlides([file], path.join(dir, 'tile-skip'), { onCorrupt: 'skip' });
      assert.equal(skipped.status, 'tiled', skipped.error ?? '');
      assert.deepEqual(skipped.corruptTiles, ['level 0 col 4 row 4']);
      const f = await readPatchFile(skipped.files!.patches);
      assert.equal(f.attrs.corrupt_tiles, 'level 0 col 4 row 4');
      // Tile (4, 4) covers level-0 [960, 1200)²: no 256-px patch may touch it.
      for (let i = 0; i < f.coords.length; i += 2) {
        const [x, y] = [f.coords[i], f.coords[i + 1]];
        assert.ok(!(x < 1200 && x + 256 > 960 && y < 1200 && y + 256 > 960), `patch at ${x}, ${y}`);
      }
      assert.ok(f.coords.length / 2 >= 20, 'the rest of the tissue is tiled');
    });

    it('a truncated SVS: the error says truncated and names the file', async () => {
      const bytes = fs.readFileSync(CMU());
      for (const [name, size] of [
        ['cut60.svs', Math.floor(bytes.length * 0.6)],
        ['cut-end.svs', 1_900_000],
      ] as const) {
        const file = path.join(dir, name);
        fs.writeFileSync(file, bytes.subarray(0, size));
        await assert.rejects(openSlide(file), (e: unknown) => {
          assert.ok(e instanceof MilkitDataError);
          assert.match(
            e.message,
            new RegExp(`${name.replace('.', '\\.')}: the file is truncated.*copy the slide again`),
          );
          return true;
        });
      }
    });

    it('a file that is not a slide, an empty file and a missing file', async () => {
      const text = path.join(dir, 'notes.svs');
      fs.writeFileSync(text, 'slide,label\n');
      await assert.rejects(openSlide(text), /notes\.svs: not a slide/);
      const empty = path.join(dir, 'empty.tif');
      fs.writeFileSync(empty, '');
      await assert.rejects(openSlide(empty), /empty\.tif: the file is empty/);
      await assert.rejects(openSlide(path.join(dir, 'nope.svs')), /nope\.svs: no such file/);
    });
  });
});
