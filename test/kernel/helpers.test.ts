/**
 * Every milkit-kernel display helper, enumerated: each output it sends (every update of a live
 * display too) carries its figure as image/png with content, which is what image-only viewers
 * (PNG-only exports, GitHub-style renderers) show, next to HTML and text/plain; a photograph (a
 * tissue patch) as image/jpeg. A helper added without a case here fails the first test.
 */
import { strict as assert } from 'node:assert';
import * as path from 'node:path';
import { PNG } from 'pngjs';
import { TrainEventStream, VIZ_MIME, parseViz, renderResults } from 'milkit/core';
import { writeReproduction } from '../../src/train/reproduction';
import * as kernel from '../../kernel-ext/src';
import { tempDir } from '../helpers/tmp';
import { syntheticSlide, writePng } from '../slides/fixtures';

// eslint-disable-next-line @typescript-eslint/no-require-imports -- jpeg-js ships no type declarations
const { decode: decodeJpeg } = require('jpeg-js') as {
  decode(b: Buffer): { width: number; height: number; data: Uint8Array };
};

// eslint-disable-next-line @typescript-eslint/no-require-imports -- tslab's display hook is an untyped internal module
const jupyter = require('tslab/dist/jupyter') as { lastWriteDisplayData: unknown };

type Data = Record<string, unknown>;
interface Sent {
  data: Data;
  metadata: Record<string, { width: number; height: number }>;
}

/** What the kernel would send while `fn` runs (as inside a tslab cell). */
async function capture(fn: () => unknown): Promise<Sent[]> {
  const sent: Sent[] = [];
  jupyter.lastWriteDisplayData = (msg: Sent) => sent.push(msg);
  try {
    await fn();
  } finally {
    jupyter.lastWriteDisplayData = null;
  }
  return sent;
}

const { show } = kernel;
const dir = tempDir('milkit-kernel-helpers-');
const bag = { id: 'b7', label: 1, coords: Int32Array.from({ length: 72 }, (_, k) => (k % 2 ? 256 * (k >> 3) : 0)) };
const scores = Array.from({ length: 36 }, (_, i) => (i * 7919) % 36);
const TABLE = {
  title: 'MUSK1, 5 × 10-fold',
  caption: 'mean ± sd over 50 folds; best per column in bold',
  columns: ['accuracy', 'auc'],
  rows: [
    { label: 'AB-MIL', cells: [[0.85, 0.9, 0.95], { mean: 0.93, sd: 0.05 }] },
    { label: 'gated AB-MIL', cells: [[0.87, 0.91], { mean: 0.95, sd: 0.04 }] },
    { label: 'mean pooling', cells: [[0.8, 0.82], null] },
  ],
};

function trainingRun(events: TrainEventStream): void {
  events.emit({ type: 'run-start', repeats: 1, folds: 1, epochs: 2 });
  events.emit({ type: 'fold-start', repeat: 0, fold: 0, trainBags: 8, valBags: 2, testBags: 2 });
  for (let epoch = 1; epoch <= 2; epoch++) {
    events.emit({ type: 'epoch-start', repeat: 0, fold: 0, epoch, epochs: 2, lr: 1e-3, steps: 8 });
    const metrics = { auc: 0.6 + 0.1 * epoch };
    events.emit({ type: 'eval', repeat: 0, fold: 0, epoch, split: 'val', loss: 0.6 / epoch, metrics });
    events.emit({
      type: 'epoch-end',
      repeat: 0,
      fold: 0,
      epoch,
      trainLoss: 0.7 / epoch,
      seconds: 0.1,
      monitor: metrics.auc,
      metric: 'auc',
      improved: true,
      stop: false,
    });
  }
  events.emit({
    type: 'fold-end',
    repeat: 0,
    fold: 0,
    metrics: { auc: 0.8 },
    bestEpoch: 2,
    epochsRun: 2,
    interrupted: false,
  });
  events.emit({ type: 'run-end', summary: { auc: { mean: 0.8, sd: 0, n: 1 } }, interrupted: false });
}

/** One case per helper: a typical call. */
const CASES: Record<string, () => unknown> = {
  'show.attention': () => show.attention(bag, { attention: scores, probability: scores.map((s) => s / 36) }),
  'show.masking': () => show.masking(bag, scores, { strategy: 'combined', highRatio: 0.1, randomRatio: 0.1 }),
  'show.training': () => {
    const events = new TrainEventStream();
    show.training(events, { title: 'AB-MIL', minIntervalMs: 0 });
    trainingRun(events);
  },
  'show.results': () => show.results(TABLE),
  'show.reproduction': () => {
    const file = writeReproduction(dir, 'musk1', TABLE, {
      command: 'npm run reproduce:musk1',
      protocol: '5 × 10-fold CV',
      published: { source: 'Ilse et al. 2018', values: { 'AB-MIL': { accuracy: 0.892 } } },
    });
    show.reproduction(file, { command: 'unused' });
    show.reproduction(path.join(dir, 'absent.json'), { command: 'npm run reproduce:absent' });
  },
  'show.curve': () =>
    show.curve({
      columns: ['auc'],
      rows: [0, 0.01, 0.1].map((b, i) => ({ label: `βh = ${b}`, cells: [[0.8 + 0.05 * i, 0.82 + 0.05 * i]] })),
    }),
  showSlidePatch: () => {
    const slide = path.join(dir, 'patch-slide.png');
    writePng(slide, syntheticSlide(512, 384, 150, 20));
    return kernel.showSlidePatch(slide, 192, 128, 128);
  },
  showSlideHeatmap: () => {
    const slide = path.join(dir, 'slide.png');
    writePng(slide, syntheticSlide(512, 384, 150, 20));
    const coords = Int32Array.from({ length: 48 }, (_, k) =>
      k % 2 ? 64 * Math.floor(k / 16) + 96 : 64 * ((k >> 1) % 8),
    );
    return kernel.showSlideHeatmap(
      slide,
      Float32Array.from({ length: 24 }, (_, i) => i),
      coords,
      { patchSize: 64 },
    );
  },
};

/**
 * Helpers that show a photograph (a tissue patch) rather than a figure: it travels as image/jpeg,
 * which every image-only viewer shows as well, at a tenth of a PNG's size; text/plain beside it.
 */
const PHOTOS = new Set(['showSlidePatch']);

function assertPhoto(s: Sent, what: string): void {
  const meta = s.metadata['image/jpeg'];
  const jpeg = decodeJpeg(Buffer.from(String(s.data['image/jpeg']), 'base64'));
  assert.deepEqual([jpeg.width, jpeg.height], [meta.width, meta.height], `${what}: JPEG at its stated size`);
  const values = new Set(jpeg.data.filter((_, i) => i % 4 === 1));
  assert.ok(values.size > 20, `${what}: ${values.size} green levels: blank?`);
  assert.ok(String(s.data['text/plain'] ?? '').trim(), `${what}: text/plain`);
}

/** The image/png decodes at its metadata size × PNG_SCALE and is not blank (colours, ink). */
function assertPng(s: Sent, what: string): PNG {
  const b64 = s.data['image/png'];
  assert.equal(typeof b64, 'string', `${what}: image/png (has ${Object.keys(s.data).join(', ')})`);
  const png = PNG.sync.read(Buffer.from(b64 as string, 'base64'));
  const meta = s.metadata['image/png'];
  assert.ok(meta, `${what}: image/png metadata (its size at 1×)`);
  const scale = png.width / meta.width;
  assert.ok(
    scale >= 1 && Math.abs(png.height / meta.height - scale) < 0.05,
    `${what}: ${png.width} × ${png.height} px`,
  );
  const colours = new Set<number>();
  let inked = 0;
  for (let i = 0; i < png.data.length; i += 4) {
    colours.add((png.data[i] << 16) | (png.data[i + 1] << 8) | png.data[i + 2]);
    if (png.data[i] + png.data[i + 1] + png.data[i + 2] < 600) inked++;
  }
  const share = inked / (png.width * png.height);
  assert.ok(colours.size >= 8 && share > 0.01, `${what}: ${colours.size} colours, ${(100 * share).toFixed(1)} % inked`);
  return png;
}

/** Rows of pixels holding ink, grouped into bands (one per line of text or rule). */
function inkBands(png: PNG): number {
  let bands = 0;
  let inBand = false;
  for (let y = 0; y < png.height; y++) {
    let dark = false;
    for (let x = 0; x < png.width && !dark; x++) {
      const i = 4 * (y * png.width + x);
      dark = png.data[i] + png.data[i + 1] + png.data[i + 2] < 384;
    }
    if (dark && !inBand) bands++;
    inBand = dark;
  }
  return bands;
}

describe('milkit-kernel: every display helper sends image/png', () => {
  after(() => (jupyter.lastWriteDisplayData = null));

  it('the cases cover every helper milkit-kernel exports', () => {
    const helpers = [
      ...Object.keys(show).map((k) => `show.${k}`),
      ...Object.entries(kernel)
        .filter(([k, v]) => /^show[A-Z]/.test(k) && typeof v === 'function')
        .map(([k]) => k),
    ];
    assert.deepEqual(helpers.sort(), Object.keys(CASES).sort());
  });

  for (const [name, run] of Object.entries(CASES)) {
    const image = PHOTOS.has(name) ? 'its JPEG' : 'a PNG with content, HTML';
    it(`${name}: every output carries ${image} and text`, async () => {
      const sent = await capture(run);
      assert.ok(sent.length > 0, 'something was displayed');
      sent.forEach((s, k) => {
        const what = `${name}, output ${k + 1} of ${sent.length}`;
        if (PHOTOS.has(name)) return assertPhoto(s, what);
        assertPng(s, what);
        const html = String(s.data['text/html']);
        assert.ok(!/<svg/i.test(html), `${what}: no SVG in the HTML (untrusted notebooks strip it)`);
        assert.ok(String(s.data['text/plain'] ?? '').trim(), `${what}: text/plain`);
        // Tables and notices show their words as HTML text; every other figure shows that very PNG.
        const notice = /not measured yet|could not read/.test(String(s.data['text/plain']));
        const textual = VIZ_MIME.results in s.data || notice;
        if (textual) assert.ok(/<table|<div/.test(html) && !html.includes('<img'), `${what}: HTML shows the text`);
        else
          assert.ok(html.includes(`src="data:image/png;base64,${s.data['image/png']}"`), `${what}: HTML shows the PNG`);
      });
    });
  }

  it('a results table as PNG: a line of ink per row, header and caption, as wide as its longest row', async () => {
    const [s] = await capture(() => show.results(TABLE));
    const png = assertPng(s, 'results');
    // Title, header, the rule under it, three rows and the caption's line.
    assert.ok(inkBands(png) >= 1 + 1 + 3 + 1, `${inkBands(png)} bands of ink`);
    // The figure draws what the HTML table holds, the best value per column in bold.
    const svg = renderResults(parseViz('results', s.data[VIZ_MIME.results])).figure!.svg;
    const html = String(s.data['text/html']);
    for (const cell of ['0.900 ± 0.050', '0.950 ± 0.040', '–', 'gated AB-MIL'])
      assert.ok(html.includes(cell) && svg.includes(`>${cell}<`), `the table and its figure have ${cell}`);
    assert.ok(html.includes(TABLE.caption) && svg.includes(TABLE.caption), 'the caption, in both');
    assert.ok(svg.includes('font-weight="bold">0.950 ± 0.040'), 'the best AUC is bold in the figure');
  });

  it('a training view before its first curve point still sends a figure saying where training stands', async () => {
    const events = new TrainEventStream();
    const sent = await capture(() => {
      show.training(events, { minIntervalMs: 0 });
      events.emit({ type: 'run-start', repeats: 1, folds: 5, epochs: 3 });
    });
    assertPng(sent[0], 'training before its first point');
    assert.ok(String(sent[0].data['text/plain']).includes('training'));
  });
});
