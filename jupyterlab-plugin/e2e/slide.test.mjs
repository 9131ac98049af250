// The slide view (src/slide.ts) in the standalone page (standalone/entry.js, no JupyterLab): the
// scores drawn over the thumbnail in the colours milkit computes, the cells registered on the
// thumbnail (also for tilings with overlap or an offset), two maps side by side under one scale
// and one zoom, the top patches at full resolution on click and a clear message for others (no
// kernel here; lab.test.mjs fetches them from a real one), a visible message for a bad payload,
// and the timing at 50,000 patches (first draw ≤ 300 ms, an opacity or threshold change ≤ 16 ms).
// Usage: node slide.test.mjs <out-dir>
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createRequire } from 'node:module';
import { assert, assertEqual, collectErrors, launch, runner } from './browser.mjs';
import * as fx from './fixtures.mjs';

const require = createRequire(import.meta.url);
const core = require('../../dist/core.js');
const { PNG } = require('pngjs');

const BUILD = path.resolve(import.meta.dirname, 'standalone/build');
const ORIGIN = 'http://milkit.standalone';
const out = path.resolve(process.argv[2] ?? path.join(import.meta.dirname, '../../build/e2e'));
fs.mkdirSync(out, { recursive: true });
const PAGE = `<!doctype html><html><head><meta charset="utf-8"><link rel="icon" href="data:,"></head>
<body><script src="${ORIGIN}/bundle.js"></script></body></html>`;

/** A PNG (base64) of w × h filled by rgb(x, y). */
function png(w, h, rgb) {
  const img = new PNG({ width: w, height: h });
  for (let y = 0; y < h; y++)
    for (let x = 0; x < w; x++) {
      const o = 4 * (y * w + x);
      [img.data[o], img.data[o + 1], img.data[o + 2]] = rgb(x, y);
      img.data[o + 3] = 255;
    }
  return PNG.sync.write(img).toString('base64');
}

/** Thumbnail colour at thumbnail pixel (x, y): a smooth gradient, so a misplaced cell shows. */
const gradient = (tw, th) => (x, y) => [Math.round((200 * x) / tw) + 20, Math.round((200 * y) / th) + 20, 160];

/**
 * A slide of W × H patches of 256 px with the grid bag's attention (one map per entry of `maps`,
 * the k-th map's scores the bag's raised to the power k + 1), tiled every `step` px from `origin`;
 * the thumbnail is a colour gradient.
 */
function slidePayload(w, h, seed, { top = 6, maps = [''], step = 256, origin = [0, 0] } = {}) {
  const bag = fx.gridBag(`slide-${w}x${h}`, w, h, seed);
  const patchSize = 256;
  const coords = bag.coords.map((v, k) => origin[k % 2] + (v / 256) * step);
  const [sw, sh] = [origin[0] + (w - 1) * step + patchSize, origin[1] + (h - 1) * step + patchSize];
  const side = 1000;
  const [tw, th] = sw >= sh ? [side, Math.round((side * sh) / sw)] : [Math.round((side * sw) / sh), side];
  return {
    kind: 'slide',
    version: core.SLIDE_VIEW_VERSION,
    slideId: bag.id,
    slide: { width: sw, height: sh, mpp: 0.5 },
    image: { src: `data:image/png;base64,${png(tw, th, gradient(tw, th))}`, width: tw, height: th },
    patchSize,
    coords,
    maps: maps.map((name, m) => {
      const scores = bag.attention.map((a) => core.roundScore(a ** (m + 1)));
      return {
        name,
        scores,
        patches: core.topPatches(scores, top).map((index, k) => ({
          index,
          src: `data:image/png;base64,${png(64, 64, () => [40 * k, 100, 200])}`,
          size: 64,
        })),
      };
    }),
    scoreName: 'attention',
    scale: 'percentile',
    opacity: 0.5,
  };
}

/** In the page: map `m`'s canvas RGB at level-0 points (the view's grid: origin, step, cell px). */
function canvasPixels(box, [m, points]) {
  const c = box.querySelectorAll('canvas.milkit-heatmap-canvas')[m];
  const [cell, step] = [Number(c.dataset.cell), Number(c.dataset.step)];
  const [ox, oy] = c.dataset.origin.split(',').map(Number);
  const ctx = c.getContext('2d');
  const at = (v, o) => Math.floor(((v - o) / step) * cell);
  return points.map(([x, y]) => [...ctx.getImageData(at(x, ox), at(y, oy), 1, 1).data.slice(0, 3)]);
}

/** Sets a slider of the view in `box` (class suffix) and fires its input event. */
function setSlider(box, [cls, value]) {
  const input = box.querySelector(`.milkit-slider-${cls} input`);
  input.value = String(value);
  input.dispatchEvent(new Event('input', { bubbles: true }));
}

const centre = (p, i) => [p.coords[2 * i] + p.patchSize / 2, p.coords[2 * i + 1] + p.patchSize / 2];
const near = (a, b, tol) => a.every((v, c) => Math.abs(v - b[c]) <= tol);

/** Clicks map `m`'s canvas at a level-0 point. */
async function clickPatch(box, m, [x, y]) {
  const canvas = (await box.$$('canvas.milkit-heatmap-canvas'))[m];
  const { cell, step, ox, oy, css } = await canvas.evaluate((c) => {
    const [ox, oy] = c.dataset.origin.split(',').map(Number);
    return {
      cell: Number(c.dataset.cell),
      step: Number(c.dataset.step),
      ox,
      oy,
      css: c.getBoundingClientRect().width / c.width,
    };
  });
  await canvas.click({ position: { x: ((x - ox) / step) * cell * css, y: ((y - oy) / step) * cell * css } });
}

const t = runner('slide');
const browser = await launch();
const page = await browser.newPage({ viewport: { width: 1200, height: 900 } });
const errors = collectErrors(page);
await page.route(`${ORIGIN}/**`, (route) => {
  const file = new URL(route.request().url()).pathname.slice(1);
  if (file === '') return route.fulfill({ contentType: 'text/html', body: PAGE });
  return route.fulfill({ path: path.join(BUILD, file) });
});
await page.goto(`${ORIGIN}/`);
await page.waitForSelector('body[data-ready="true"]', { state: 'attached' });
const render = (data) => page.evaluateHandle(([m, d]) => window.milkitRender(m, d), [core.SLIDE_MIME, data]);
const clear = () => page.evaluate(() => document.querySelectorAll('.standalone-output').forEach((o) => o.remove()));

try {
  await t.test('the slide view is registered as a safe renderer', async () => {
    const safe = await page.evaluate(() => window.milkitSafe);
    assert(safe.length >= 5 && safe.every(Boolean), `rendererFactory.safe: ${JSON.stringify(safe)}`);
  });

  for (const form of ['object', 'string']) {
    await t.test(
      `from a JSON ${form}: patches in milkit's colours over the thumbnail; top patches on click`,
      async () => {
        await clear();
        errors.length = 0;
        const p = slidePayload(40, 30, 3);
        const box = await render(form === 'string' ? JSON.stringify(p) : p);
        // At opacity 1, a patch cell's centre is exactly the viridis colour of its percentile rank.
        const t = core.scaleScores(p.maps[0].scores, 'percentile').t;
        const probe = [0, 1, 617, p.maps[0].patches[0].index, t.length - 1];
        await box.evaluate(setSlider, ['opacity', 1]);
        const seen = await box.evaluate(canvasPixels, [0, probe.map((i) => centre(p, i))]);
        probe.forEach((i, k) => {
          const want = core.viridisRgb(Math.round(255 * t[i]) / 255);
          assert(near(seen[k], want, 1), `patch ${i}: canvas ${seen[k]}, viridis ${want}`);
        });
        const items = await box.evaluate((b) => b.querySelectorAll('.milkit-slide-top .milkit-toplist-item').length);
        assertEqual(items, 6, 'top patches listed');
        await (await box.$$('.milkit-slide-top .milkit-toplist-item'))[2].click();
        const detail = await box.evaluate((b) => {
          const d = b.querySelector('.milkit-slide-detail');
          return { patch: Number(d.dataset.patch), img: d.querySelector('img')?.naturalWidth, text: d.textContent };
        });
        const top = p.maps[0].patches;
        assertEqual(detail.patch, top[2].index, 'the clicked patch is shown');
        assertEqual(detail.img, 64, 'at full resolution');
        assert(detail.text.includes(`patch ${top[2].index} at (`), detail.text);
        // Clicking the map on a patch without a full-resolution copy, in an output without its
        // slide's path (saved by an older milkit): it says so.
        const low = t.indexOf(Math.min(...t));
        await clickPatch(box, 0, centre(p, low));
        const clicked = await box.evaluate((b) => b.querySelector('.milkit-slide-detail').textContent);
        assert(clicked.includes(`patch ${low} at`) && clicked.includes('carries the top patches only'), clicked);
        if (form === 'object') await page.screenshot({ path: path.join(out, 'slide-view.png'), fullPage: true });
        assert(errors.length === 0, errors.join('\n'));
      },
    );
  }

  for (const [name, opts] of [
    ['a tiling from (0, 0)', {}],
    ['patches every 192 px (overlap) from (100, 40)', { step: 192, origin: [100, 40] }],
  ])
    await t.test(`${name}: cells over their tissue, each patch in its own colour`, async () => {
      await clear();
      errors.length = 0;
      const p = slidePayload(24, 16, 5, opts);
      const box = await render(p);
      // Opacity 0: the canvas is the thumbnail, and each patch centre shows the thumbnail's pixel there.
      await box.evaluate(setSlider, ['opacity', 0]);
      const probe = [0, 23, 200, 383];
      const under = await box.evaluate(canvasPixels, [0, probe.map((i) => centre(p, i))]);
      const thumb = gradient(p.image.width, p.image.height);
      probe.forEach((i, k) => {
        const [x, y] = centre(p, i);
        const want = thumb((x * p.image.width) / p.slide.width, (y * p.image.height) / p.slide.height);
        assert(near(under[k], want, 2), `patch ${i} at (${x}, ${y}): canvas ${under[k]}, thumbnail ${want}`);
      });
      // Opacity 1: the centre of every probed patch has its own percentile colour (overlapping
      // patches share only their borders).
      await box.evaluate(setSlider, ['opacity', 1]);
      const t = core.scaleScores(p.maps[0].scores, 'percentile').t;
      const seen = await box.evaluate(canvasPixels, [0, probe.map((i) => centre(p, i))]);
      probe.forEach((i, k) => {
        const want = core.viridisRgb(Math.round(255 * t[i]) / 255);
        assert(near(seen[k], want, 1), `patch ${i}: canvas ${seen[k]}, viridis ${want}`);
      });
      await clickPatch(box, 0, centre(p, 200));
      assertEqual(await box.evaluate((b) => b.querySelector('.milkit-slide-detail').dataset.patch), '200', 'clicked');
      if (opts.step) await page.screenshot({ path: path.join(out, 'slide-view-overlap.png'), fullPage: true });
      assert(errors.length === 0, errors.join('\n'));
    });

  await t.test('two maps side by side: one colour scale, one zoom, both scores on hover, a top list each', async () => {
    await clear();
    errors.length = 0;
    const p = { ...slidePayload(40, 30, 3, { maps: ['AB-MIL', 'MHIM-v2(AB-MIL)'] }), source: 'no/such/slide.svs' };
    const box = await render(p);
    const names = await box.evaluate((b) =>
      [...b.querySelectorAll('.milkit-slide-map-name')].map((e) => e.textContent),
    );
    assertEqual(names.join('|'), 'AB-MIL|MHIM-v2(AB-MIL)', 'map titles');
    // Linear: the maps' pooled range, so one colour means one score in both panels.
    await box.evaluate((b) => {
      const select = b.querySelector('.milkit-scale');
      select.value = 'linear';
      select.dispatchEvent(new Event('change', { bubbles: true }));
      const input = b.querySelector('.milkit-slider-opacity input');
      input.value = '1';
      input.dispatchEvent(new Event('input', { bubbles: true }));
    });
    const scaled = core.scaleScoreMaps(
      p.maps.map((m) => m.scores),
      'linear',
    );
    const probe = [0, 617, p.maps[1].patches[0].index];
    for (const m of [0, 1]) {
      const seen = await box.evaluate(canvasPixels, [m, probe.map((i) => centre(p, i))]);
      probe.forEach((i, k) => {
        const want = core.viridisRgb(Math.round(255 * scaled.t[m][i]) / 255);
        assert(near(seen[k], want, 1), `map ${m} patch ${i}: canvas ${seen[k]}, viridis ${want}`);
      });
    }
    assertEqual(
      await box.evaluate((b) => b.querySelector('.milkit-colourbar-high').textContent),
      scaled.high,
      'colour bar top = the larger map maximum',
    );
    // Wheel-zoom the left map: the right one shows the same part of the slide.
    const canvases = await box.$$('canvas.milkit-heatmap-canvas');
    await canvases[0].hover();
    await page.mouse.wheel(0, -400);
    await page.waitForTimeout(100);
    const zooms = await box.evaluate((b) =>
      [...b.querySelectorAll('canvas.milkit-heatmap-canvas')].map((c) => c.dataset.zoom),
    );
    assert(Number(zooms[0]) > 1 && zooms[0] === zooms[1], `zoom follows: ${zooms}`);
    await canvases[1].dblclick();
    // Hover names both scores; a top list per map.
    await canvases[1].hover();
    const tip = await box.evaluate((b) => b.querySelector('.milkit-hover').textContent);
    assert(/AB-MIL [\d.e-]+ · MHIM-v2\(AB-MIL\) [\d.e-]+/.test(tip), tip);
    assertEqual(await box.evaluate((b) => b.querySelectorAll('.milkit-slide-top').length), 2, 'top lists');
    // No JupyterLab here, so no kernel to fetch a patch outside the top lists: it says what is needed.
    const t = core.scaleScores(p.maps[0].scores, 'percentile').t;
    const low = t.indexOf(Math.min(...t));
    await clickPatch(box, 1, centre(p, low));
    await page.waitForFunction(() => document.querySelector('.milkit-slide-detail').dataset.state === 'failed');
    const msg = await box.evaluate((b) => b.querySelector('.milkit-slide-detail').textContent);
    assert(msg.includes(`patch ${low} at`) && msg.includes('needs JupyterLab with milkit-jupyterlab'), msg);
    await page.screenshot({ path: path.join(out, 'slide-view-side-by-side.png'), fullPage: true });
    assert(errors.length === 0, errors.join('\n'));
  });

  await t.test('a version-1 payload (notebooks saved before maps) still renders as one map', async () => {
    await clear();
    const { maps, ...p } = slidePayload(8, 6, 2);
    const box = await render({ ...p, version: 1, scores: maps[0].scores, patches: maps[0].patches });
    assertEqual(await box.evaluate((b) => b.querySelectorAll('canvas.milkit-heatmap-canvas').length), 1, 'one map');
    assertEqual(
      await box.evaluate((b) => b.querySelectorAll('.milkit-slide-top .milkit-toplist-item').length),
      6,
      'tops',
    );
  });

  await t.test('a bad payload shows why, in the cell', async () => {
    await clear();
    const p = slidePayload(4, 3, 1);
    const box = await render({ ...p, coords: p.coords.slice(1) });
    const text = await box.evaluate((b) => b.textContent);
    assert(/cannot show this output.*"coords" must be integer x, y pairs/.test(text), text);
    // Images must be base64 JPEG/PNG data URIs: anything else from untrusted output data is refused.
    const evil = await render({ ...p, image: { ...p.image, src: 'javascript:window.__pwned=1' } });
    assert(
      /"image.src" must be a base64 JPEG or PNG data URI/.test(await evil.evaluate((b) => b.textContent)),
      'refused',
    );
    assert(!(await page.evaluate(() => window.__pwned)), 'nothing ran');
  });

  await t.test('50,000 patches: first draw ≤ 300 ms, opacity and threshold ≤ 16 ms per frame', async () => {
    await clear();
    errors.length = 0;
    const big = slidePayload(250, 200, 9);
    // Three independent draws, the fastest judged (one wall-clock sample on a shared machine
    // measures the scheduler as much as the code); all three are printed.
    const draws = [];
    let box;
    for (let i = 0; i < 3; i++) {
      box = await render(big);
      draws.push(Number(await box.evaluate((b) => b.querySelector('.milkit-slide').dataset.renderMs)));
    }
    const drawMs = Math.min(...draws);
    const frames = await box.evaluate(fx.sliderFrames);
    const load = os.loadavg()[0];
    const overloaded = load > 4 * os.availableParallelism();
    const pick = (f) => (overloaded ? f.p25 : f.median);
    console.log(
      `       50,000 patches over a 1000-px thumbnail: first draw ${drawMs} ms (fastest of ${draws.join(' / ')}); ` +
        `threshold median ${frames.threshold.median.toFixed(2)} ms, opacity ${frames.opacity.median.toFixed(2)} ms ` +
        `(load ${load.toFixed(1)}${overloaded ? ', overloaded: p25 judged' : ''})`,
    );
    fs.writeFileSync(
      path.join(out, 'slide-timing.json'),
      JSON.stringify({ n: 50_000, drawMs, draws, frames, load }, null, 1),
    );
    assert(drawMs <= 300, `first draw ${drawMs} ms > 300 ms`);
    for (const [k, f] of Object.entries(frames))
      assert(pick(f) <= 16, `${k} ${pick(f).toFixed(2)} ms per frame > 16 ms`);
    assert(errors.length === 0, errors.join('\n'));
  });
} finally {
  await browser.close();
}
const { failed } = t.summary();
process.exit(failed ? 1 : 0);
