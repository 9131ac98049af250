/** Synthetic slides for the unit tests: an H&E-like image with known shapes, as pixels or a PNG file. */
import * as fs from 'node:fs';
import { PNG } from 'pngjs';
import type { RgbPixels } from '../../src/slides';

export const GLASS: [number, number, number] = [242, 241, 244];
export const EOSIN: [number, number, number] = [222, 150, 190];
export const GREEN_INK: [number, number, number] = [60, 140, 90];

/** Deterministic noise in [-amp, amp]. */
function noise(i: number, amp: number): number {
  const x = Math.sin(i * 12.9898) * 43758.5453;
  return Math.round((x - Math.floor(x) - 0.5) * 2 * amp);
}

/**
 * `w × h` RGB: glass with noise; a tissue disk of radius `r` at the centre with a small hole
 * (radius `hole`) in the middle; a speck (3 × 3) of tissue colour near the top-left corner; an
 * optional green pen stroke across the disk's lower half.
 */
export function syntheticSlide(w: number, h: number, r: number, hole: number, pen = false): RgbPixels {
  const data = new Uint8Array(w * h * 3);
  const cx = w / 2;
  const cy = h / 2;
  for (let y = 0; y < h; y++)
    for (let x = 0; x < w; x++) {
      const i = y * w + x;
      const d = Math.hypot(x + 0.5 - cx, y + 0.5 - cy);
      let c = GLASS;
      if (d < r && d >= hole) c = EOSIN;
      if (x >= 4 && x < 7 && y >= 4 && y < 7) c = EOSIN;
      if (pen && Math.abs(y - (cy + r / 2)) < 2 && d < r) c = GREEN_INK;
      for (let k = 0; k < 3; k++) data[3 * i + k] = Math.max(0, Math.min(255, c[k] + noise(3 * i + k, 3)));
    }
  return { width: w, height: h, data };
}

/** Writes an RGB image as a PNG file. */
export function writePng(file: string, img: RgbPixels): void {
  const png = new PNG({ width: img.width, height: img.height });
  for (let i = 0; i < img.width * img.height; i++) {
    png.data[4 * i] = img.data[3 * i];
    png.data[4 * i + 1] = img.data[3 * i + 1];
    png.data[4 * i + 2] = img.data[3 * i + 2];
    png.data[4 * i + 3] = 255;
  }
  fs.writeFileSync(file, PNG.sync.write(png));
}
