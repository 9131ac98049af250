// `milkit report` in headless Chromium: a real (small) cross-validated run on MNIST-bags made with
// the CLI, its report opened from disk with JavaScript on (the metric and colour-scale choices
// work) and off (every section and figure still readable). Usage: node report.test.mjs <out-dir>
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { assert, assertEqual, collectErrors, launch, runner } from './browser.mjs';

const REPO = path.resolve(import.meta.dirname, '../..');
const out = path.resolve(process.argv[2] ?? path.join(REPO, 'build/e2e'));
const work = path.join(out, 'report-run');
fs.rmSync(work, { recursive: true, force: true });
fs.mkdirSync(work, { recursive: true });
const milkit = (...args) =>
  execFileSync(process.execPath, [path.join(REPO, 'bin/milkit.js'), ...args], { encoding: 'utf8' });

const t = runner('report');
milkit(
  'dataset',
  'mnist-bags',
  '--train-bags',
  '40',
  '--test-bags',
  '40',
  '--seed',
  '3',
  '--out',
  path.join(work, 'mb.arrow'),
  '--quiet',
);
milkit(
  ...['train', '--model', 'abmil', '--model-config', '{"embedDim":32}', '--data', path.join(work, 'mb.arrow')],
  ...[
    '--folds',
    '3',
    '--val-fraction',
    '0.25',
    '--epochs',
    '3',
    '--lr',
    '1e-3',
    '--out',
    path.join(work, 'run'),
    '--quiet',
  ],
);
const file = path.join(out, 'report.html');
const said = milkit('report', path.join(work, 'run'), '--out', file);
const browser = await launch();
try {
  await t.test('the CLI names the report it wrote', async () => assert(said.includes(`report: ${file}`), said));

  for (const js of [true, false]) {
    await t.test(`report with JavaScript ${js ? 'on' : 'off'}: every section and figure is there`, async () => {
      const page = await browser.newPage({ viewport: { width: 1200, height: 900 }, javaScriptEnabled: js });
      const errors = collectErrors(page);
      await page.goto(`file://${file}`);
      const sections = await page.locator('h2').allTextContents();
      assertEqual(
        sections.map((s) => s.split(' (')[0]).join(' | '),
        'Summary | Training curves per fold | ROC and precision–recall | Confusion matrix | Top attention bags',
        'sections',
      );
      const figures = await page.evaluate(() =>
        [...document.querySelectorAll('svg')]
          .filter((s) => s.getBoundingClientRect().height > 0)
          .map((s) => s.getBoundingClientRect().width),
      );
      assert(figures.length >= (js ? 5 : 8), `${figures.length} visible figures`);
      assert(
        figures.every((w) => w > 100),
        `figure widths ${figures}`,
      );
      const rows = await page.locator('table.summary tbody tr').count();
      assert(rows >= 8, `${rows} summary rows`);
      assert(
        (await page.locator('table.summary td').allTextContents()).some((c) => /^0\.\d{3} – [01]\.\d{3}$/.test(c)),
        'a 95 % CI',
      );
      // The choices exist only where JavaScript runs; without it every metric panel shows.
      const controls = await page.locator('[data-choose]:visible').count();
      assertEqual(controls, js ? 2 : 0, 'visible choices');
      if (js) {
        const panels = () => page.locator('figure[data-group="metric"]:visible').count();
        const all = await panels();
        await page.locator('[data-choose="metric"] select').selectOption('auc');
        assertEqual(await panels(), 1, 'one metric panel after choosing AUC');
        await page.locator('[data-choose="metric"] select').selectOption('all');
        assertEqual(await panels(), all, 'all panels again');
        const shownScale = () => page.locator('[data-group="scale"]:visible').first().getAttribute('data-value');
        await page.locator('[data-choose="scale"] select').selectOption('log');
        assertEqual(await shownScale(), 'log', 'heatmaps switch to the log scale');
        await page.screenshot({ path: path.join(out, 'report.png'), fullPage: true });
      } else {
        assert(
          (await page.locator('figure[data-group="metric"]:visible').count()) >= 3,
          'every metric panel without JavaScript',
        );
        await page.screenshot({ path: path.join(out, 'report-nojs.png'), fullPage: true });
      }
      // Overlap check from bounding boxes: no two visible figures overlap.
      const boxes = await page.evaluate(() =>
        [...document.querySelectorAll('figure, svg')]
          .filter((e) => e.getBoundingClientRect().height > 0 && !e.parentElement.closest('figure, svg'))
          .map((e) => e.getBoundingClientRect().toJSON()),
      );
      for (let i = 0; i < boxes.length; i++)
        for (let j = i + 1; j < boxes.length; j++) {
          const [a, b] = [boxes[i], boxes[j]];
          const overlap =
            Math.min(a.right, b.right) - Math.max(a.left, b.left) > 1 &&
            Math.min(a.bottom, b.bottom) - Math.max(a.top, b.top) > 1;
          assert(!overlap, `figures ${i} and ${j} overlap`);
        }
      assert(errors.length === 0, errors.join('\n'));
      await page.close();
    });
  }
} finally {
  await browser.close();
}
const { failed } = t.summary();
process.exit(failed ? 1 : 0);
