/**
 * milkit-kernel's showSlideHeatmap and showSlidePatch on the real CMU-1 slide: the bundle tslab
 * sends (slide view payload + the heatmap figure as PNG + HTML showing it + text), one map or two
 * side by side, checked against the tiling's coordinates and against pixels read independently of
 * the heatmap code.
 */
import { strict as assert } from 'node:assert';
import { PNG } from 'pngjs';

// eslint-disable-next-line @typescript-eslint/no-require-imports -- jpeg-js ships no type declarations
const { decode: decodeJpeg } = require('jpeg-js') as {
  decode(b: Buffer, o?: { useTArray?: boolean }): { width: number; height: number; data: Uint8Array };
};
import { SLIDE_MIME, checkSlidePayload, openSlide, readPatchFile, tileSlides, viridisRgb } from '../../../src';
import { showSlideHeatmap, showSlidePatch } from '../../../kernel-ext/src';
import { tempDir } from '../../helpers/tmp';
import { CMU } from './data';

// eslint-disable-next-line @typescript-eslint/no-require-imports -- tslab's display hook is an untyped internal module
const jupyter = require('tslab/dist/jupyter') as { lastWriteDisplayData: unknown };

describe('slides: showSlideHeatmap (kernel helper) on CMU-1', function () {
  this.timeout(120_000);
  const dir = tempDir('milkit-slide-view-');
  let coords: Int32Array;

  before(async () => {
    const [r] = await tileSlides([CMU()], dir, { tiling: { patchSize: 128, magnification: 20 } });
    assert.equal(r.status, 'tiled', r.error ?? '');
    coords = (await readPatchFile(r.files!.patches)).coords;
  });

  it('sends one bundle: a valid slide payload, the figure as PNG, HTML showing it, text', async () => {
    const sent: { data: Record<string, unknown> }[] = [];
    jupyter.lastWriteDisplayData = (msg: { data: Record<string, unknown> }) => sent.push(msg);
    // Score = the patch's x: the best patch is the right-most one.
    const scores = Float32Array.from({ length: coords.length / 2 }, (_, i) => coords[2 * i] + coords[2 * i + 1] / 1e4);
    let shown;
    try {
      shown = await showSlideHeatmap(CMU(), scores, coords, { patchSize: 128, topK: 3, scoreName: 'x' });
    } finally {
      jupyter.lastWriteDisplayData = () => undefined;
    }
    assert.equal(sent.length, 1);
    const data = sent[0].data;
    const p = checkSlidePayload(data[SLIDE_MIME]);
    assert.equal(p.slideId, 'CMU-1-Small-Region');
    assert.equal(p.source, CMU(), 'the slide as the kernel opened it (the view fetches other patches from it)');
    assert.deepEqual([p.slide.width, p.slide.height, p.slide.mpp], [2220, 2967, 0.499]);
    assert.equal(p.maps.length, 1);
    assert.equal(p.maps[0].scores.length, coords.length / 2);
    assert.deepEqual(p.coords, Array.from(coords));
    // The longest side drawn at 1024 px.
    assert.equal(p.image.height, 1024);
    assert.equal(p.image.width, Math.round(2220 / (2967 / 1024)));
    const best = scores.indexOf(Math.max(...scores));
    const top = p.maps[0].patches;
    assert.deepEqual(
      top.map((q) => q.index),
      [...scores.keys()].sort((a, b) => scores[b] - scores[a]).slice(0, 3),
    );
    assert.equal(top[0].index, best);
    // The embedded top patch is the slide's level-0 pixels there (128 px: no resizing).
    assert.match(top[0].src, /^data:image\/jpeg;base64,/);
    const patch = decodeJpeg(Buffer.from(top[0].src.split(',')[1], 'base64'), { useTArray: true });
    const slide = await openSlide(CMU());
    try {
      const region = await slide.readRegion(0, coords[2 * best], coords[2 * best + 1], 128, 128);
      assert.deepEqual([patch.width, patch.height], [128, 128]);
      // JPEG at quality 85: the patch's own pixels within a few levels on average, not another patch.
      let diff = 0;
      for (let k = 0; k < 128 * 128 * 4; k++) if (k % 4 !== 3) diff += Math.abs(patch.data[k] - region.data[k]);
      assert.ok(diff / (128 * 128 * 3) < 4, `mean difference ${diff / (128 * 128 * 3)}`);
    } finally {
      slide.close();
    }
    const png = String(data['image/png']);
    const fig = PNG.sync.read(Buffer.from(png, 'base64'));
    assert.equal(fig.height, 1024);
    assert.ok(fig.width > p.image.width, 'the colour bar right of the slide');
    assert.ok(String(data['text/html']).includes(`src="data:image/png;base64,${png}"`));
    assert.doesNotMatch(String(data['text/html']), /<svg|<script/);
    assert.match(
      String(data['text/plain']),
      /x over CMU-1-Small-Region: \d+ patches of 128 px \(level 0\) on a 2220 × 2967 px slide/,
    );
    assert.match(String(shown.bundle.data['text/plain']), new RegExp(`top patch #${best} `));
  });

  it('two maps side by side: one figure, a titled panel each, one colour scale; a top list per map', async () => {
    const sent: { data: Record<string, unknown> }[] = [];
    jupyter.lastWriteDisplayData = (msg: { data: Record<string, unknown> }) => sent.push(msg);
    const n = coords.length / 2;
    // "by x" ranks patches by x, "by y" by y: their top patches and panels differ predictably.
    const byX = Float32Array.from({ length: n }, (_, i) => coords[2 * i] + coords[2 * i + 1] / 1e4);
    const byY = Float32Array.from({ length: n }, (_, i) => coords[2 * i + 1] + coords[2 * i] / 1e4);
    try {
      await showSlideHeatmap(CMU(), { 'by x': byX, 'by y': byY }, coords, {
        patchSize: 128,
        topK: 2,
        maxSide: 512,
        opacity: 1,
      });
    } finally {
      jupyter.lastWriteDisplayData = () => undefined;
    }
    const data = sent[0].data;
    const p = checkSlidePayload(data[SLIDE_MIME]);
    assert.deepEqual(
      p.maps.map((m) => m.name),
      ['by x', 'by y'],
    );
    const bestX = byX.indexOf(Math.max(...byX));
    const bestY = byY.indexOf(Math.max(...byY));
    assert.deepEqual([p.maps[0].patches[0].index, p.maps[1].patches[0].index], [bestX, bestY]);
    // The figure: two panels of the drawn slide side by side (12 px apart), a title row above them.
    const fig = PNG.sync.read(Buffer.from(String(data['image/png']), 'base64'));
    const [w, h] = [p.image.width, p.image.height];
    const head = 15; // (5 × 7 font height 7 + 8) at scale 1: a 512-px slide is drawn at font scale 1
    assert.ok(fig.width > 2 * w + 12, `figure ${fig.width} px wide for two ${w}-px panels`);
    assert.ok(fig.height >= head + h, `figure ${fig.height} px high for ${h}-px panels under their titles`);
    // At opacity 1, the centre of each map's top patch is the top colour of the scale in its own panel.
    const rgbAt = (x: number, y: number) =>
      Array.from(fig.data.subarray(4 * (y * fig.width + x), 4 * (y * fig.width + x) + 3));
    const k = w / 2220;
    for (const [panel, best] of [
      [0, bestX],
      [1, bestY],
    ]) {
      const x = Math.round(panel * (w + 12) + (coords[2 * best] + 64) * k);
      const y = Math.round(head + (coords[2 * best + 1] + 64) * k);
      assert.deepEqual(rgbAt(x, y), viridisRgb(1), `panel ${panel}: top patch in the top colour`);
    }
    assert.match(String(data['text/plain']), /by x: attention [\d.e-]+ to [\d.e-]+, top patch #\d+ at/);
    assert.match(String(data['text/plain']), /by y: attention [\d.e-]+ to [\d.e-]+, top patch #\d+ at/);
  });

  it('showSlidePatch: a patch at full resolution as image/jpeg; another slide or outside it refused', async () => {
    const sent: { data: Record<string, unknown> }[] = [];
    jupyter.lastWriteDisplayData = (msg: { data: Record<string, unknown> }) => sent.push(msg);
    try {
      await showSlidePatch(CMU(), 1024, 1408, 128, { width: 2220, height: 2967 });
    } finally {
      jupyter.lastWriteDisplayData = () => undefined;
    }
    const jpeg = decodeJpeg(Buffer.from(String(sent[0].data['image/jpeg']), 'base64'), { useTArray: true });
    assert.deepEqual([jpeg.width, jpeg.height], [128, 128]);
    const slide = await openSlide(CMU());
    try {
      const region = await slide.readRegion(0, 1024, 1408, 128, 128);
      let diff = 0;
      for (let k = 0; k < 128 * 128 * 4; k++) if (k % 4 !== 3) diff += Math.abs(jpeg.data[k] - region.data[k]);
      assert.ok(diff / (128 * 128 * 3) < 4, `mean difference ${diff / (128 * 128 * 3)}`);
    } finally {
      slide.close();
    }
    await assert.rejects(
      showSlidePatch(CMU(), 0, 0, 128, { width: 896, height: 768 }),
      /CMU-1-Small-Region\.svs.*the slide is 2220 × 2967 px, but the view was drawn for a 896 × 768 px slide/s,
    );
    await assert.rejects(showSlidePatch(CMU(), 2200, 0, 128), /a 128-px patch at \(2200, 0\) does not lie inside/);
  });

  it("refuses a slide that is not the bag's, before drawing anything", async () => {
    const scores = new Float32Array(coords.length / 2).fill(1);
    await assert.rejects(
      showSlideHeatmap(CMU(), scores, coords, { patchSize: 128, meta: { slide_width: 896, slide_height: 768 } }),
      /the slide is 2220 × 2967 px, but the bag's patches come from a 896 × 768 px slide/,
    );
  });
});
