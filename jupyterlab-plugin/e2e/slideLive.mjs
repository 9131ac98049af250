// Part 3 of the browser test: the slide view in real JupyterLab on a live tslab kernel. A notebook
// draws two score maps over the real CMU-1 slide with milkit-kernel's showSlideHeatmap; the test
// checks the maps lie over the thumbnail, the sliders recolour them in milkit's colours, a top
// patch shows on click, and a click on a patch outside the top lists is fetched from the kernel
// (the pixels compared with the slide read here in Node) without adding anything to the notebook;
// with the kernel shut down, the view says so.
import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import { assert, assertEqual, collectErrors } from './browser.mjs';

const require = createRequire(import.meta.url);
const core = require('../../dist/core.js');
const { openSlide } = require('../../dist/index.js');

const NOTEBOOK = 'slide-view.ipynb';
const PATCH = 128;

/** Patch scores the test can predict: map "by x" ranks patches by x, "by y" by y. */
const CELLS = (slide) => [
  `import { showSlideHeatmap } from "milkit-kernel";
const slide = ${JSON.stringify(slide)};
const [cols, rows] = [Math.floor(2220 / ${PATCH}), Math.floor(2967 / ${PATCH})];
const coords = Array.from({ length: 2 * cols * rows }, (_, k) =>
  ${PATCH} * (k % 2 === 0 ? Math.floor(k / 2) % cols : Math.floor(Math.floor(k / 2) / cols)));
const byX = coords.filter((_, k) => k % 2 === 0).map((x, i) => x + coords[2 * i + 1] / 1e4);
const byY = coords.filter((_, k) => k % 2 === 1).map((y, i) => y + coords[2 * i] / 1e4);
await showSlideHeatmap(slide, { "by x": byX, "by y": byY }, coords,
  { patchSize: ${PATCH}, scoreName: "score", topK: 3, maxSide: 512, opacity: 0.5 });`,
];

function notebook(slide) {
  return {
    nbformat: 4,
    nbformat_minor: 5,
    metadata: {
      kernelspec: { name: 'tslab', display_name: 'TypeScript', language: 'typescript' },
      language_info: { name: 'typescript' },
    },
    cells: CELLS(slide).map((source, i) => ({
      cell_type: 'code',
      id: `slide-${i}`,
      metadata: {},
      execution_count: null,
      source,
      outputs: [],
    })),
  };
}

/** In the page: mean RGB of map `m`'s canvas over a level-0 rectangle, and of the payload's thumbnail there. */
async function regionMeans(box, [m, x, y, w, h]) {
  const c = box.querySelectorAll('canvas.milkit-heatmap-canvas')[m];
  const [cell, step] = [Number(c.dataset.cell), Number(c.dataset.step)];
  const [ox, oy] = c.dataset.origin.split(',').map(Number);
  const mean = (ctx, x0, y0, x1, y1) => {
    const d = ctx.getImageData(Math.round(x0), Math.round(y0), Math.round(x1 - x0), Math.round(y1 - y0)).data;
    const s = [0, 0, 0];
    for (let i = 0; i < d.length; i += 4) for (let k = 0; k < 3; k++) s[k] += d[i + k];
    return s.map((v) => v / (d.length / 4));
  };
  const at = (v, o) => ((v - o) / step) * cell;
  const canvas = mean(c.getContext('2d'), at(x, ox), at(y, oy), at(x + w, ox), at(y + h, oy));
  const img = box.__thumb;
  return { canvas, thumb: img ? mean(img.ctx, x * img.k, y * img.k, (x + w) * img.k, (y + h) * img.k) : null };
}

export async function runSlideNotebook({ t, browser, lab, root, out }) {
  const data = path.resolve(process.env.MILKIT_DATA ?? path.join(import.meta.dirname, '../../../shared/data'));
  const cmu = path.join(data, 'wsi', 'CMU-1-Small-Region.svs');
  fs.writeFileSync(path.join(root, NOTEBOOK), JSON.stringify(notebook(cmu), null, 1));
  const page = await browser.newPage({ viewport: { width: 1500, height: 1100 } });
  page.setDefaultTimeout(30_000);
  const errors = collectErrors(page);
  const view = page.locator('.jp-NotebookPanel[data-milkit-slide] .milkit-slide');
  let payload;

  await t.test('slide view: a tslab cell draws two maps over CMU-1 in real JupyterLab', async () => {
    assert(fs.existsSync(cmu), `${cmu} is missing: set MILKIT_DATA to the shared data folder`);
    await page.goto(`${lab.url}/lab/tree/${NOTEBOOK}?token=${lab.token}`);
    await page.waitForSelector('body[data-milkit-federated]', { state: 'attached', timeout: 240_000 });
    await page.waitForFunction(
      (file) => {
        const app = window.jupyterapp;
        const nb = [...app.shell.widgets('main')].find((w) => w.context?.path === file);
        if (nb && app.shell.currentWidget !== nb) app.shell.activateById(nb.id);
        if (nb) nb.node.dataset.milkitSlide = '';
        return app.shell.currentWidget === nb && nb.sessionContext?.session?.kernel?.name === 'tslab';
      },
      NOTEBOOK,
      { timeout: 120_000 },
    );
    await page.evaluate(() => void window.jupyterapp.commands.execute('notebook:run-all-cells'));
    await view.waitFor({ timeout: 240_000 }).catch(async (err) => {
      await page.screenshot({ path: path.join(out, 'slide-live-failed.png') });
      const text = await page.locator('.jp-OutputArea-output').allTextContents();
      throw new Error(`${err.message}\noutputs so far:\n${text.join('\n').slice(0, 3000)}`);
    });
    await page.waitForFunction(
      () => window.jupyterapp.shell.currentWidget.sessionContext.session.kernel.status === 'idle',
    );
    [payload] = await page.evaluate(() =>
      window.jupyterapp.shell.currentWidget.context.model
        .toJSON()
        .cells.flatMap((c) => c.outputs ?? [])
        .filter((o) => o.data?.['application/vnd.milkit.slide+json'])
        .map((o) => [o.data['application/vnd.milkit.slide+json'], typeof o.data['image/png']]),
    );
    assert(payload, 'the notebook holds the slide output');
    assertEqual(payload[1], 'string', 'the bundle carries image/png (shown without the extension)');
    payload = core.checkSlidePayload(payload[0]);
    assertEqual(payload.source, cmu, 'the payload names the slide as the kernel opened it');
    assertEqual(await view.locator('canvas.milkit-heatmap-canvas').count(), 2, 'two maps side by side');
    assertEqual((await view.locator('.milkit-slide-map-name').allTextContents()).join('|'), 'by x|by y', 'titles');
  });

  await t.test('slide view: the maps lie over the thumbnail; opacity and threshold recolour them', async () => {
    // Keep a decoded copy of the payload's thumbnail in the page to compare the canvas with.
    await view.evaluate(async (v, src) => {
      const img = new Image();
      img.src = src;
      await img.decode();
      const c = document.createElement('canvas');
      [c.width, c.height] = [img.width, img.height];
      const ctx = c.getContext('2d', { willReadFrequently: true });
      ctx.drawImage(img, 0, 0);
      v.__thumb = { ctx, k: img.width / 2220 };
    }, payload.image.src);
    const setSlider = (cls, value) => view.locator(`.milkit-slider-${cls} input`).fill(String(value));
    await setSlider('opacity', 0);
    // A tissue area in the middle of the slide: the canvas shows the thumbnail there.
    const region = [0, 768, 1280, 512, 512];
    const bare = await view.evaluate(regionMeans, region);
    assert(
      bare.canvas.every((v, k) => Math.abs(v - bare.thumb[k]) < 4),
      `opacity 0: canvas ${bare.canvas.map(Math.round)} vs thumbnail ${bare.thumb.map(Math.round)}`,
    );
    assert(bare.thumb[1] < 200, `the region holds tissue (mean green ${bare.thumb[1]})`);
    // Opacity 1: the top patch of "by x" is exactly milkit's viridis colour of its percentile rank
    // (of the payload's 4-digit scores: the patches of the right-most column tie).
    await setSlider('opacity', 1);
    const best = payload.maps[0].patches[0].index;
    const rank = core.scaleScores(payload.maps[0].scores, 'percentile').t[best];
    const [x, y] = [payload.coords[2 * best], payload.coords[2 * best + 1]];
    const inner = [0, x + 32, y + 32, 64, 64];
    const top = await view.evaluate(regionMeans, inner);
    const want = core.viridisRgb(Math.round(255 * rank) / 255);
    assert(
      top.canvas.every((v, k) => Math.abs(v - want[k]) <= 1),
      `top patch ${top.canvas.map(Math.round)} vs ${want}`,
    );
    // Threshold 0.5: patches in the lower half of "by x" (the left column) show the tissue again.
    await setSlider('threshold', 0.5);
    const left = await view.evaluate(regionMeans, [0, 16, 1280, 96, 512]);
    assert(
      left.canvas.every((v, k) => Math.abs(v - left.thumb[k]) < 5),
      `hidden patch ${left.canvas.map(Math.round)} vs thumbnail ${left.thumb.map(Math.round)}`,
    );
    await setSlider('threshold', 0);
    await setSlider('opacity', 0.5);
    await view.scrollIntoViewIfNeeded();
    await page.screenshot({ path: path.join(out, 'slide-live.png') });
  });

  /** Clicks map `m` at the centre of patch `i` (the canvas may be shown scaled). */
  const clickPatch = async (m, i) => {
    const canvas = view.locator('canvas.milkit-heatmap-canvas').nth(m);
    const { cell, step, ox, oy, css } = await canvas.evaluate((c) => {
      const [ox, oy] = c.dataset.origin.split(',').map(Number);
      const css = c.getBoundingClientRect().width / c.width;
      return { cell: Number(c.dataset.cell), step: Number(c.dataset.step), ox, oy, css };
    });
    const [x, y] = [payload.coords[2 * i] + PATCH / 2, payload.coords[2 * i + 1] + PATCH / 2];
    await canvas.click({ position: { x: ((x - ox) / step) * cell * css, y: ((y - oy) / step) * cell * css } });
  };
  const detail = view.locator('.milkit-slide-detail');
  const detailMean = () =>
    detail.evaluate((d) => {
      const img = d.querySelector('img');
      const c = document.createElement('canvas');
      [c.width, c.height] = [img.naturalWidth, img.naturalHeight];
      const ctx = c.getContext('2d');
      ctx.drawImage(img, 0, 0);
      const px = ctx.getImageData(0, 0, c.width, c.height).data;
      const s = [0, 0, 0];
      for (let i = 0; i < px.length; i += 4) for (let k = 0; k < 3; k++) s[k] += px[i + k];
      return { size: c.width, mean: s.map((v) => v / (px.length / 4)) };
    });
  const slideMean = async (i) => {
    const s = await openSlide(cmu);
    try {
      const r = await s.readRegion(0, payload.coords[2 * i], payload.coords[2 * i + 1], PATCH, PATCH);
      const m = [0, 0, 0];
      for (let k = 0; k < r.data.length; k += 4) for (let c = 0; c < 3; c++) m[c] += r.data[k + c];
      return m.map((v) => v / (r.data.length / 4));
    } finally {
      s.close();
    }
  };

  await t.test('slide view: a click on a patch outside the top lists fetches it from the kernel', async () => {
    // A top patch of "by y" from its list: shown from the output itself.
    await view.locator('.milkit-slide-top').nth(1).locator('.milkit-toplist-item').first().click();
    assertEqual(await detail.getAttribute('data-state'), 'shown', 'top patch shown');
    const outputsBefore = await page.evaluate(
      () => window.jupyterapp.shell.currentWidget.context.model.toJSON().cells.flatMap((c) => c.outputs ?? []).length,
    );
    // A patch in neither top list: near the middle of the slide.
    const n = payload.coords.length / 2;
    const tops = new Set(payload.maps.flatMap((m) => m.patches.map((q) => q.index)));
    const mid = [...Array(n).keys()].find(
      (i) => !tops.has(i) && payload.coords[2 * i] === 1024 && payload.coords[2 * i + 1] === 1408,
    );
    assert(mid !== undefined, 'a patch at (1024, 1408)');
    await clickPatch(0, mid);
    await page.waitForFunction(
      (i) => {
        const d = document.querySelector('.jp-NotebookPanel[data-milkit-slide] .milkit-slide-detail');
        return d.dataset.patch === String(i) && d.dataset.state !== 'fetching';
      },
      mid,
      { timeout: 60_000 },
    );
    const text = await detail.textContent();
    assertEqual(await detail.getAttribute('data-state'), 'shown', `fetched patch shown (${text})`);
    assert(text.includes(`patch ${mid} at (1024, 1408)`), text);
    const got = await detailMean();
    const want = await slideMean(mid);
    assertEqual(got.size, PATCH, 'at full resolution');
    assert(
      got.mean.every((v, k) => Math.abs(v - want[k]) < 3),
      `fetched patch mean ${got.mean.map(Math.round)} vs the slide read in Node ${want.map(Math.round)}`,
    );
    const outputsAfter = await page.evaluate(
      () => window.jupyterapp.shell.currentWidget.context.model.toJSON().cells.flatMap((c) => c.outputs ?? []).length,
    );
    assertEqual(outputsAfter, outputsBefore, 'the request added nothing to the notebook');
    await view.scrollIntoViewIfNeeded();
    await page.screenshot({ path: path.join(out, 'slide-live-fetched.png') });
  });

  await t.test('slide view: with the kernel shut down, a click says to start it', async () => {
    await page.evaluate(() => window.jupyterapp.shell.currentWidget.sessionContext.shutdown());
    await page.waitForFunction(() => !window.jupyterapp.shell.currentWidget.sessionContext.session);
    const n = payload.coords.length / 2;
    const tops = new Set(payload.maps.flatMap((m) => m.patches.map((q) => q.index)));
    const other = [...Array(n).keys()].find((i) => !tops.has(i) && payload.coords[2 * i] === 512);
    await clickPatch(1, other);
    await page.waitForFunction(() => {
      const d = document.querySelector('.jp-NotebookPanel[data-milkit-slide] .milkit-slide-detail');
      return d.dataset.state === 'failed';
    });
    const text = await detail.textContent();
    assert(text.includes('no running kernel') && text.includes('start it'), text);
    assert(errors.length === 0, errors.join('\n'));
  });
  await page.close({ runBeforeUnload: false });
}
