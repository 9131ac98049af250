import { strict as assert } from 'node:assert';
import {
  closeMask,
  components,
  detectTissue,
  medianFilter,
  otsuThreshold,
  resampleArea,
  saturation,
} from '../../src/slides';
import { syntheticSlide } from './fixtures';

describe('slides: tissue detection (pure)', () => {
  it('saturation is OpenCV HSV S: (max - min) / max in 0..255', () => {
    const s = saturation({
      width: 4,
      height: 1,
      data: Uint8Array.from([255, 255, 255, 0, 0, 0, 200, 100, 50, 10, 5, 5]),
    });
    assert.deepEqual([...s], [0, 0, Math.round((255 * 150) / 200), Math.round((255 * 5) / 10)]);
  });

  it('the sliding-histogram median equals a brute-force median with replicated edges', () => {
    const w = 23;
    const h = 17;
    const src = Uint8Array.from({ length: w * h }, (_, i) => (i * 7919 + ((i * i) % 31)) % 256);
    for (const k of [1, 3, 5, 7]) {
      const got = medianFilter(src, w, h, k);
      const r = k >> 1;
      for (let y = 0; y < h; y++)
        for (let x = 0; x < w; x++) {
          const win: number[] = [];
          for (let dy = -r; dy <= r; dy++)
            for (let dx = -r; dx <= r; dx++) {
              const xx = Math.min(w - 1, Math.max(0, x + dx));
              const yy = Math.min(h - 1, Math.max(0, y + dy));
              win.push(src[yy * w + xx]);
            }
          win.sort((a, b) => a - b);
          assert.equal(got[y * w + x], win[win.length >> 1], `k ${k} at (${x}, ${y})`);
        }
    }
  });

  it("Otsu's threshold separates two modes (hand-worked: 10 × 20 and 10 × 200 → t in [20, 199])", () => {
    const v = Uint8Array.from([...Array(10).fill(20), ...Array(10).fill(200)]);
    const t = otsuThreshold(v);
    assert.ok(t >= 20 && t < 200, `t = ${t}`);
    // Unequal classes: the threshold still lies between them.
    const u = Uint8Array.from([...Array(90).fill(5), ...Array(10).fill(120)]);
    const tu = otsuThreshold(u);
    assert.ok(tu >= 5 && tu < 120, `t = ${tu}`);
  });

  it('closing joins a one-pixel gap and keeps a border-touching region', () => {
    const w = 9;
    const m = new Uint8Array(w * 3);
    for (let x = 0; x < w; x++) if (x !== 4) m[w + x] = 1;
    const c = closeMask(m, w, 3, 3);
    assert.equal(c[w + 4], 1, 'gap closed');
    assert.equal(c[w], 1, 'border pixel kept');
    assert.equal(c[0], 0, 'nothing grown above');
  });

  it('components: 8-connected diagonal pixels are one region, 4-connected they are two', () => {
    const m = Uint8Array.from([1, 0, 0, 1]);
    assert.equal(components(m, 2, 2, 1, true).area.length, 1);
    assert.equal(components(m, 2, 2, 1, false).area.length, 2);
  });

  it('finds a tissue disk, fills its small hole, drops a speck, at a known area', () => {
    const img = syntheticSlide(120, 100, 30, 6);
    // 8 µm per pixel: the 3 × 3 speck is 576 µm² (< 20,000), the hole 113 px ≈ 7,200 µm² (< 40,000).
    const mask = detectTissue(img, 8);
    assert.equal(mask.regions, 1);
    assert.equal(mask.data[50 * 120 + 60], 1, 'the hole is filled');
    assert.equal(detectTissue(img, 8, { maxHoleUm2: 0 }).data[50 * 120 + 60], 0, 'only hole filling fills it');
    assert.equal(mask.data[5 * 120 + 5], 0, 'the speck is dropped');
    const area = mask.data.reduce((a, b) => a + b, 0);
    const disk = Math.PI * 30 * 30;
    assert.ok(Math.abs(area - disk) / disk < 0.05, `tissue area ${area} vs disk ${disk.toFixed(0)}`);
    assert.ok(mask.threshold >= 15 && mask.threshold < 80, `threshold ${mask.threshold}`);
  });

  it('a large hole (over maxHoleUm2) stays background', () => {
    const img = syntheticSlide(120, 100, 40, 15);
    const mask = detectTissue(img, 8, { maxHoleUm2: 10_000 });
    assert.equal(mask.data[50 * 120 + 60], 0);
  });

  it('pen marks are tissue unless excludePen, which removes them', () => {
    const img = syntheticSlide(120, 100, 30, 0, true);
    const y = 50 + 15;
    const keep = detectTissue(img, 8, { medianUm: 0 });
    const drop = detectTissue(img, 8, { medianUm: 0, excludePen: true });
    assert.equal(keep.data[y * 120 + 60], 1);
    assert.equal(drop.data[y * 120 + 60], 0);
    assert.ok(drop.penPixels > 50, `pen pixels ${drop.penPixels}`);
    assert.equal(drop.data[40 * 120 + 60], 1, 'tissue away from the stroke stays');
  });

  it('a blank slide has no tissue: the Otsu threshold never drops below minThreshold', () => {
    const img = syntheticSlide(80, 60, 0, 0);
    img.data.fill(240);
    for (let i = 0; i < img.data.length; i += 7) img.data[i] = 230; // glass noise, saturation ≤ 11
    const mask = detectTissue(img, 8);
    assert.equal(mask.tissueFraction, 0);
    assert.equal(mask.threshold, 15);
  });
});

describe('slides: area resampling (pure)', () => {
  it('a 2× reduction averages each 2 × 2 block (hand-worked)', () => {
    const src = Uint8Array.from([0, 10, 20, 30, 40, 50, 60, 70, 80, 90, 100, 110, 120, 130, 140, 150]);
    const out = resampleArea(src, 4, 4, 1, { x0: 0, y0: 0, x1: 4, y1: 4 }, 2, 2);
    assert.deepEqual([...out], [25, 45, 105, 125]);
  });

  it('a fractional ratio preserves the mean and weights partial pixels by area', () => {
    // 3 → 2 pixels: output 0 covers source [0, 1.5): (a + b/2) / 1.5.
    const out = resampleArea(Uint8Array.from([30, 60, 90]), 3, 1, 1, { x0: 0, y0: 0, x1: 3, y1: 1 }, 2, 1);
    assert.deepEqual([...out], [Math.round((30 + 30) / 1.5), Math.round((30 + 90) / 1.5)]);
  });
});
