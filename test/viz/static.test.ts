/**
 * The static figures (notebook PNG fallbacks and `milkit report`): colour scales shared with the
 * interactive view, no element ids, axis titles, legends outside the plot area.
 */
import { strict as assert } from 'node:assert';
import {
  DEFAULT_MASKING_SETTINGS,
  TrainingCurves,
  attentionView,
  defaultHeatScale,
  foldMeans,
  lineChart,
  maskingSettingsLabel,
  maskingView,
  niceTicks,
  renderAttention,
  renderMasking,
  renderTraining,
  resultsView,
  scaleScoreMaps,
  scaleScores,
  staticHtml,
} from '../../src/core';

describe('viz: heat scales', () => {
  it('linear, percentile and log by hand', () => {
    const s = [0.01, 0.1, 1, 0.1];
    assert.deepEqual(Array.from(scaleScores(s, 'percentile').t), [0, 1 / 3, 1, 1 / 3].map(Math.fround));
    assert.deepEqual(
      Array.from(scaleScores(s, 'linear').t).map((v) => Number(v.toFixed(4))),
      [0, 0.0909, 1, 0.0909],
    );
    assert.deepEqual(
      Array.from(scaleScores(s, 'log').t).map((v) => Number(v.toFixed(4))),
      [0, 0.5, 1, 0.5],
    );
    assert.equal(scaleScores(s, 'log').low, '0.01');
  });
  it('maps side by side: percentile ranks each map alone, linear and log share the pooled range (by hand)', () => {
    const a = [0.01, 0.1, 1, 0.1];
    const b = [0.5, 0.2, 0.05, 0.1];
    const pct = scaleScoreMaps([a, b], 'percentile');
    assert.deepEqual(Array.from(pct.t[1]), [1, 2 / 3, 0, 1 / 3].map(Math.fround));
    assert.deepEqual([pct.low, pct.high], ['0%', '100%']);
    // Pooled range 0.01..1: b's 0.5 sits where 0.5 would sit in a, not at the top of the colour bar.
    const lin = scaleScoreMaps([a, b], 'linear');
    assert.deepEqual(
      lin.t.map((t) => Array.from(t, (v) => Number(v.toFixed(4)))),
      [
        [0, 0.0909, 1, 0.0909],
        [0.4949, 0.1919, 0.0404, 0.0909],
      ],
    );
    assert.deepEqual([lin.low, lin.high], ['0.01', '1']);
    const log = scaleScoreMaps([a, b], 'log');
    assert.equal(Number(log.t[1][0].toFixed(4)), Number((Math.log(50) / Math.log(100)).toFixed(4)));
  });
  it('default: linear for small bags, percentile from 65 instances', () => {
    assert.equal(defaultHeatScale(64), 'linear');
    assert.equal(defaultHeatScale(65), 'percentile');
  });
});

describe('viz: static figures', () => {
  it('line chart: nice ticks, axis titles, legend right of the plot area', () => {
    assert.deepEqual(niceTicks(0, 1, 5), [0, 0.2, 0.4, 0.6, 0.8, 1]);
    const c = lineChart([{ name: 'train', colour: '#000', x: [1, 2, 3], y: [0.5, 0.4, 0.3] }], {
      width: 200,
      height: 100,
      xLabel: 'epoch',
      yLabel: 'loss',
    });
    assert.ok(c.svg.includes('>epoch<') && c.svg.includes('>loss<'));
    const legendX = Number(/<text x="([\d.]+)"[^>]*>train</.exec(c.svg)![1]);
    assert.ok(legendX > 52 + 200, `legend at x=${legendX} starts right of the plot area`);
    assert.ok(c.width > 52 + 200 + 12 + 18, 'the chart is widened for its legend');
  });

  it('training: fold means per split; the figure has every split in its legend and no ids', () => {
    const c = new TrainingCurves('run');
    for (let f = 0; f < 3; f++)
      for (let e = 1; e <= 4; e++) {
        c.add('loss', 'train', e, 1 / e + f, f);
        c.add('auc', 'val', e, 0.5 + 0.1 * e, f);
      }
    const means = foldMeans(c.view().series);
    const trainLoss = means.find((s) => s.split === 'train' && s.metric === 'loss')!;
    assert.deepEqual(
      trainLoss.y,
      [2, 1.5, 4 / 3, 1.25].map((v) => Number(v.toPrecision(4))),
    );
    const v = renderTraining(c.view());
    assert.ok(v.figure!.svg.includes('train, mean of 3 folds') && v.figure!.svg.includes('val, mean of 3 folds'));
    assert.ok(!/\sid=/.test(staticHtml(v)), 'no element ids');
  });

  it('the training progress text says "done" once', () => {
    const c = new TrainingCurves('run');
    c.add('loss', 'train', 1, 0.5);
    c.setProgress({ epoch: 1, epochs: 1, elapsedSeconds: 3, message: 'done' }).finish();
    const text = renderTraining(c.view()).text;
    assert.equal(text.match(/done/g)?.length ?? 0, 0, text); // "finished" states it; the message is not repeated
    assert.ok(text.includes('finished'));
  });

  it("a finished run's summary table is in the training figure, for viewers that show only the PNG", () => {
    const c = new TrainingCurves('run');
    c.add('auc', 'val', 1, 0.7);
    c.add('auc', 'val', 2, 0.8);
    const curvesOnly = renderTraining(c.view()).figure!;
    c.finish(
      resultsView({
        title: 'run summary',
        columns: ['AUC', 'accuracy'],
        rows: [
          {
            label: 'run',
            cells: [
              { mean: 0.8123, sd: 0.01, n: 5 },
              { mean: 0.7456, sd: 0.02, n: 5 },
            ],
          },
        ],
      }),
    );
    const withSummary = renderTraining(c.view()).figure!;
    for (const cell of ['run summary', 'AUC', 'accuracy', '0.812', '0.746'])
      assert.ok(withSummary.svg.includes(cell), `the figure shows "${cell}"`);
    assert.ok(withSummary.height > curvesOnly.height + 40, 'the table sits below the curves');
    assert.ok(withSummary.alt.includes('summary table'));
    assert.ok(!curvesOnly.svg.includes('0.812'));
  });

  it('attention: the default scale is the same as the interactive view, known positives outlined', () => {
    const n = 100;
    const p = attentionView(
      { id: 'b', instanceLabels: Array.from({ length: n }, (_, i) => (i < 10 ? 1 : 0)) },
      { attention: Array.from({ length: n }, (_, i) => (i + 1) / 5050) },
    );
    const svg = renderAttention(p).figure!.svg;
    assert.ok(svg.includes('attention (percentile rank)'));
    assert.ok(renderAttention(p, { scale: 'log' }).figure!.svg.includes('attention (log scale)'));
    assert.ok(svg.includes('stroke="#e8175d"'), 'outlines');
    assert.ok(svg.includes('ROC, instances'), 'instance ROC with 10 positives and 90 negatives');
  });

  it('masking: the title states the settings; kept cells shaded by score', () => {
    const p = maskingView({ id: 'b' }, [0.1, 0.9, 0.5, 0.3], {
      strategy: 'hsm',
      highRatio: 0.25,
      decay: true,
      progress: 0.5,
    });
    const v = renderMasking(p);
    assert.equal(
      maskingSettingsLabel(p.settings),
      'HSM · βh 0.25 → 0.125 (cosine decay at 50 % of training) · seed 2021',
    );
    assert.ok(v.title!.includes('βh 0.25 → 0.125'));
    assert.ok(maskingSettingsLabel(DEFAULT_MASKING_SETTINGS).startsWith('RHSM'));
    const greys = new Set([...v.figure!.svg.matchAll(/fill="(rgb\(\d+,\d+,\d+\))"/g)].map((m) => m[1]));
    assert.ok(greys.size >= 3, `kept cells in ${greys.size} shades`);
  });
});
