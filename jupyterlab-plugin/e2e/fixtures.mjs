// Test inputs built with milkit's own code (dist/core.js): payloads for every view, and the
// masking counts the library computes for them, so the browser test compares against the library.
import { createRequire } from 'node:module';
const require = createRequire(import.meta.url);
const core = require('../../dist/core.js');

/** A bag on a W×H patch grid with smooth "attention" blobs (deterministic from the seed). */
export function gridBag(id, w, h, seed, patch = 256) {
  const rng = new core.Rng(seed);
  const n = w * h;
  const coords = new Array(2 * n);
  const attention = new Array(n);
  const probability = new Array(n);
  const blobs = Array.from({ length: 3 }, () => [rng.uniform(0, w), rng.uniform(0, h), rng.uniform(2, 6)]);
  for (let i = 0; i < n; i++) {
    const x = i % w;
    const y = Math.floor(i / w);
    coords[2 * i] = x * patch;
    coords[2 * i + 1] = y * patch;
    let a = 0.05 * rng.next();
    for (const [bx, by, r] of blobs) a += Math.exp(-((x - bx) ** 2 + (y - by) ** 2) / (2 * r * r));
    attention[i] = a;
    probability[i] = 1 / (1 + Math.exp(-4 * (a - 0.5)));
  }
  const sum = attention.reduce((s, v) => s + v, 0);
  return { id, label: 1, coords, attention: attention.map((v) => v / sum), probability };
}

export function attentionPayload(bag, top = 8) {
  return core.attentionView(
    bag,
    { attention: bag.attention, probability: bag.probability, bagProbabilities: [0.12, 0.88] },
    { title: `Attention, bag ${bag.id}`, top },
  );
}

export function maskingPayload(bag, settings = {}) {
  return core.maskingView(
    bag,
    bag.probability,
    { strategy: 'rhsm', highRatio: 0.05, highRandomRatio: 0.5, seed: 7, ...settings },
    { title: `Masking, bag ${bag.id}` },
  );
}

/** What the library masks for a payload's (rounded) scores under the given settings. */
export function expectedCounts(payload, settings) {
  return core.previewMask(payload.scores, { ...payload.settings, ...settings }).counts;
}

export function trainingPayload() {
  const curves = new core.TrainingCurves('AB-MIL on MUSK1 (fixture)');
  for (let e = 1; e <= 10; e++) {
    curves.add('loss', 'train', e, 0.7 * Math.exp(-e / 4) + 0.1);
    curves.add('loss', 'val', e, 0.7 * Math.exp(-e / 5) + 0.15);
    curves.add('auc', 'val', e, 0.6 + 0.03 * e);
  }
  curves.setProgress({ epoch: 10, epochs: 10, elapsedSeconds: 12.5, rate: 7.9 });
  return curves.finish(resultsPayload()).view();
}

export function resultsPayload() {
  return core.resultsView({
    title: 'MUSK1, 10-fold CV (fixture)',
    columns: ['AUC', 'accuracy'],
    rows: [
      {
        label: 'AB-MIL',
        cells: [
          [0.9, 0.85, 0.88],
          [0.82, 0.8, 0.85],
        ],
      },
      {
        label: 'MHIM-v2(AB-MIL)',
        cells: [
          [0.93, 0.9, 0.91],
          [0.86, 0.84, 0.88],
        ],
      },
    ],
  });
}

export const VIZ_MIME = core.VIZ_MIME;

/** A notebook (nbformat 4) whose outputs are already stored, as nbconvert would save them. */
export function notebookWithOutputs(outputs) {
  return {
    nbformat: 4,
    nbformat_minor: 5,
    metadata: {
      kernelspec: { name: 'tslab', display_name: 'TypeScript', language: 'typescript' },
      language_info: { name: 'typescript' },
    },
    cells: outputs.map((data, i) => ({
      cell_type: 'code',
      id: `fixture-${i}`,
      metadata: {},
      execution_count: null,
      source: [`// stored output ${i}`],
      outputs: [{ output_type: 'display_data', metadata: {}, data }],
    })),
  };
}

/**
 * In the page: how many grid cells of a heatmap canvas are painted (not the empty background) and
 * how many distinct colours they use, read from the canvas pixels at each cell's centre.
 */
export function heatmapCells(box) {
  const c = box.querySelector('canvas.milkit-heatmap-canvas');
  const px = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
  const cell = Number(c.dataset.cell);
  const colours = new Set();
  let drawn = 0;
  for (let y = cell / 2; y < c.height; y += cell)
    for (let x = cell / 2; x < c.width; x += cell) {
      const o = 4 * (Math.floor(y) * c.width + Math.floor(x));
      const rgb = `${px[o]},${px[o + 1]},${px[o + 2]}`;
      if (rgb !== c.dataset.empty) {
        drawn++;
        colours.add(rgb);
      }
    }
  return { drawn, colours: colours.size };
}

/**
 * Runs in the page (pass to `box.evaluate`): times 30 updates of the threshold and of the opacity
 * slider of a milkit view, one animation frame apart, as { median, p25, max } ms per slider.
 */
export async function sliderFrames(box) {
  const res = {};
  for (const cls of ['threshold', 'opacity']) {
    const input = box.querySelector(`.milkit-slider-${cls} input`);
    const ms = [];
    for (let i = 0; i < 30; i++) {
      input.value = String(cls === 'threshold' ? (i % 10) / 10 : 0.2 + (i % 8) / 10);
      const t0 = performance.now();
      input.dispatchEvent(new Event('input', { bubbles: true }));
      ms.push(performance.now() - t0);
      await new Promise((r) => requestAnimationFrame(r));
    }
    ms.sort((x, y) => x - y);
    res[cls] = { median: ms[15], p25: ms[7], max: ms[29] };
  }
  return res;
}
