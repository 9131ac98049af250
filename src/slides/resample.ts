/**
 * Pixel helpers shared by thumbnails and patch reading. Pure (no I/O).
 *
 * Downsampling averages the source pixels each output pixel covers, weighted by the covered area
 * (a box filter with fractional edges): exact for any ratio, no aliasing, and the mean colour of a
 * region is preserved, which is what tissue fractions and patch features should see.
 */
import type { RgbPixels, RgbaImage } from './types';

/** Composites RGBA over white (glass): transparent pixels (outside the slide, missing tiles) become white. */
export function rgbaToRgbOnWhite(img: RgbaImage): RgbPixels {
  const n = img.width * img.height;
  const out = new Uint8Array(n * 3);
  const d = img.data;
  for (let i = 0; i < n; i++) {
    const a = d[4 * i + 3];
    if (a === 255) {
      out[3 * i] = d[4 * i];
      out[3 * i + 1] = d[4 * i + 1];
      out[3 * i + 2] = d[4 * i + 2];
    } else {
      const w = 255 - a;
      out[3 * i] = (d[4 * i] * a + 255 * w + 127) / 255;
      out[3 * i + 1] = (d[4 * i + 1] * a + 255 * w + 127) / 255;
      out[3 * i + 2] = (d[4 * i + 2] * a + 255 * w + 127) / 255;
    }
  }
  return { width: img.width, height: img.height, data: out };
}

/** For each output pixel along one axis: the first source pixel it covers and the weights (sum 1). */
function axisWeights(
  srcLen: number,
  from: number,
  to: number,
  outLen: number,
): { start: Int32Array; w: Float32Array[] } {
  const scale = (to - from) / outLen;
  const start = new Int32Array(outLen);
  const w: Float32Array[] = [];
  for (let o = 0; o < outLen; o++) {
    const a = Math.max(0, from + o * scale);
    const b = Math.min(srcLen, from + (o + 1) * scale);
    const i0 = Math.min(srcLen - 1, Math.floor(a));
    const i1 = Math.max(i0 + 1, Math.ceil(b));
    const ws = new Float32Array(i1 - i0);
    let sum = 0;
    for (let i = i0; i < i1; i++) {
      const cover = Math.min(b, i + 1) - Math.max(a, i);
      ws[i - i0] = Math.max(0, cover);
      sum += ws[i - i0];
    }
    if (sum <= 0) ws.fill(1 / ws.length);
    else for (let k = 0; k < ws.length; k++) ws[k] /= sum;
    start[o] = i0;
    w.push(ws);
  }
  return { start, w };
}

/**
 * Area-averages the source rectangle [x0, x1) × [y0, y1) (fractional source pixels) of a
 * `channels`-interleaved image into `outW × outH`. The rectangle is clipped to the source.
 */
export function resampleArea(
  src: Uint8Array,
  srcW: number,
  srcH: number,
  channels: number,
  rect: { x0: number; y0: number; x1: number; y1: number },
  outW: number,
  outH: number,
): Uint8Array {
  const cx = axisWeights(srcW, rect.x0, rect.x1, outW);
  const cy = axisWeights(srcH, rect.y0, rect.y1, outH);
  const rowLo = cy.start[0];
  const rowHi = cy.start[outH - 1] + cy.w[outH - 1].length;
  // Horizontal pass over the rows the output needs, then vertical.
  const tmp = new Float32Array((rowHi - rowLo) * outW * channels);
  for (let r = rowLo; r < rowHi; r++) {
    const srow = r * srcW * channels;
    const trow = (r - rowLo) * outW * channels;
    for (let o = 0; o < outW; o++) {
      const ws = cx.w[o];
      const base = srow + cx.start[o] * channels;
      for (let c = 0; c < channels; c++) {
        let acc = 0;
        for (let k = 0; k < ws.length; k++) acc += ws[k] * src[base + k * channels + c];
        tmp[trow + o * channels + c] = acc;
      }
    }
  }
  const out = new Uint8Array(outW * outH * channels);
  const rowLen = outW * channels;
  for (let o = 0; o < outH; o++) {
    const ws = cy.w[o];
    const base = (cy.start[o] - rowLo) * rowLen;
    const dst = o * rowLen;
    for (let j = 0; j < rowLen; j++) {
      let acc = 0;
      for (let k = 0; k < ws.length; k++) acc += ws[k] * tmp[base + k * rowLen + j];
      out[dst + j] = acc + 0.5;
    }
  }
  return out;
}

/** Resizes a whole RGB image to `outW × outH` by area averaging. */
export function resizeRgb(img: RgbPixels, outW: number, outH: number): RgbPixels {
  if (img.width === outW && img.height === outH) return img;
  const rect = { x0: 0, y0: 0, x1: img.width, y1: img.height };
  return { width: outW, height: outH, data: resampleArea(img.data, img.width, img.height, 3, rect, outW, outH) };
}
