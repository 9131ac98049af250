// Sharing test: the committed notebooks (they carry their executed outputs) opened in a real
// JupyterLab 4.6.4 WITHOUT the milkit extension, as untrusted notebooks (a colleague's, or fresh
// from git): every milkit figure must show, as the PNG in the HTML fallback that survives the
// sanitiser, and the shown images must have content (pixel statistics, not blank).
// Usage: node untrusted.test.mjs <out-dir>   (prints "untrusted: N passed, M failed")
import fs from 'node:fs';
import path from 'node:path';
import { assert, assertEqual, collectErrors, launch, runner } from './browser.mjs';
import { startLab } from './server.mjs';

const REPO = path.resolve(import.meta.dirname, '../..');
const out = path.resolve(process.argv[2] ?? path.join(REPO, 'build/e2e'));
const root = path.join(out, 'untrusted-root');
const noExtensions = path.join(out, 'no-labextensions');
fs.rmSync(root, { recursive: true, force: true });
fs.mkdirSync(root, { recursive: true });
fs.mkdirSync(noExtensions, { recursive: true });

const books = fs
  .readdirSync(path.join(REPO, 'notebooks'))
  .filter((f) => f.endsWith('.ipynb'))
  .sort();
/**
 * Per notebook: how many milkit outputs show their image/png in their HTML (figures), and how many
 * are results tables, whose HTML is the table itself (their PNG serves image-only viewers).
 */
const expected = {};
const tables = {};
for (const b of books) {
  const nb = JSON.parse(fs.readFileSync(path.join(REPO, 'notebooks', b), 'utf8'));
  const milkit = nb.cells
    .flatMap((c) => c.outputs ?? [])
    .filter((o) => o.data && Object.keys(o.data).some((m) => m.startsWith('application/vnd.milkit.')));
  const isTable = (o) => 'application/vnd.milkit.results+json' in o.data;
  expected[b] = milkit.filter((o) => o.data['image/png'] && !isTable(o)).length;
  tables[b] = milkit.filter(isTable).length;
  fs.copyFileSync(path.join(REPO, 'notebooks', b), path.join(root, b));
}

const t = runner('untrusted');
const lab = await startLab({ labextensions: noExtensions, root, logFile: path.join(out, 'jupyter-untrusted.log') });
const browser = await launch();
try {
  const page = await browser.newPage({ viewport: { width: 1300, height: 1000 } });
  page.setDefaultTimeout(60_000);
  const errors = collectErrors(page);
  for (const book of books) {
    await t.test(
      `${book}: ${expected[book]} milkit figures and ${tables[book]} tables show without the extension, untrusted`,
      async () => {
        assert(expected[book] > 0 || book.startsWith('04'), `${book} carries no milkit figure: outputs not committed?`);
        await page.goto(`${lab.url}/lab/tree/${book}?token=${lab.token}`);
        await page.waitForSelector('body[data-milkit-federated]', { state: 'attached', timeout: 240_000 });
        assertEqual(await page.getAttribute('body', 'data-milkit-federated'), '', 'no prebuilt extension loaded');
        await page.waitForFunction(
          (f) => {
            document.querySelector('.jp-Dialog .jp-mod-reject')?.click(); // no kernel needed to show stored outputs
            const nb = [...window.jupyterapp.shell.widgets('main')].find((w) => w.context?.path === f);
            if (nb && window.jupyterapp.shell.currentWidget !== nb) window.jupyterapp.shell.activateById(nb.id);
            return nb?.context.isReady && nb.content.widgets.length > 0;
          },
          book,
          { timeout: 120_000, polling: 250 },
        );
        const trusted = await page.evaluate(
          (f) =>
            [...window.jupyterapp.shell.widgets('main')]
              .find((w) => w.context?.path === f)
              .content.widgets.some((c) => c.model.trusted),
          book,
        );
        assertEqual(trusted, false, 'the notebook opened untrusted');
        // Every output area renders lazily only when visible in some setups: render all by scrolling through.
        const stats = await page.evaluate(async (f) => {
          const nb = [...window.jupyterapp.shell.widgets('main')].find((w) => w.context?.path === f);
          for (const cell of nb.content.widgets) {
            cell.node.scrollIntoView();
            await new Promise((r) => requestAnimationFrame(r));
          }
          const imgs = [...nb.node.querySelectorAll('.jp-OutputArea-output img')].filter((i) =>
            i.src.startsWith('data:image/png'),
          );
          await Promise.all(imgs.map((i) => (i.complete ? null : new Promise((r) => (i.onload = i.onerror = r)))));
          const tables = nb.node.querySelectorAll('.jp-OutputArea-output table').length;
          const figures = imgs.map((img) => {
            const c = document.createElement('canvas');
            c.width = img.naturalWidth;
            c.height = img.naturalHeight;
            const ctx = c.getContext('2d');
            ctx.drawImage(img, 0, 0);
            const px = c.width ? ctx.getImageData(0, 0, c.width, c.height).data : [];
            const colours = new Set();
            let inked = 0;
            for (let k = 0; k < px.length; k += 16) {
              colours.add((px[k] << 16) | (px[k + 1] << 8) | px[k + 2]);
              if (px[k] + px[k + 1] + px[k + 2] < 600) inked++;
            }
            return {
              w: img.naturalWidth,
              shownW: img.getBoundingClientRect().width,
              colours: colours.size,
              inked: inked / Math.max(1, px.length / 16),
              inSanitisedHtml: img.closest('.jp-RenderedHTMLCommon') !== null,
            };
          });
          return { figures, tables };
        }, book);
        const milkitShown = stats.figures.filter((s) => s.inSanitisedHtml);
        assert(
          stats.tables >= tables[book],
          `${stats.tables} tables shown in sanitised HTML, ${tables[book]} results tables expected`,
        );
        assert(
          milkitShown.length >= expected[book],
          `${milkitShown.length} figures shown in sanitised HTML, ${expected[book]} expected`,
        );
        for (const [k, s] of stats.figures.entries()) {
          assert(s.w > 50 && s.shownW > 50, `image ${k}: ${s.w} px wide, shown ${s.shownW} px`);
          assert(
            s.colours >= 4 && s.inked > 0.01,
            `image ${k} looks blank: ${s.colours} colours, ${(100 * s.inked).toFixed(1)} % inked`,
          );
        }
        const svgs = await page.evaluate(
          (f) =>
            [...window.jupyterapp.shell.widgets('main')]
              .find((w) => w.context?.path === f)
              .node.querySelectorAll('.jp-OutputArea-output svg').length,
          book,
        );
        assertEqual(svgs, 0, 'no (stripped) SVG expected in untrusted outputs');
        // The screenshot shows the first milkit figure (for a person to look at, as shared).
        await page.evaluate((f) => {
          const nb = [...window.jupyterapp.shell.widgets('main')].find((w) => w.context?.path === f);
          nb.node.querySelector('.jp-RenderedHTMLCommon img')?.scrollIntoView();
        }, book);
        await page.screenshot({ path: path.join(out, `untrusted-${book.replace('.ipynb', '')}.png`) });
        await page.evaluate(() => window.jupyterapp.commands.execute('application:close-all'));
      },
    );
  }
  await t.test('no console errors', async () => assert(errors.length === 0, errors.join('\n')));
} finally {
  await browser.close();
  await lab.stop();
}
const { failed } = t.summary();
process.exit(failed ? 1 : 0);
