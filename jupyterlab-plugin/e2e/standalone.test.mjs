// Standalone renderer test (fast, no JupyterLab, no server): the extension's renderers mounted in
// a plain Chromium page (standalone/entry.js, bundled from lib/). Checks every view kind from a
// JSON object and from a JSON string, visible messages for unknown versions and bad data, the
// untrusted-output safety (no markup or script from output data ever runs), and the theme
// fallback outside JupyterLab. Usage: node standalone.test.mjs <out-dir>
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { assert, assertEqual, collectErrors, launch, runner } from './browser.mjs';
import * as fx from './fixtures.mjs';

const BUILD = path.resolve(import.meta.dirname, 'standalone/build');
const ORIGIN = 'http://milkit.standalone';
const out = path.resolve(process.argv[2] ?? path.join(import.meta.dirname, '../../build/e2e'));
fs.mkdirSync(out, { recursive: true });
const M = fx.VIZ_MIME;

const PAGE = `<!doctype html><html><head><meta charset="utf-8"><link rel="icon" href="data:,"></head>
<body><script src="${ORIGIN}/bundle.js"></script></body></html>`;

const t = runner('standalone');
const browser = await launch();
/** One page for every test (loading plotly dominates the time); each test clears the outputs. */
let shared;
async function openPage(bodyStyle = '') {
  if (!shared) {
    const page = await browser.newPage({ viewport: { width: 1200, height: 900 } });
    const errors = collectErrors(page);
    await page.route(`${ORIGIN}/**`, (route) => {
      const file = new URL(route.request().url()).pathname.slice(1);
      if (file === '') return route.fulfill({ contentType: 'text/html', body: PAGE });
      return route.fulfill({ path: path.join(BUILD, file) });
    });
    await page.goto(`${ORIGIN}/`);
    await page.waitForSelector('body[data-ready="true"]', { state: 'attached' });
    shared = { page, errors };
  }
  shared.errors.length = 0;
  await shared.page.evaluate((style) => {
    document.querySelectorAll('.standalone-output').forEach((o) => o.remove());
    document.body.setAttribute('style', style);
    delete window.__pwned;
  }, bodyStyle);
  return shared;
}
const render = (page, mime, data) => page.evaluateHandle(([m, d]) => window.milkitRender(m, d), [mime, data]);

const small = fx.gridBag('standalone', 12, 10, 5);
const attention = fx.attentionPayload(small, 6);
const masking = fx.maskingPayload(small, { highRatio: 0.1 });
const training = fx.trainingPayload();
const results = fx.resultsPayload();

try {
  await t.test('every renderer is safe (JupyterLab may use it for untrusted notebooks)', async () => {
    const { page } = await openPage();
    assertEqual(
      JSON.stringify(await page.evaluate(() => window.milkitSafe)),
      '[true,true,true,true,true]',
      'rendererFactory.safe',
    );
  });

  for (const form of ['object', 'string']) {
    await t.test(`each view renders from a JSON ${form}`, async () => {
      const { page, errors } = await openPage();
      const as = (p) => (form === 'string' ? JSON.stringify(p) : p);
      const a = await render(page, M.attention, as(attention));
      const cells = await a.evaluate(fx.heatmapCells);
      assertEqual(cells.drawn, attention.n, 'heatmap cells drawn (one per instance)');
      assert(cells.colours >= 20, `the heatmap uses the colour range (${cells.colours} colours)`);
      assertEqual(await a.evaluate((b) => b.querySelectorAll('.milkit-toplist-item').length), 6, 'top list items');
      const m = await render(page, M.masking, as(masking));
      const want = fx.expectedCounts(masking, {});
      const got = await m.evaluate((b) =>
        Object.fromEntries(
          [...b.querySelectorAll('.milkit-count')].map((e) => [
            e.className.split('milkit-count-')[1],
            Number(e.dataset.count),
          ]),
        ),
      );
      assertEqual(JSON.stringify(got), JSON.stringify(want), 'masking counts (library previewMask)');
      const tr = await render(page, M.training, as(training));
      assertEqual(
        await tr.evaluate((b) => b.querySelectorAll('.milkit-curves .scatterlayer .trace').length),
        3,
        'training curves',
      );
      const r = await render(page, M.results, as(results));
      assertEqual(
        await r.evaluate((b) => b.querySelectorAll('.milkit-results-table tbody tr').length),
        2,
        'results rows',
      );
      assertEqual(await page.locator('.milkit-error').count(), 0, 'no error boxes');
      if (form === 'object') await page.screenshot({ path: path.join(out, 'standalone-views.png'), fullPage: true });
      assert(errors.length === 0, errors.join('\n'));
    });
  }

  await t.test(
    'unknown schema version, bad JSON and a bad field give a visible message, not a blank output',
    async () => {
      const { page, errors } = await openPage();
      const cases = [
        [M.attention, { ...attention, version: 99 }, /unsupported version 99.*newer milkit/],
        [M.masking, '{"version": 1, "kind": "mask', /not valid JSON/],
        [M.results, { ...results, rows: [{ label: 'x', cells: [null] }] }, /rows\[0\]\.cells.*needs 2 cells/],
        [M.training, 42, /expected a JSON object/],
      ];
      for (const [mime, data, re] of cases) {
        const box = await render(page, mime, data);
        const text = await box.evaluate((b) => b.querySelector('.milkit-error')?.textContent ?? '');
        assert(re.test(text), `message for ${mime}: "${text}"`);
        assert(
          await box.evaluate((b) => b.querySelector('.milkit-error').getBoundingClientRect().height > 10),
          'message is visible',
        );
      }
      assert(errors.length === 0, errors.join('\n'));
    },
  );

  await t.test('untrusted data: markup in every string field is shown as text, never run', async () => {
    const { page, errors } = await openPage();
    const evil = (tag) =>
      `<img src=x onerror="window.__pwned=(window.__pwned||[]).concat('${tag}` +
      `')"><script>window.__pwned=['${tag} script']</script><b>${tag}</b>`;
    const payloads = [
      [M.attention, { ...attention, title: evil('attention title'), bagId: evil('bag id') }],
      [M.masking, { ...masking, title: evil('masking title'), bagId: evil('masking bag') }],
      [
        M.results,
        {
          ...results,
          title: evil('results title'),
          caption: evil('caption'),
          columns: [evil('column'), 'accuracy'],
          rows: results.rows.map((r, i) => ({ ...r, label: evil(`row ${i}`) })),
        },
      ],
      [
        M.training,
        {
          ...training,
          title: evil('training title'),
          series: training.series.map((s) => ({ ...s, metric: evil(`metric ${s.metric}`) })),
          progress: { ...training.progress, message: evil('progress') },
        },
      ],
    ];
    const boxes = [];
    for (const [mime, data] of payloads) boxes.push(await render(page, mime, data));
    // hover every plot so plotly builds its hover labels from the (escaped) names too
    for (const plot of await page.locator('.js-plotly-plot .nsewdrag').all()) {
      const b = await plot.boundingBox();
      await page.mouse.move(b.x + b.width / 2, b.y + b.height / 2);
      await page.waitForTimeout(50);
    }
    await page.waitForTimeout(300); // let any injected onerror fire
    assertEqual(await page.evaluate(() => window.__pwned), undefined, 'code from output data ran');
    assertEqual(
      await page
        .locator('.standalone-output img, .standalone-output script, .standalone-output b, .standalone-output iframe')
        .count(),
      0,
      'markup elements created from output data',
    );
    const text = (await page.locator('.standalone-output').allTextContents()).join('\n');
    for (const tag of [
      'attention title',
      'masking title',
      'results title',
      'caption',
      'column',
      'row 0',
      'training title',
      'progress',
    ]) {
      assert(text.includes(`<b>${tag}</b>`), `"${tag}" shown literally as text`);
    }
    const legend = (await page.locator('.milkit-results .legendtext').allTextContents()).join('\n');
    assert(legend.includes('<b>row 0</b>'), `plotly legend shows the label literally: ${legend.slice(0, 200)}`);
    assertEqual(await page.locator('.milkit-error').count(), 0, 'hostile strings are valid data, not errors');
    assert(errors.length === 0, errors.join('\n'));
  });

  await t.test('results and training: hover shows the values, a legend click toggles a series', async () => {
    const { page, errors } = await openPage();
    const hoverText = async (target) => {
      const b = await target.boundingBox();
      await page.mouse.move(b.x + b.width / 2, b.y + Math.min(b.height / 2, 20));
      await page.waitForSelector('.hoverlayer .hovertext', { timeout: 5000 });
      return (await page.locator('.hoverlayer .hovertext').allTextContents()).join(' | ');
    };
    const r = await render(page, M.results, results);
    const bar = await hoverText(page.locator('.milkit-results .barlayer .point path').first());
    assert(/AUC: 0\.877 ± 0\.025/.test(bar) && /n = 3/.test(bar), `results hover: ${bar}`);
    await page.mouse.move(0, 0);
    const tr = await render(page, M.training, training);
    // hover the 3rd point of the first curve, at its pixel position from plotly's axes
    const at = await page.locator('.milkit-curves').evaluate((gd) => {
      const { xaxis: xa, yaxis: ya } = gd._fullLayout;
      const d = gd._fullData[0];
      const r = gd.getBoundingClientRect();
      return { x: r.x + xa._offset + xa.l2p(d.x[2]), y: r.y + ya._offset + ya.l2p(d.y[2]) };
    });
    await page.mouse.move(at.x, at.y);
    await page.waitForSelector('.hoverlayer .hovertext', { timeout: 5000 });
    const curve = (await page.locator('.hoverlayer .hovertext').allTextContents()).join(' | ');
    assert(/train loss\s*epoch 3\.00: 0\.4307/.test(curve), `training hover shows series, epoch and value: ${curve}`);
    for (const [box, what] of [
      [r, 'results'],
      [tr, 'training'],
    ]) {
      const visible = () =>
        box.evaluate((b) =>
          b
            .querySelector('.js-plotly-plot')
            ._fullData.map((d) => d.visible)
            .join(),
        );
      await page.locator(`.milkit-${what} .legend .traces`).first().click();
      await page.waitForTimeout(400); // plotly tells a click from a double click by waiting
      assert(
        (await visible()).startsWith('legendonly'),
        `${what}: legend click hides the first series (${await visible()})`,
      );
    }
    assert(errors.length === 0, errors.join('\n'));
  });

  await t.test('outside JupyterLab the palette follows the page background (dark page → dark palette)', async () => {
    for (const [style, kept] of [
      ['', 'rgb(222, 226, 230)'],
      ['background:#111;color:#eee', 'rgb(52, 58, 64)'],
    ]) {
      const { page } = await openPage(style);
      const box = await render(page, M.masking, masking);
      const swatch = await box.evaluate(
        (b) => getComputedStyle(b.querySelector('.milkit-legend-item .milkit-swatch')).backgroundColor,
      );
      assertEqual(swatch, kept, `"kept" colour on a ${style ? 'dark' : 'light'} page`);
    }
  });

  await t.test(
    'heatmap: scale choice, outlines of known positives, hover, zoom, ROC / PR of instance scores',
    async () => {
      const { page, errors } = await openPage();
      const labelled = fx.attentionPayload({
        ...small,
        instanceLabels: small.attention.map((a) => (a > 0.012 ? 1 : 0)),
      });
      await render(page, M.attention, labelled);
      const box = page.locator('.standalone-output').last();
      assertEqual(
        await box.evaluate((b) => b.querySelector('.milkit-scale').value),
        'percentile',
        'default scale (120 instances)',
      );
      const before = await box.evaluate(fx.heatmapCells);
      await box.locator('.milkit-scale').selectOption('log');
      const low = await box.evaluate((b) => b.querySelector('.milkit-colourbar-low').textContent);
      assert(low !== '0%', `log scale labels the colour bar with scores (${low})`);
      await box.locator('.milkit-scale').selectOption('percentile');
      assertEqual(
        JSON.stringify(await box.evaluate(fx.heatmapCells)),
        JSON.stringify(before),
        'back to the same picture',
      );
      const pink = await box.evaluate((b) => {
        const c = b.querySelector('canvas.milkit-heatmap-canvas');
        const px = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
        let n = 0;
        for (let i = 0; i < px.length; i += 4)
          if (px[i] > 200 && px[i + 1] < 60 && px[i + 2] > 60 && px[i + 2] < 130) n++;
        return n;
      });
      assert(pink > 50, `outline pixels of known positives: ${pink}`);
      const canvas = box.locator('canvas.milkit-heatmap-canvas');
      const r = await canvas.boundingBox();
      await page.mouse.move(r.x + r.width / 2, r.y + r.height / 2);
      const tip = await box.locator('.milkit-hover').textContent();
      assert(
        /^instance \d+ at \(\d+, \d+\) · attention [\d.e-]+ · rank \d+ of 120 · instance label [01]$/.test(tip),
        `hover: ${tip}`,
      );
      await page.mouse.wheel(0, -300);
      await page.waitForTimeout(100);
      assert((await canvas.getAttribute('data-zoom')) !== '1', 'wheel zooms in');
      await canvas.dblclick();
      assertEqual(await canvas.getAttribute('data-zoom'), '1', 'double-click resets');
      const curves = await box.evaluate((b) =>
        [...b.querySelectorAll('.milkit-instance-curves .legendtext')].map((e) => e.textContent),
      );
      assert(
        curves.some((c) => /attention: AUC [01]\.\d{3}/.test(c)) && curves.some((c) => /AP [01]\.\d{3}/.test(c)),
        `ROC/PR legend: ${curves}`,
      );
      await page.screenshot({ path: path.join(out, 'standalone-heatmap.png'), fullPage: true });
      assert(errors.length === 0, errors.join('\n'));
    },
  );

  await t.test('50,000 patches: first draw ≤ 300 ms, threshold and opacity sliders ≤ 16 ms per frame', async () => {
    const { page, errors } = await openPage();
    const big = fx.attentionPayload(fx.gridBag('big-50k', 250, 200, 9));
    // Three independent draws (each a new view) and the fastest judged: one wall-clock sample on a
    // shared machine measures the scheduler as much as the code. All three are printed.
    const draws = [];
    let box, wall;
    for (let i = 0; i < 3; i++) {
      const t0 = Date.now();
      box = await render(page, M.attention, big);
      wall = Date.now() - t0;
      draws.push(Number(await box.evaluate((b) => b.querySelector('.milkit-attention').dataset.renderMs)));
    }
    const drawMs = Math.min(...draws);
    const cells = await box.evaluate(fx.heatmapCells);
    assertEqual(cells.drawn, 50_000, 'every patch drawn');
    const frames = await box.evaluate(fx.sliderFrames);
    const load = os.loadavg()[0];
    const overloaded = load > 4 * os.availableParallelism();
    const pick = (f) => (overloaded ? f.p25 : f.median);
    console.log(
      `       50,000 patches: first draw ${drawMs} ms from renderModel, fastest of ${draws.join(' / ')} ` +
        `(payload check + draw; ${wall} ms with the page round trip); threshold ` +
        `slider median ${frames.threshold.median.toFixed(2)} ms, opacity ${frames.opacity.median.toFixed(2)} ` +
        `ms (load ${load.toFixed(1)}${overloaded ? ', overloaded: p25 judged' : ''})`,
    );
    fs.writeFileSync(
      path.join(out, 'heatmap-timing.json'),
      JSON.stringify({ n: 50_000, drawMs, draws, wall, frames, load }, null, 1),
    );
    assert(drawMs <= 300, `first draw ${drawMs} ms > 300 ms`);
    for (const [k, f] of Object.entries(frames))
      assert(pick(f) <= 16, `${k} slider ${pick(f).toFixed(2)} ms per frame > 16 ms`);
    assert(errors.length === 0, errors.join('\n'));
  });

  await t.test('heatmap fits its cell: the canvas never overflows the output width', async () => {
    const { page } = await openPage();
    await page.setViewportSize({ width: 500, height: 900 }); // the last test: no need to restore it
    const box = await render(page, M.attention, attention);
    const [outW, canvasW] = await box.evaluate((b) => [
      b.getBoundingClientRect().width,
      b.querySelector('canvas.milkit-heatmap-canvas').getBoundingClientRect().width,
    ]);
    assert(canvasW <= outW + 1, `canvas ${canvasW} px in a ${outW} px output`);
  });
} finally {
  await browser.close();
}
const { failed } = t.summary();
process.exit(failed ? 1 : 0);
