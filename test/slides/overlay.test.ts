import { strict as assert } from 'node:assert';
import { blendScores, colorBar, patchRects, scoreTicks, viridisRgb } from '../../src/core';

describe('slides: score overlay (pure, shared with the notebook views)', () => {
  it('ticks: the score at each quartile (percentile), evenly spaced scores (linear, log)', () => {
    assert.deepEqual(
      scoreTicks([0.1, 0.5, 0.5, 0.9, NaN], 'percentile').map((t) => t.label),
      ['0.1 (0%)', '0.5 (25%)', '0.5 (50%)', '0.5 (75%)', '0.9 (100%)'],
    );
    assert.deepEqual(
      scoreTicks([2, 4, 6], 'linear').map((t) => [t.at, t.label]),
      [
        [0, '2'],
        [0.25, '3'],
        [0.5, '4'],
        [0.75, '5'],
        [1, '6'],
      ],
    );
    assert.deepEqual(
      scoreTicks([0.001, 0.1], 'log').map((t) => t.label),
      ['0.001', '0.00316', '0.01', '0.0316', '0.1'],
    );
    assert.deepEqual(scoreTicks([3, 3], 'linear'), [{ at: 1, label: '3' }]);
    assert.deepEqual(scoreTicks([2e-5], 'linear'), [{ at: 1, label: '2.0e-5' }]);
  });

  it('patch rectangles scale level-0 coordinates to the image, at least one pixel, clipped', () => {
    const slide = { width: 1000, height: 800 };
    const image = { width: 100, height: 80 };
    const r = patchRects([0, 0, 250, 500, 990, 790, 3, 3], 20, slide, image);
    assert.deepEqual(Array.from(r), [0, 0, 2, 2, 25, 50, 27, 52, 99, 79, 100, 80, 0, 0, 2, 2]);
    const tiny = patchRects([0, 0], 4, slide, image);
    assert.deepEqual(Array.from(tiny), [0, 0, 1, 1]);
  });

  it('blend: hand-worked bytes; overlap averages values; outside and NaN patches keep the image', () => {
    const rgb = new Uint8Array(3 * 3 * 1).fill(100); // 3 × 1 image
    const rects = Int32Array.from([0, 0, 2, 1, 1, 0, 3, 1, 2, 0, 3, 1]);
    const red = (t: number): [number, number, number] => [Math.round(200 * t), 0, 0];
    const out = blendScores(rgb, 3, 1, rects, [1, 0, NaN], { opacity: 0.25, colormap: red });
    // pixel 0: value 1 → 0.75·100 + 0.25·200 = 125; pixel 1: mean(1, 0) = 0.5 → 75 + 25 = 100;
    // pixel 2: only patch 1 (value 0) counts, the NaN patch is skipped → 75 + 0 = 75.
    assert.deepEqual(Array.from(out), [125, 75, 75, 100, 75, 75, 75, 75, 75]);
    assert.deepEqual(Array.from(blendScores(rgb, 3, 1, new Int32Array(0), [])), Array.from(rgb));
    assert.throws(() => blendScores(rgb, 3, 1, rects, [1, 0, 0], { opacity: 1.5 }), /opacity must lie in \[0, 1\]/);
  });

  it('colour bar: top row is 1, bottom row is 0', () => {
    const bar = colorBar(2, 5);
    assert.deepEqual(Array.from(bar.subarray(0, 3)), [0xfd, 0xe7, 0x25]); // viridis(1)
    assert.deepEqual(Array.from(bar.subarray(4 * 2 * 3, 4 * 2 * 3 + 3)), [0x44, 0x01, 0x54]); // viridis(0)
    assert.deepEqual(viridisRgb(1), [0xfd, 0xe7, 0x25]);
  });
});
