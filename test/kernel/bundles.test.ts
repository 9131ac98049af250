/**
 * milkit-kernel: the MIME bundles (custom JSON + self-contained HTML/SVG + text) and their delivery
 * through tslab's display channel (the real tslab module, with its writer captured).
 */
import { strict as assert } from 'node:assert';
import { inspect } from 'node:util';
import { PNG } from 'pngjs';
import {
  MASK_STATUS,
  Rng,
  TrainEventStream,
  VIZ_MIME,
  parseViz,
  rankInstances,
  renderAttention,
  renderMasking,
  renderTraining,
} from 'milkit/core';
import { PNG_SCALE, show, toBundle } from '../../kernel-ext/src';

// eslint-disable-next-line @typescript-eslint/no-require-imports -- tslab's display hook is an untyped internal module
const jupyter = require('tslab/dist/jupyter') as { lastWriteDisplayData: unknown };

interface Sent {
  msg: { data: Record<string, unknown>; transient: { display_id?: string } };
  update: boolean;
}

/** Captures what the kernel would send while `fn` runs (as inside a tslab cell). */
function capture(fn: () => void): Sent[] {
  const sent: Sent[] = [];
  jupyter.lastWriteDisplayData = (msg: Sent['msg'], update: boolean) => sent.push({ msg, update });
  try {
    fn();
  } finally {
    jupyter.lastWriteDisplayData = discard;
  }
  return sent;
}

/** Outside `capture`, displays go nowhere (as in a kernel whose output nobody reads), so tests print nothing. */
const discard = () => undefined;

function softmaxScores(n: number, seed: number): Float32Array {
  const rng = new Rng(seed);
  const raw = Float32Array.from({ length: n }, () => Math.exp(2 * rng.normal()));
  const sum = raw.reduce((a, b) => a + b, 0);
  return raw.map((v) => v / sum);
}

function grid(n: number, step: number): Int32Array {
  const side = Math.ceil(Math.sqrt(n));
  return Int32Array.from({ length: 2 * n }, (_, k) =>
    k % 2 === 0 ? (Math.floor(k / 2) % side) * step : Math.floor(k / 2 / side) * step,
  );
}

/**
 * A fallback must render in a plain viewer and survive JupyterLab's sanitiser (untrusted notebooks):
 * no scripts, no external resources, no <svg> (stripped there), no ids (two outputs on one page
 * would capture each other's references); figures only as data-URI PNG images.
 */
function assertSelfContained(html: string): void {
  assert.ok(!/<script/i.test(html), 'no <script>');
  assert.ok(!/\son\w+=/i.test(html), 'no inline event handlers');
  assert.ok(!/<svg/i.test(html), 'no inline SVG');
  assert.ok(!/\sid=/i.test(html), 'no element ids');
  const urls = (html.match(/(?:href|src)="[^"]*"/g) ?? []).filter((u) => !u.startsWith('src="data:image/png;base64,'));
  assert.deepEqual(urls, [], 'no external references');
}

/**
 * The bundle's image/png: decodes, has the figure's size × PNG_SCALE, is the same image the HTML
 * shows, and is not blank (many colours, pixels far from the white background).
 */
function assertFigurePng(data: Record<string, unknown>, minColours = 8): PNG {
  const b64 = data['image/png'] as string;
  assert.equal(typeof b64, 'string', 'image/png present');
  assert.ok(
    (data['text/html'] as string).includes(`src="data:image/png;base64,${b64}"`),
    'the HTML shows the same PNG',
  );
  const png = PNG.sync.read(Buffer.from(b64, 'base64'));
  const colours = new Set<number>();
  let inked = 0;
  for (let i = 0; i < png.data.length; i += 4) {
    colours.add((png.data[i] << 16) | (png.data[i + 1] << 8) | png.data[i + 2]);
    if (png.data[i] + png.data[i + 1] + png.data[i + 2] < 600) inked++;
  }
  assert.ok(colours.size >= minColours, `only ${colours.size} colours`);
  assert.ok(
    inked / (png.width * png.height) > 0.02,
    `${((100 * inked) / (png.width * png.height)).toFixed(1)} % inked pixels`,
  );
  return png;
}

/** Number of unit cells drawn in an SVG grid (one `M…h1v1h-1z` per instance). */
function cellCount(html: string): number {
  return (html.match(/h1v1h-1z/g) ?? []).length;
}

describe('milkit-kernel bundles', () => {
  before(() => (jupyter.lastWriteDisplayData = discard));
  after(() => (jupyter.lastWriteDisplayData = null));
  it('attention: one bundle with the milkit JSON, a heatmap per score kind and the top instances', () => {
    const n = 64;
    const att = softmaxScores(n, 1);
    const bag = {
      id: 'slide-7',
      label: 1,
      coords: grid(n, 512),
      instanceLabels: Int32Array.from({ length: n }, (_, i) => (i % 9 === 0 ? 1 : 0)),
    };
    const sent = capture(() =>
      show.attention(bag, { attention: att, probability: att.map((a) => Math.min(1, 20 * a)) }, { top: 3 }),
    );
    assert.equal(sent.length, 1);
    assert.equal(sent[0].update, false);
    const data = sent[0].msg.data;
    assert.deepEqual(Object.keys(data).sort(), [VIZ_MIME.attention, 'image/png', 'text/html', 'text/plain'].sort());
    const payload = parseViz('attention', data[VIZ_MIME.attention]);
    assert.equal(payload.n, n);
    const html = data['text/html'] as string;
    assertSelfContained(html);
    const fig = renderAttention(payload).figure!;
    const png = assertFigurePng(data, 30);
    assert.deepEqual([png.width, png.height], [Math.ceil(fig.width * PNG_SCALE), Math.ceil(fig.height * PNG_SCALE)]);
    assert.equal(cellCount(fig.svg), 2 * n, 'both heatmaps draw every instance');
    assert.ok(fig.svg.includes('ROC, instances') && fig.svg.includes('precision–recall, instances'), 'instance curves');
    const top = rankInstances(payload.attention!).slice(0, 3);
    const text = data['text/plain'] as string;
    assert.ok(text.includes(`#${top[0]}=`) && text.includes(`#${top[2]}=`), text);
    assert.ok(text.includes('slide-7') && text.includes('64 instances'));
  });

  it('large bags colour attention and probability by percentile, so a few outliers do not flatten the map', () => {
    const n = 300;
    const att = softmaxScores(n, 4);
    // Class-aware probabilities: most near 0.5, a few confident ones (the colon heatmaps of notebook 03).
    const prob = Array.from(att, (a, i) => (i % 50 === 0 ? 0.9 : 0.5 + a));
    const html = renderAttention(
      show.attention({ id: 'b', coords: grid(n, 27) }, { attention: att, probability: prob }).payload,
    ).figure!.svg;
    assert.ok(html.includes('attention (percentile rank)') && html.includes('instance probability (percentile rank)'));
    const probabilityMap = html.slice(html.lastIndexOf('instance probability (percentile rank)'));
    const colours = new Set([...probabilityMap.matchAll(/<path fill="(#[0-9a-f]{6})"/g)].map((m) => m[1]));
    assert.ok(colours.size >= 12, `the probability map uses the colour range (${colours.size} colours)`);
  });

  it('attention without coordinates draws instance-ordered cells with their indices (MNIST-bags style)', () => {
    const bundle = toBundle('attention', show.attention({ id: 'b', label: 0 }, { attention: [0.1, 0.6, 0.3] }).payload);
    const html = bundle.data['text/html'] as string;
    const svg = renderAttention(parseViz('attention', bundle.data[VIZ_MIME.attention])).figure!.svg;
    assert.equal(cellCount(svg), 3);
    assert.ok(html.includes('no coordinates'));
    assert.ok(/>1<\/text>/.test(svg), 'instance indices are printed in the cells');
    assertFigurePng(bundle.data);
  });

  it('accepts tensors (anything with dataSync) as scores', () => {
    const fake = { dataSync: () => new Float32Array([0.2, 0.8]) };
    const shown = show.attention({ id: 'b' }, { attention: fake });
    assert.deepEqual(shown.payload.attention, [0.2, 0.8]);
  });

  it('masking: the fallback shows exactly the counts the library masking computes', () => {
    const n = 400;
    const s = softmaxScores(n, 2);
    const shown = show.masking({ id: 'b', coords: grid(n, 256) }, s, {
      strategy: 'combined',
      highRatio: 0.05,
      highRandomRatio: 0.5,
      randomRatio: 0.1,
      recycleKeepRatio: 0.9,
      epoch: 5,
      epochs: 20,
    });
    const c = shown.preview.counts;
    assert.equal(shown.payload.settings.decay, true);
    assert.equal(shown.payload.settings.progress, 0.25);
    assert.equal(c.kept + c.high + c.random + c.low + c.recycled, n);
    assert.equal(c.random, 40);
    assert.ok(c.recycled > 0 && c.high > 0);
    const html = shown.bundle.data['text/html'] as string;
    assertSelfContained(html);
    assertFigurePng(shown.bundle.data);
    const svg = renderMasking(shown.payload).figure!.svg;
    assert.equal(cellCount(svg), n);
    assert.ok(
      html.includes(`: ${c.kept}`) &&
        html.includes(`masked (random): ${c.random}`) &&
        svg.includes(`masked (random): ${c.random}`),
      'legends (HTML and in the figure) carry the counts',
    );
    assert.ok(svg.includes('high-score mask ratio'), 'the βh decay curve is drawn');
    assert.ok(html.includes('βh 0.05 → '), 'the title states the settings after decay');
    assert.ok(String(shown.bundle.data['text/plain']).includes(`high ${c.high}`));
    assert.equal(shown.preview.status.filter((v) => v === MASK_STATUS.recycled).length, c.recycled);
  });

  it('results: mean ± sd table, best value per column in bold, text table aligned', () => {
    const shown = show.results(
      { 'AB-MIL': { accuracy: [0.85, 0.9, 0.95], auc: [0.9, 0.92] }, 'mean pooling': { accuracy: [0.8, 0.82] } },
      { title: 'MUSK1' },
    );
    assert.deepEqual(shown.payload.columns, ['accuracy', 'auc']);
    const html = shown.bundle.data['text/html'] as string;
    assert.ok(html.includes('0.900 ± 0.050'));
    assert.ok(/font-weight:700">0\.900 ± 0\.050/.test(html), 'best accuracy in bold');
    const text = String(shown.bundle.data['text/plain']);
    assert.ok(text.startsWith('MUSK1\n'));
    assert.ok(text.includes('mean pooling  0.810 ± 0.014  –'), text);
    assert.equal(inspect(shown), `[milkit results view: MUSK1]`);
  });

  it('training: a live display updated in place from the trainer event stream, final table at the end', () => {
    const events = new TrainEventStream();
    let monitor!: ReturnType<typeof show.training>;
    const sent = capture(() => {
      monitor = show.training(events, { title: 'AB-MIL', minIntervalMs: 0 });
      events.emit({ type: 'run-start', repeats: 1, folds: 2, epochs: 3 });
      for (let fold = 0; fold < 2; fold++) {
        events.emit({ type: 'fold-start', repeat: 0, fold, trainBags: 8, valBags: 2, testBags: 2 });
        for (let epoch = 1; epoch <= 3; epoch++) {
          events.emit({ type: 'epoch-start', repeat: 0, fold, epoch, epochs: 3, lr: 1e-3, steps: 8 });
          for (let step = 1; step <= 8; step++) {
            events.emit({
              type: 'step',
              repeat: 0,
              fold,
              epoch,
              step,
              steps: 8,
              loss: 1 / step,
              instances: 10,
              bagsPerSecond: 20,
              instancesPerSecond: 200,
            });
          }
          events.emit({
            type: 'eval',
            repeat: 0,
            fold,
            epoch,
            split: 'val',
            loss: 0.5 / epoch,
            metrics: { auc: 0.7 + 0.05 * epoch },
          });
          events.emit({
            type: 'epoch-end',
            repeat: 0,
            fold,
            epoch,
            trainLoss: 0.6 / epoch,
            seconds: 0.4,
            monitor: 0.8,
            metric: 'auc',
            improved: true,
            stop: false,
          });
        }
        events.emit({
          type: 'fold-end',
          repeat: 0,
          fold,
          metrics: { auc: 0.85 },
          bestEpoch: 3,
          epochsRun: 3,
          interrupted: false,
        });
      }
      events.emit({ type: 'run-end', summary: { auc: { mean: 0.85, sd: 0.01, n: 2 } }, interrupted: false });
      events.emit({ type: 'run-start', repeats: 1, folds: 1, epochs: 1 }); // after run-end the monitor has unsubscribed
    });
    assert.ok(sent.length > 10);
    assert.equal(sent[0].update, false);
    assert.ok(
      sent.slice(1).every((s) => s.update),
      'every later message is update_display_data',
    );
    const ids = new Set(sent.map((s) => s.msg.transient.display_id));
    assert.equal(ids.size, 1, 'one display id');
    assert.equal(monitor.display.id, [...ids][0]);
    const mid = parseViz('training', sent[5].msg.data[VIZ_MIME.training]);
    assert.equal(mid.done, false);
    assert.equal(mid.progress!.fold, 0);
    const last = parseViz('training', sent[sent.length - 1].msg.data[VIZ_MIME.training]);
    assert.equal(last.done, true);
    assert.equal(last.summary!.rows[0].cells[0]!.mean, 0.85);
    const valAuc = last.series.filter((s) => s.metric === 'auc' && s.split === 'val');
    assert.equal(valAuc.length, 2, 'one val-AUC curve per fold');
    assert.deepEqual(valAuc[1].y, [0.75, 0.8, 0.85]);
    const html = sent[sent.length - 1].msg.data['text/html'] as string;
    assertSelfContained(html);
    assertFigurePng(sent[sent.length - 1].msg.data);
    const svg = renderTraining(last).figure!.svg;
    // Faint fold lines (loss: 2 folds × train, val; auc: 2 folds) plus one bold mean per split and metric.
    assert.equal((svg.match(/<polyline/g) ?? []).length, 6 + 3, 'fold lines and their means');
    assert.equal((svg.match(/stroke-opacity="0.3"/g) ?? []).length, 6, 'the fold lines are faint');
    assert.ok(svg.includes('train, mean of 2 folds') && svg.includes('one fold'), 'legend: splits and faint folds');
    assert.ok(String(sent[sent.length - 1].msg.data['text/plain']).includes('finished'));
  });

  it('training updates are throttled, but the end of the run is always drawn', () => {
    const events = new TrainEventStream();
    const sent = capture(() => {
      show.training(events, { minIntervalMs: 60_000 });
      events.emit({ type: 'run-start', repeats: 1, folds: 1, epochs: 1 });
      for (let step = 1; step <= 100; step++)
        events.emit({
          type: 'step',
          repeat: 0,
          fold: 0,
          epoch: 1,
          step,
          steps: 100,
          loss: 1,
          instances: 5,
          bagsPerSecond: 50,
          instancesPerSecond: 250,
        });
      events.emit({ type: 'run-end', summary: {}, interrupted: false });
    });
    assert.equal(sent.length, 2, 'first draw and the final one');
    assert.equal(parseViz('training', sent[1].msg.data[VIZ_MIME.training]).done, true);
  });

  it('a 15,000-instance attention bundle stays compact (JSON ≈ 0.5 MB, HTML fallback under 0.6 MB)', () => {
    const n = 15_000;
    const att = softmaxScores(n, 3);
    const t0 = performance.now();
    const shown = show.attention({ id: 'wsi', coords: grid(n, 256) }, { attention: att });
    const ms = performance.now() - t0;
    const json = JSON.stringify(shown.bundle.data[VIZ_MIME.attention]).length;
    const html = (shown.bundle.data['text/html'] as string).length;
    assert.ok(json < 0.5e6, `JSON ${json} bytes`);
    assert.ok(html < 0.6e6, `HTML ${html} bytes`);
    assert.ok(ms < 2000, `built in ${ms.toFixed(0)} ms`);
  });

  it('bad input fails in the cell with a clear message, not in the browser', () => {
    assert.throws(() => show.attention({ id: 'b', coords: [0, 0, 1, 1] }, { attention: [1] }), /coordinate pairs/);
    assert.throws(() => show.masking({ id: 'b' }, [0.5, 0.5], { highRatio: 2 }), /settings\.highRatio/);
  });
});
