// Part 2 of the browser test: a milkit notebook run live on the tslab kernel inside JupyterLab.
// The cells call milkit-kernel's `show.*` (the real notebook API); the expected masking counts
// are computed here in Node with milkit's own previewMask on the exact payload the kernel sent.
import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import { assert, assertEqual, collectErrors } from './browser.mjs';
import { describeContrast, measureContrast } from './contrast.mjs';
import { heatmapCells } from './fixtures.mjs';

const require = createRequire(import.meta.url);
const core = require('../../dist/core.js');

const CELLS = [
  `import { show } from "milkit-kernel";
import { Rng, VIZ_MIME, attentionView } from "milkit/core";
import * as tslab from "tslab";
const rng = new Rng(5);
const w = 24, h = 16, n = w * h;
const coords = Array.from({ length: 2 * n }, (_, k) =>
  256 * (k % 2 === 0 ? Math.floor(k / 2) % w : Math.floor(Math.floor(k / 2) / w)));
const attention = Array.from({ length: n }, () => rng.next());
const probability = attention.map((a) => 1 / (1 + Math.exp(-6 * (a - 0.5))));
const bag = { id: "live-bag", label: 1, coords };`,
  `show.attention(bag, { attention: attention, probability: probability }, { title: "live attention", top: 5 });`,
  `show.masking(bag, probability, { strategy: "rhsm", highRatio: ` +
    `0.05, highRandomRatio: 0.5, seed: 3 }, { title: "live masking" });`,
  `// tslab's own display.raw sends the payload as a JSON string
tslab.display.raw(VIZ_MIME.attention, JSON.stringify(attentionView(
  { id: "raw-string", coords: coords.slice(0, 40) }, { attention: attention.slice(0, 20) })));`,
  `// a live display: display_data once, then update_display_data in place (what training uses)
import { toBundle } from "milkit-kernel";
const monitor = show.training(undefined, { title: "live training", minIntervalMs: 0 });
for (let e = 1; e <= 5; e++) {
  monitor.curves.add("loss", "train", e, 1 / e).setProgress({ epoch: e, epochs: 5, elapsedSeconds: e });
  monitor.display.update(toBundle("training", monitor.view()), true);
  await new Promise((r) => setTimeout(r, 50));
}
monitor.curves.finish();
monitor.display.update(toBundle("training", monitor.view()), true);`,
];
const LIVE_VIEWS = 4;

/** JSON with object keys sorted (nbformat sorts them when it writes a notebook). */
const canonical = (v) =>
  JSON.stringify(v, (_, x) =>
    x && typeof x === 'object' && !Array.isArray(x)
      ? Object.fromEntries(Object.entries(x).sort(([a], [b]) => (a < b ? -1 : 1)))
      : x,
  );

function liveNotebook() {
  return {
    nbformat: 4,
    nbformat_minor: 5,
    metadata: {
      kernelspec: { name: 'tslab', display_name: 'TypeScript', language: 'typescript' },
      language_info: { name: 'typescript' },
    },
    cells: CELLS.map((source, i) => ({
      cell_type: 'code',
      id: `live-${i}`,
      metadata: {},
      execution_count: null,
      source,
      outputs: [],
    })),
  };
}

export async function runLiveNotebook({ t, browser, lab, root, out }) {
  fs.writeFileSync(path.join(root, 'live-tslab.ipynb'), JSON.stringify(liveNotebook(), null, 1));
  const page = await browser.newPage({ viewport: { width: 1400, height: 1100 } });
  page.setDefaultTimeout(30_000);
  const errors = collectErrors(page);
  // Scoped to the live notebook: the workspace also restores the stored-outputs notebook, whose
  // (hidden) outputs would otherwise satisfy every wait and count below.
  const LIVE = '.jp-NotebookPanel[data-milkit-live] .jp-OutputArea-output.milkit-viz';
  const views = page.locator(LIVE);

  await t.test('live: tslab kernel runs a milkit notebook in JupyterLab', async () => {
    await page.goto(`${lab.url}/lab/tree/live-tslab.ipynb?token=${lab.token}`);
    await page.waitForSelector('body[data-milkit-federated]', { state: 'attached', timeout: 240_000 });
    await page.waitForSelector('.jp-Notebook .jp-Cell', { timeout: 120_000 });
    // The restored workspace may hold other notebooks: make sure run-all targets this one.
    await page.waitForFunction(
      () => {
        const app = window.jupyterapp;
        const nb = [...app.shell.widgets('main')].find((w) => w.context?.path === 'live-tslab.ipynb');
        if (nb && app.shell.currentWidget !== nb) app.shell.activateById(nb.id);
        if (nb) nb.node.dataset.milkitLive = '';
        return app.shell.currentWidget === nb && nb.sessionContext?.session?.kernel?.name === 'tslab';
      },
      null,
      { timeout: 120_000 },
    );
    // not awaited: a dialog would deadlock
    await page.evaluate(() => void window.jupyterapp.commands.execute('notebook:run-all-cells'));
    await page
      .waitForFunction(([sel, n]) => document.querySelectorAll(sel).length >= n, [LIVE, LIVE_VIEWS], {
        timeout: 240_000,
      })
      .catch(async (err) => {
        await page.screenshot({ path: path.join(out, 'live-tslab-failed.png') });
        const text = await page.locator('.jp-OutputArea-output').allTextContents();
        throw new Error(`${err.message}\noutputs so far:\n${text.join('\n').slice(0, 3000)}`);
      });
    await page.waitForFunction(
      () => window.jupyterapp.shell.currentWidget.sessionContext.session.kernel.status === 'idle',
      null,
      { timeout: 60_000 },
    );
    const stderr = await page
      .locator('.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.stderr"]')
      .allTextContents();
    assert(stderr.length === 0, `kernel errors:\n${stderr.join('\n')}`);
  });

  /** The payloads the kernel actually sent, read back from the notebook model. */
  const sent = async (mime) =>
    page.evaluate((m) => {
      const nb = window.jupyterapp.shell.currentWidget.context.model.toJSON();
      return nb.cells
        .flatMap((c) => c.outputs ?? [])
        .map((o) => o.data?.[m])
        .filter((d) => d !== undefined);
    }, mime);

  await t.test('live: heatmap has one point per instance of the bag', async () => {
    const [payload] = await sent(core.VIZ_MIME.attention);
    assertEqual(payload.n, 384, 'bag size in the payload');
    assertEqual((await views.nth(0).evaluate(heatmapCells)).drawn, 384, 'heatmap cells');
    assertEqual(
      (await views.nth(2).evaluate(heatmapCells)).drawn,
      20,
      'cells of the string bundle from tslab.display.raw',
    );
  });

  await t.test('live: slider and strategy changes give the library masked counts', async () => {
    const [raw] = await sent(core.VIZ_MIME.masking);
    const payload = core.parseViz('masking', raw);
    const masking = views.nth(1);
    const count = async (name) => Number(await masking.locator(`.milkit-count-${name}`).getAttribute('data-count'));
    const expected = (s) => core.previewMask(payload.scores, { ...payload.settings, ...s }).counts;
    assertEqual(await count('high'), expected({}).high, 'initial masked-as-easy');
    await masking.locator('.milkit-slider-highRatio input').fill('0.2');
    assertEqual(await count('high'), expected({ highRatio: 0.2 }).high, 'masked-as-easy after βh → 0.2');
    assertEqual(await count('kept'), expected({ highRatio: 0.2 }).kept, 'kept after βh → 0.2');
    await masking.locator('.milkit-strategy').selectOption('rsm');
    await masking.locator('.milkit-slider-randomRatio input').fill('0.4');
    assertEqual(
      await count('random'),
      expected({ highRatio: 0.2, strategy: 'rsm', randomRatio: 0.4 }).random,
      'RSM randomly masked',
    );
    await masking.scrollIntoViewIfNeeded();
    await page.screenshot({ path: path.join(out, 'live-tslab.png') });
  });

  await t.test('live: a display updated in place (update_display_data) shows its last state', async () => {
    const training = views.nth(3);
    assert(
      (await training.locator('.milkit-progress').textContent()).startsWith('done · epoch 5/5'),
      'progress line of the final update',
    );
    assertEqual(
      await training.locator('.milkit-curves').evaluate((gd) => gd._fullData[0].x.length),
      5,
      'points of the updated curve',
    );
  });

  await t.test(
    'live: JupyterLab started in Dark (theme saved by the stored-outputs run) and the views keep their contrast',
    async () => {
      const m = await measureContrast(page, LIVE);
      console.log(`       ${describeContrast(m)}`);
      assert(m.dark, 'the saved JupyterLab Dark theme is active at start-up');
      assert(m.failures.length === 0, m.failures.join('\n'));
    },
  );

  await t.test('live: saving keeps every milkit output; the reopened notebook renders them', async () => {
    const before = Object.fromEntries(
      await Promise.all(
        Object.entries(core.VIZ_MIME).map(async ([kind, mime]) => [
          kind,
          (await sent(mime)).map((d) => core.parseViz(kind, d)),
        ]),
      ),
    );
    await page.evaluate(() => window.jupyterapp.commands.execute('docmanager:save'));
    await page.waitForFunction(() => !window.jupyterapp.shell.currentWidget.context.model.dirty, null, {
      timeout: 30_000,
    });
    // What is on disk: the same payloads, one per milkit output, the live display in its last state.
    const saved = JSON.parse(fs.readFileSync(path.join(root, 'live-tslab.ipynb'), 'utf8'));
    const outputs = saved.cells.flatMap((c) => c.outputs ?? []);
    for (const [kind, mime] of Object.entries(core.VIZ_MIME)) {
      const onDisk = outputs
        .map((o) => o.data?.[mime])
        .filter((d) => d !== undefined)
        .map((d) => core.parseViz(kind, d));
      // nbformat writes keys sorted: compare canonical forms
      assert(
        canonical(onDisk) === canonical(before[kind]),
        `saved ${kind} outputs differ from the notebook's ` +
          `(${onDisk.length} on disk, ${before[kind].length} in the notebook)`,
      );
    }
    assertEqual(
      outputs.filter((o) => Object.keys(o.data ?? {}).some((m) => m.startsWith('application/vnd.milkit.'))).length,
      LIVE_VIEWS,
      'milkit outputs in the saved file',
    );
    assert(
      before.training[0].done && before.training[0].series[0].x.length === 5,
      'the saved training view is the final update',
    );
    // Close and reopen: the stored outputs render again (no kernel run involved).
    await page.evaluate(async () => {
      const nb = window.jupyterapp.shell.currentWidget;
      await nb.sessionContext.shutdown();
      nb.dispose();
      void window.jupyterapp.commands.execute('docmanager:open', { path: 'live-tslab.ipynb', factory: 'Notebook' });
    });
    await page.waitForFunction(
      () => {
        const nb = [...window.jupyterapp.shell.widgets('main')].find((w) => w.context?.path === 'live-tslab.ipynb');
        if (nb) nb.node.dataset.milkitLive = '';
        return nb?.isVisible;
      },
      null,
      { timeout: 60_000 },
    );
    await page.waitForFunction(([sel, n]) => document.querySelectorAll(sel).length >= n, [LIVE, LIVE_VIEWS], {
      timeout: 60_000,
    });
    assertEqual(await views.count(), LIVE_VIEWS, 'milkit views after reopening');
    assertEqual((await views.nth(0).evaluate(heatmapCells)).drawn, 384, 'heatmap cells after reopening');
    const masking = before.masking[0];
    const high = Number(await views.nth(1).locator('.milkit-count-high').getAttribute('data-count'));
    assertEqual(
      high,
      core.previewMask(masking.scores, masking.settings).counts.high,
      'reopened masking preview: library count',
    );
  });

  await t.test('live: no console errors from the extension', async () => {
    assert(errors.length === 0, errors.join('\n'));
  });
  await page.evaluate(() => window.jupyterapp.shell.currentWidget.sessionContext.shutdown());
  await page.close();
}
