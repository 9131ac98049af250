/**
 * The JupyterLab extension's pure helpers (no DOM, no plotly): colour arithmetic and the palettes
 * chosen with it, ranking, the masking preview's and slide view's cell grids, the code the slide
 * view sends the kernel, and the texts the views show.
 * The renderers themselves are tested in a real browser (scripts/test-browser.sh).
 */
import { strict as assert } from 'node:assert';
import { contrast, deltaE, lab, luminance, over, parseColour } from '../../jupyterlab-plugin/src/colour.js';
import {
  describeBag,
  plotText,
  progressLine,
  seconds,
  sliderValue,
  topInstances,
} from '../../jupyterlab-plugin/src/format.js';
import { cellPixels, layoutCells } from '../../jupyterlab-plugin/src/grid.js';
import { rankScores } from '../../jupyterlab-plugin/src/ranking.js';
import { patchCode } from '../../jupyterlab-plugin/src/kernel.js';
import { slideGrid } from '../../jupyterlab-plugin/src/slideGrid.js';
import { MASK_COLORS } from '../../jupyterlab-plugin/src/theme.js';

const close = (a: number, b: number, tol: number, what: string) =>
  assert.ok(Math.abs(a - b) <= tol, `${what}: ${a} vs ${b}`);

describe('jupyterlab-plugin colour arithmetic', () => {
  it('parses the colour forms browsers and plotly produce', () => {
    assert.deepEqual(parseColour('#fff'), [255, 255, 255, 1]);
    assert.deepEqual(parseColour('#1098AD'), [16, 152, 173, 1]);
    assert.deepEqual(parseColour('rgb(17, 17, 17)'), [17, 17, 17, 1]);
    assert.deepEqual(parseColour('rgba(255, 255, 255, 0.87)'), [255, 255, 255, 0.87]);
    assert.deepEqual(parseColour('rgb(0 0 0 / 50%)'), [0, 0, 0, 0.5]);
    assert.throws(() => parseColour('transparent'), /unsupported colour/);
  });

  it('WCAG contrast: the reference pairs', () => {
    close(contrast('#000', '#fff'), 21, 1e-9, 'black on white');
    close(contrast('#fff', '#fff'), 1, 1e-9, 'white on white');
    close(contrast('#777777', '#ffffff'), 4.48, 0.01, '#777 on white (the classic just-failing grey)');
    // translucent text is composited first: rgba(0,0,0,.54) on white is #757575
    close(contrast('rgba(0, 0, 0, 0.54)', '#fff'), contrast('#757575', '#fff'), 0.02, 'alpha compositing');
    assert.deepEqual(over([0, 0, 0, 0.5], [255, 255, 255, 1]), [127.5, 127.5, 127.5, 1]);
    close(luminance([255, 255, 255, 1]), 1, 1e-12, 'white luminance');
  });

  it('CIELAB ΔE: white is L*=100, black 0, and the difference of the two is 100', () => {
    const white = lab([255, 255, 255, 1]);
    close(white[0], 100, 1e-4, 'L* of white');
    close(Math.hypot(white[1], white[2]), 0, 1e-3, 'white is neutral');
    close(deltaE('#000', '#fff'), 100, 1e-4, 'ΔE black/white');
    assert.equal(deltaE('#1098ad', '#1098ad'), 0);
  });

  it('Viridis ends stay clearly different from both JupyterLab page colours (the numbers in theme.ts)', () => {
    for (const end of ['#440154', '#fde725']) {
      assert.ok(deltaE(end, '#ffffff') >= 56, `${end} on white`);
      assert.ok(deltaE(end, '#111111') >= 46, `${end} on the dark page`);
    }
    // …although by luminance alone each theme has one end near its page
    assert.ok(contrast('#fde725', '#ffffff') < 1.3 && contrast('#440154', '#111111') < 1.3);
  });

  it('masking palettes: every status ≥ 3:1 against "kept", "kept" visible on its page', () => {
    const pages = { light: '#ffffff', dark: '#111111' } as const;
    for (const theme of ['light', 'dark'] as const) {
      const { kept, ...statuses } = MASK_COLORS[theme];
      for (const [name, colour] of Object.entries(statuses))
        assert.ok(contrast(colour, kept) >= 3, `${theme} ${name}: ${contrast(colour, kept).toFixed(2)}`);
      assert.ok(deltaE(kept, pages[theme]) >= 10, `${theme} kept vs page`);
    }
  });
});

describe('jupyterlab-plugin ranking and grid', () => {
  it('rankScores: 1-based ranks, highest first, ties by index (against a plain sort)', () => {
    const scores = [0.2, 0.9, 0.2, 0.5, 0.9, 0];
    const { order, rank } = rankScores(scores);
    assert.deepEqual([...order], [1, 4, 3, 0, 2, 5]);
    assert.deepEqual([...rank], [4, 1, 5, 3, 2, 6]);
    const random = Array.from({ length: 500 }, (_, i) => Math.round(Math.sin(i * 12.9898) * 1000) / 100);
    const ref = random
      .map((s, i) => [s, i])
      .sort((a, b) => b[0] - a[0] || a[1] - b[1])
      .map(([, i]) => i);
    assert.deepEqual([...rankScores(random).order], ref);
  });

  it('layoutCells: patch coordinates → cells relative to the top-left patch, holes stay empty', () => {
    const coords = [512, 256, 768, 256, 1280, 768]; // patch 256, the third two columns and two rows further
    const g = layoutCells({ n: 3, coords, patchSize: 256, scores: [0.1, 0.2, 0.3] });
    assert.deepEqual([...g.col], [0, 1, 3]);
    assert.deepEqual([...g.row], [0, 0, 2]);
    assert.equal(g.cols, 4);
    assert.equal(g.rows, 3);
  });

  it('layoutCells without coordinates: a strip in rank order, highest score top-left', () => {
    const scores = Array.from({ length: 25 }, (_, i) => (i * 7) % 25);
    const g = layoutCells({ n: 25, scores });
    assert.equal(g.cols, 10); // at least 10 columns
    assert.equal(g.rows, 3);
    const best = scores.indexOf(24);
    assert.equal(g.col[best], 0);
    assert.equal(g.row[best], 0);
    const worst = scores.indexOf(0);
    assert.equal(g.row[worst] * g.cols + g.col[worst], 24);
  });

  it('cellPixels: the grid fits about 480 px, cells 1–24 px', () => {
    assert.equal(cellPixels({ cols: 10, rows: 5 }), 24);
    assert.equal(cellPixels({ cols: 150, rows: 100 }), 3);
    assert.equal(cellPixels({ cols: 5000, rows: 3 }), 1);
  });
});

describe('jupyterlab-plugin texts', () => {
  it('plotText escapes what plotly would read as markup', () => {
    assert.equal(plotText('<img src=x onerror=alert(1)> & <b>'), '&lt;img src=x onerror=alert(1)&gt; &amp; &lt;b&gt;');
  });

  it('sliderValue shows as many decimals as the step', () => {
    assert.equal(sliderValue(0.05, 0.005), '0.050');
    assert.equal(sliderValue(0.5, 0.05), '0.50');
    assert.equal(sliderValue(0.3, 0.01), '0.30');
    assert.equal(sliderValue(7, 1), '7');
  });

  it('seconds: short and long durations, no "60 s" carry slip', () => {
    assert.equal(seconds(12.34), '12.3 s');
    assert.equal(seconds(245), '4 min 05 s');
    assert.equal(seconds(119.6), '2 min 00 s');
  });

  it('describeBag and topInstances', () => {
    assert.equal(
      describeBag({ n: 3, bagLabel: 1, bagProbabilities: [0.25, 0.75] }),
      '3 instances · label 1 · predicted 0.250 / 0.750 · no coordinates: ranked strip',
    );
    const scores = [0.1, 0.7, 0.3];
    const lines = topInstances(
      { top: 2, coords: [0, 0, 256, 0, 512, 0], instanceLabels: [0, 1, 0] },
      scores,
      rankScores(scores).order,
    );
    assert.deepEqual(lines, [
      '#1 instance 1 · 0.7000 at (256, 0) · label 1',
      '#2 instance 2 · 0.3000 at (512, 0) · label 0',
    ]);
  });

  it('progressLine: running and done', () => {
    assert.equal(progressLine(undefined, false), 'starting…');
    const p = {
      fold: 2,
      folds: 5,
      epoch: 3,
      epochs: 10,
      step: 4,
      steps: 8,
      elapsedSeconds: 75,
      etaSeconds: 30,
      rate: 12.345,
      message: 'warm-up',
    };
    // The payload's fold is 0-based (fold index 2 = the third fold); people count from 1.
    assert.equal(
      progressLine(p, false),
      'fold 3/5 · epoch 3/10 · step 4/8 · 1 min 15 s elapsed · ~30.0 s left · 12.3 bags/s · warm-up',
    );
    assert.equal(
      progressLine(p, true),
      'done · fold 3/5 · epoch 3/10 · step 4/8 · 1 min 15 s elapsed · 12.3 bags/s · warm-up',
    );
    // The trainer's final message is "done": said once, not "done · … · done".
    assert.equal(progressLine({ ...p, message: 'done' }, true).match(/done/g)?.length, 1);
  });
});

describe('jupyterlab-plugin slide grid', () => {
  const slide = { width: 1000, height: 700 };

  it('a tiling without overlap from (0, 0): one cell per patch, the patch side per cell', () => {
    const g = slideGrid([0, 0, 256, 0, 512, 256], 256, slide);
    assert.deepEqual([g.step, g.span, g.origin, g.cols, g.rows], [256, 1, [0, 0], 4, 3]);
    assert.deepEqual(
      [Array.from(g.col), Array.from(g.row)],
      [
        [0, 1, 2],
        [0, 0, 1],
      ],
    );
  });

  it('patches tiled with overlap cover their own cells, never one another (step 192 of 256 px)', () => {
    // 256-px patches every 192 px: the step is gcd(256, 192) = 64 px, each patch spans 4 cells.
    const g = slideGrid([0, 0, 192, 0, 384, 0, 0, 192], 256, slide);
    assert.deepEqual([g.step, g.span], [64, 4]);
    assert.deepEqual(
      [Array.from(g.col), Array.from(g.row)],
      [
        [0, 3, 6, 0],
        [0, 0, 0, 3],
      ],
    );
    // Distinct cells for distinct patches: a round(x / patch size) grid put patches 0 and 1 both in column 1 or 0.
    assert.equal(new Set(Array.from(g.col, (c, i) => `${c},${g.row[i]}`)).size, 4);
  });

  it('a grid not anchored at (0, 0) keeps its offset, so the cells sit over their tissue', () => {
    const g = slideGrid([100, 50, 356, 50], 256, slide);
    assert.deepEqual([g.step, g.span, g.origin], [256, 1, [100, 50]]);
    assert.deepEqual(Array.from(g.col), [0, 1]);
    // Level-0 position of a patch = origin + col * step: exactly its coordinates.
    assert.equal(g.origin[0] + g.col[1] * g.step, 356);
  });

  it('coordinates off every grid snap to 1/16 of a patch; huge slides get coarser cells', () => {
    const g = slideGrid([0, 0, 3, 7], 256, slide);
    assert.equal(g.step, 16);
    const big = slideGrid([0, 0, 64, 0], 256, { width: 400_000, height: 300_000 });
    assert.ok(big.cols * big.rows <= 2 ** 22 + big.cols + big.rows, `${big.cols} × ${big.rows} cells`);
  });
});

describe('jupyterlab-plugin kernel request', () => {
  it('the code is fixed: output data enters only as a JSON string literal and whole numbers', () => {
    const code = patchCode({ source: 'a "b".svs', x: 256, y: 512, size: 256, width: 2220, height: 2967 });
    assert.equal(
      code,
      '{ const milkit = await import("milkit-kernel"); ' +
        'await milkit.showSlidePatch("a \\"b\\".svs", 256, 512, 256, { width: 2220, height: 2967 }); }',
    );
    const evil = '"); require("child_process").execSync("touch /tmp/x"); ("';
    assert.ok(patchCode({ source: evil, x: 0, y: 0, size: 1, width: 1, height: 1 }).includes(JSON.stringify(evil)));
    assert.throws(
      () => patchCode({ source: 's', x: '0); evil(' as unknown as number, y: 0, size: 1, width: 1, height: 1 }),
      /x must be a whole number/,
    );
    assert.throws(() => patchCode({ source: 's', x: 1.5, y: 0, size: 1, width: 1, height: 1 }), /whole number/);
  });
});
