import { strict as assert } from 'node:assert';
import {
  MASK_STATUS,
  MAX_INSTANCES,
  Rng,
  TrainingCurves,
  VIZ_MIME,
  VizSchemaError,
  attentionView,
  maskingView,
  parseViz,
  patchStep,
  previewMask,
  rankInstances,
  resultsView,
  roundSig,
  selectMask,
  splitForRecycle,
  formatCell,
} from '../../src/core';

function scores(n: number, seed = 1): Float32Array {
  const rng = new Rng(seed);
  const raw = Float32Array.from({ length: n }, () => Math.exp(3 * rng.normal()));
  const sum = raw.reduce((a, b) => a + b, 0);
  return raw.map((v) => v / sum);
}

function grid(n: number, step = 256): Int32Array {
  const side = Math.ceil(Math.sqrt(n));
  return Int32Array.from({ length: 2 * n }, (_, k) =>
    k % 2 === 0 ? (Math.floor(k / 2) % side) * step : Math.floor(k / 2 / side) * step,
  );
}

function throwsSchema(fn: () => unknown, ...fragments: string[]): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof VizSchemaError, `expected VizSchemaError, got ${err}`);
    for (const f of fragments) assert.ok(err.message.includes(f), `message "${err.message}" lacks "${f}"`);
    return true;
  });
}

describe('viz schemas', () => {
  it('rounds to significant digits, so tiny attention weights stay distinct', () => {
    assert.equal(roundSig(0.000123456), 0.0001235);
    assert.equal(roundSig(123.456), 123.5);
    assert.equal(roundSig(0), 0);
  });

  it('finds the patch grid step from coordinates', () => {
    assert.equal(patchStep(grid(9, 224)), 224);
    assert.equal(patchStep([5, 5]), 1);
  });

  it('builds an attention view that survives a JSON round trip and the validator', () => {
    const n = 50;
    const att = scores(n);
    const bag = {
      id: 'b1',
      label: 1,
      coords: grid(n),
      instanceLabels: Array.from({ length: n }, (_, i) => (i < 5 ? 1 : 0)),
    };
    const view = attentionView(
      bag,
      { attention: att, probability: att.map((a) => Math.min(1, a * 10)), bagProbabilities: [0.2, 0.8] },
      { top: 5 },
    );
    assert.equal(view.n, n);
    assert.equal(view.patchSize, 256);
    assert.deepEqual(view.coords, Array.from(bag.coords));
    const back = parseViz(VIZ_MIME.attention, JSON.stringify(view));
    assert.deepEqual(back, view);
    for (let i = 0; i < n; i++) assert.ok(Math.abs(back.attention![i] - att[i]) <= 5e-4 * att[i], `instance ${i}`);
    // Ranking on the rounded scores puts the true top instance first.
    assert.equal(rankInstances(back.attention!)[0], rankInstances(att)[0]);
  });

  it('rejects mismatched lengths, missing scores and oversized bags with clear errors', () => {
    throwsSchema(
      () => attentionView({ id: 'b', coords: [0, 0] }, { attention: [0.5, 0.5] }),
      'coordinate pairs',
      'coords',
    );
    throwsSchema(() => attentionView({ id: 'b' }, {}), 'needs attention');
    throwsSchema(
      () => attentionView({ id: 'big' }, { attention: new Float32Array(MAX_INSTANCES + 1) }),
      `at most ${MAX_INSTANCES}`,
    );
  });

  it('rejects an unknown version and a wrong kind with messages that say what to do', () => {
    const view = attentionView({ id: 'b' }, { attention: [0.25, 0.75] });
    throwsSchema(() => parseViz('attention', { ...view, version: 2 }), 'unsupported version 2', 'newer milkit');
    throwsSchema(() => parseViz('attention', { ...view, version: undefined }), 'unsupported version');
    throwsSchema(() => parseViz('masking', { ...view, version: 1 }), 'kind is "attention"');
    throwsSchema(() => parseViz('attention', '{not json'), 'not valid JSON');
    throwsSchema(() => parseViz('attention', { ...view, attention: [0.5] }), 'has 1 values, expected 2');
    throwsSchema(() => parseViz('application/vnd.other+json' as never, view), 'unknown view type');
  });

  it('keeps 15,000 instances within the documented ~35 bytes per instance', () => {
    const n = 15_000;
    const att = scores(n, 3);
    const view = attentionView(
      { id: 'wsi', coords: grid(n), instanceLabels: new Int32Array(n) },
      { attention: att, probability: att.map((a) => a * 100) },
    );
    const bytes = JSON.stringify(view).length;
    assert.ok(bytes < 35 * n, `attention view of ${n} instances is ${bytes} bytes`);
    const m = maskingView({ id: 'wsi', coords: grid(n) }, att, { highRatio: 0.05 });
    assert.ok(JSON.stringify(m).length < 30 * n);
    const t0 = performance.now();
    parseViz('masking', JSON.stringify(m));
    assert.ok(performance.now() - t0 < 200, 'validating a 15,000-instance payload is fast');
  });
});

describe('viz masking preview', () => {
  const n = 200;
  const s = scores(n, 7);

  it('HSM masks exactly the top ⌈N·βh⌉ of the stored scores, like the library', () => {
    const view = maskingView({ id: 'b' }, s, { strategy: 'hsm', highRatio: 0.1 });
    const p = previewMask(view.scores, view.settings);
    assert.equal(p.counts.high, 20);
    assert.equal(p.counts.kept, 180);
    const top = rankInstances(view.scores).slice(0, 20);
    for (const i of top) assert.equal(p.status[i], MASK_STATUS.high);
  });

  it('every strategy equals a direct selectMask call with the same seed (the plugin shares this code)', () => {
    const settingsList = [
      { strategy: 'rhsm' as const, highRatio: 0.05, highRandomRatio: 0.5, seed: 3 },
      { strategy: 'lsm' as const, lowRatio: 0.2, seed: 4 },
      { strategy: 'rsm' as const, randomRatio: 0.3, seed: 5 },
      { strategy: 'combined' as const, highRatio: 0.05, lowRatio: 0.1, randomRatio: 0.2, seed: 6 },
    ];
    for (const settings of settingsList) {
      const view = maskingView({ id: 'b' }, s, settings);
      const p = previewMask(view.scores, view.settings);
      const direct = selectMask(view.scores, p.config, new Rng(settings.seed));
      assert.deepEqual(
        [...direct.maskedHigh],
        [...p.status.keys()].filter((i) => p.status[i] === MASK_STATUS.high),
        settings.strategy,
      );
      assert.deepEqual(
        [...direct.maskedLow],
        [...p.status.keys()].filter((i) => p.status[i] === MASK_STATUS.low),
      );
      assert.deepEqual(
        [...direct.maskedRandom],
        [...p.status.keys()].filter((i) => p.status[i] === MASK_STATUS.random),
      );
    }
  });

  it('the cosine decay halves βh at mid-training and reaches 0 at the end', () => {
    const at = (progress: number) =>
      previewMask(s, {
        ...maskingView({ id: 'b' }, s).settings,
        strategy: 'hsm',
        highRatio: 0.2,
        decay: true,
        progress,
      });
    assert.equal(at(0).counts.high, 40);
    assert.equal(at(0.5).counts.high, 20);
    assert.equal(at(1).counts.high, 0);
  });

  it('recycles the GRN share of the kept instances', () => {
    const settings = {
      ...maskingView({ id: 'b' }, s).settings,
      strategy: 'hsm' as const,
      highRatio: 0.1,
      recycleKeepRatio: 0.8,
    };
    const p = previewMask(s, settings);
    assert.equal(p.counts.high, 20);
    assert.equal(p.counts.kept, Math.floor(180 * 0.8));
    assert.equal(p.counts.recycled, 180 - 144);
    const rng = new Rng(settings.seed);
    const direct = splitForRecycle(selectMask(s, p.config, rng).kept, 0.8, rng);
    assert.deepEqual(
      [...direct.recycled],
      [...p.status.keys()].filter((i) => p.status[i] === MASK_STATUS.recycled),
    );
  });

  it('rejects out-of-range settings naming the field', () => {
    throwsSchema(() => maskingView({ id: 'b' }, s, { highRatio: 1.5 }), 'settings.highRatio');
    throwsSchema(() => maskingView({ id: 'b' }, s, { strategy: 'xyz' as never }), 'unknown strategy');
    throwsSchema(
      () => parseViz('masking', { ...maskingView({ id: 'b' }, s), settings: { strategy: 'hsm' } }),
      'settings.highRatio',
    );
  });
});

describe('viz training and results', () => {
  it('accumulates curves, skips NaN points and thins long curves keeping both ends', () => {
    const curves = new TrainingCurves('run');
    for (let i = 0; i < 5000; i++) curves.add('loss', 'train', i / 100, 1 / (1 + i));
    curves.add('auc', 'val', 1, NaN).add('auc', 'val', 2, 0.9);
    curves.setProgress({ epoch: 3, epochs: 10, elapsedSeconds: 12.5 });
    const view = parseViz('training', JSON.parse(JSON.stringify(curves.view())));
    const loss = view.series.find((x) => x.metric === 'loss')!;
    assert.equal(loss.x.length, 2000);
    assert.equal(loss.x[0], 0);
    assert.equal(loss.x[1999], 49.99);
    assert.deepEqual(view.series.find((x) => x.metric === 'auc')!.y, [0.9]);
    assert.equal(view.done, false);
    assert.equal(view.progress!.epoch, 3);
  });

  it('computes mean ± sample sd per cell and formats it', () => {
    const table = resultsView({
      title: 'MUSK1',
      columns: ['accuracy', 'auc'],
      rows: [
        { label: 'AB-MIL', cells: [[0.8, 0.9, 1.0], { mean: 0.95, sd: 0.01 }] },
        { label: 'mean pooling', cells: [[0.7], null] },
      ],
    });
    assert.equal(table.rows[0].cells[0]!.mean, 0.9);
    assert.equal(table.rows[0].cells[0]!.sd, 0.1);
    assert.equal(table.rows[0].cells[0]!.n, 3);
    assert.equal(formatCell(table.rows[0].cells[0]), '0.900 ± 0.100');
    assert.equal(formatCell(table.rows[1].cells[0]), '0.700');
    assert.equal(formatCell(table.rows[1].cells[1]), '–');
    assert.deepEqual(parseViz('results', JSON.stringify(table)), table);
    throwsSchema(
      () => resultsView({ columns: ['a'], rows: [{ label: 'r', cells: [[1], [2]] }] }),
      'row "r" has 2 cells',
    );
  });
});
