/**
 * Seeded SSL augmentations of RGB patches, in plain TypeScript (browser-safe, no tfjs): the same
 * seed gives the same views on every backend and machine. A patch of side `p` (bytes, as stored in
 * `PatchBag.pixels`) becomes a float view of side `out` in [0, 1], `[out][out][3]`.
 *
 * Pipeline (SimCLR order): random resized crop → flips → 90° rotation → H&E stain jitter →
 * brightness/contrast jitter → Gaussian blur. Colour jitter works in HED stain space (Ruifrok &
 * Johnston optical densities, as in Tellez et al. 2018) because H&E slides vary by stain amount per
 * dye, not by arbitrary hue shifts: jittering haematoxylin and eosin separately gives realistic
 * scanner/lab variation while keeping nuclei blue and stroma pink.
 */
import { Rng } from '../random';

export interface AugmentConfig {
  /** Area fraction range of the random resized crop (small patches: keep ≥ 0.4 so a nucleus survives). */
  cropScale: [number, number];
  /** Aspect ratio range of the crop. */
  cropRatio: [number, number];
  /** Probability of a horizontal / vertical flip (each). */
  flip: number;
  /** Rotate by a random multiple of 90° (histology has no "up"). */
  rotate90: boolean;
  /** HED jitter: each stain's density is scaled by U(1−σ, 1+σ) and shifted by U(−σ, σ). 0 disables. */
  hedSigma: number;
  /** Brightness shift U(−b, b) and contrast factor U(1−c, 1+c). */
  brightness: number;
  contrast: number;
  /** Probability of a Gaussian blur with σ ∈ blurSigma (pixels). */
  blur: number;
  blurSigma: [number, number];
}

export const DEFAULT_AUGMENT: AugmentConfig = {
  cropScale: [0.4, 1],
  cropRatio: [3 / 4, 4 / 3],
  flip: 0.5,
  rotate90: true,
  hedSigma: 0.05,
  brightness: 0.1,
  contrast: 0.2,
  blur: 0.5,
  blurSigma: [0.1, 1.0],
};

/**
 * Digits (MNIST-bags): crop, brightness/contrast and blur only. No flips or rotations (a rotated 6
 * is a 9, the usual target digit) and no stain jitter (grey images have no H&E stains).
 */
export const DIGIT_AUGMENT: AugmentConfig = {
  ...DEFAULT_AUGMENT,
  cropScale: [0.6, 1],
  flip: 0,
  rotate90: false,
  hedSigma: 0,
};

/** No augmentation (a plain resize to the network's input), e.g. for feature extraction. */
export const NO_AUGMENT: AugmentConfig = {
  cropScale: [1, 1],
  cropRatio: [1, 1],
  flip: 0,
  rotate90: false,
  hedSigma: 0,
  brightness: 0,
  contrast: 0,
  blur: 0,
  blurSigma: [0, 0],
};

// Ruifrok & Johnston stain optical-density vectors (rows: haematoxylin, eosin, DAB), as in scikit-image.
const RGB_FROM_HED = [
  [0.65, 0.7, 0.29],
  [0.07, 0.99, 0.11],
  [0.27, 0.57, 0.78],
];
const HED_FROM_RGB = invert3(RGB_FROM_HED);

function invert3(m: number[][]): number[][] {
  const [[a, b, c], [d, e, f], [g, h, i]] = m;
  const det = a * (e * i - f * h) - b * (d * i - f * g) + c * (d * h - e * g);
  return [
    [(e * i - f * h) / det, (c * h - b * i) / det, (b * f - c * e) / det],
    [(f * g - d * i) / det, (a * i - c * g) / det, (c * d - a * f) / det],
    [(d * h - e * g) / det, (b * g - a * h) / det, (a * e - b * d) / det],
  ];
}

/** Bilinear sample of channel c at continuous position (x, y) of a `p × p` byte patch, in [0, 1]. */
function sample(src: Uint8Array, p: number, x: number, y: number, c: number): number {
  const x0 = Math.max(0, Math.min(p - 1, Math.floor(x)));
  const y0 = Math.max(0, Math.min(p - 1, Math.floor(y)));
  const x1 = Math.min(p - 1, x0 + 1);
  const y1 = Math.min(p - 1, y0 + 1);
  const fx = Math.max(0, Math.min(1, x - x0));
  const fy = Math.max(0, Math.min(1, y - y0));
  const v00 = src[(y0 * p + x0) * 3 + c];
  const v01 = src[(y0 * p + x1) * 3 + c];
  const v10 = src[(y1 * p + x0) * 3 + c];
  const v11 = src[(y1 * p + x1) * 3 + c];
  return ((v00 * (1 - fx) + v01 * fx) * (1 - fy) + (v10 * (1 - fx) + v11 * fx) * fy) / 255;
}

/** Writes one augmented view of `src` (side p) into `out` at `offset` (side `size`). */
export function augmentPatch(
  src: Uint8Array,
  p: number,
  size: number,
  rng: Rng,
  cfg: AugmentConfig,
  out: Float32Array,
  offset = 0,
): void {
  // Random resized crop: pick area and aspect, then a position that fits.
  const area = rng.uniform(cfg.cropScale[0], cfg.cropScale[1]) * p * p;
  const logR = rng.uniform(Math.log(cfg.cropRatio[0]), Math.log(cfg.cropRatio[1]));
  const cw = Math.min(p, Math.sqrt(area * Math.exp(logR)));
  const ch = Math.min(p, Math.sqrt(area / Math.exp(logR)));
  const cx = rng.uniform(0, p - cw);
  const cy = rng.uniform(0, p - ch);
  const flipX = rng.next() < cfg.flip;
  const flipY = rng.next() < cfg.flip;
  const rot = cfg.rotate90 ? rng.int(4) : 0;
  const hed = [0, 1, 2].map(() =>
    cfg.hedSigma > 0
      ? [rng.uniform(1 - cfg.hedSigma, 1 + cfg.hedSigma), rng.uniform(-cfg.hedSigma, cfg.hedSigma)]
      : [1, 0],
  );
  const bright = cfg.brightness > 0 ? rng.uniform(-cfg.brightness, cfg.brightness) : 0;
  const contrast = cfg.contrast > 0 ? rng.uniform(1 - cfg.contrast, 1 + cfg.contrast) : 1;
  const blurSigma = rng.next() < cfg.blur ? rng.uniform(cfg.blurSigma[0], cfg.blurSigma[1]) : 0;

  const view = out.subarray(offset, offset + size * size * 3);
  for (let v = 0; v < size; v++) {
    for (let u = 0; u < size; u++) {
      // Output pixel (u, v) → rotated/flipped position in the crop → source position.
      let a = u;
      let b = v;
      for (let r = 0; r < rot; r++) [a, b] = [size - 1 - b, a];
      if (flipX) a = size - 1 - a;
      if (flipY) b = size - 1 - b;
      const sx = cx + ((a + 0.5) * cw) / size - 0.5;
      const sy = cy + ((b + 0.5) * ch) / size - 0.5;
      for (let c = 0; c < 3; c++) view[(v * size + u) * 3 + c] = sample(src, p, sx, sy, c);
    }
  }
  if (cfg.hedSigma > 0) hedJitter(view, hed);
  if (bright !== 0 || contrast !== 1) {
    let mean = 0;
    for (let i = 0; i < view.length; i++) mean += view[i];
    mean /= view.length;
    for (let i = 0; i < view.length; i++) view[i] = clamp01((view[i] - mean) * contrast + mean + bright);
  }
  if (blurSigma > 0) gaussianBlur(view, size, blurSigma);
}

function clamp01(v: number): number {
  return v < 0 ? 0 : v > 1 ? 1 : v;
}

/** Scales and shifts each stain's optical density, in place. */
function hedJitter(view: Float32Array, hed: number[][]): void {
  for (let i = 0; i < view.length; i += 3) {
    // Optical density OD = −ln(I), I kept away from 0.
    const od = [0, 1, 2].map((c) => -Math.log(Math.max(view[i + c], 1 / 256)));
    for (let c = 0; c < 3; c++) {
      let out = 0;
      for (let s = 0; s < 3; s++) {
        const stain = od[0] * HED_FROM_RGB[0][s] + od[1] * HED_FROM_RGB[1][s] + od[2] * HED_FROM_RGB[2][s];
        out += (stain * hed[s][0] + hed[s][1]) * RGB_FROM_HED[s][c];
      }
      view[i + c] = clamp01(Math.exp(-out));
    }
  }
}

/** Separable Gaussian blur (radius ⌈2σ⌉, edges clamped), in place. */
function gaussianBlur(view: Float32Array, size: number, sigma: number): void {
  const radius = Math.max(1, Math.ceil(2 * sigma));
  const k = Array.from({ length: 2 * radius + 1 }, (_, i) => Math.exp(-((i - radius) ** 2) / (2 * sigma * sigma)));
  const sum = k.reduce((s, v) => s + v, 0);
  for (let i = 0; i < k.length; i++) k[i] /= sum;
  const tmp = new Float32Array(view.length);
  const pass = (from: Float32Array, to: Float32Array, horizontal: boolean) => {
    for (let y = 0; y < size; y++) {
      for (let x = 0; x < size; x++) {
        for (let c = 0; c < 3; c++) {
          let acc = 0;
          for (let t = -radius; t <= radius; t++) {
            const xx = horizontal ? Math.min(size - 1, Math.max(0, x + t)) : x;
            const yy = horizontal ? y : Math.min(size - 1, Math.max(0, y + t));
            acc += k[t + radius] * from[(yy * size + xx) * 3 + c];
          }
          to[(y * size + x) * 3 + c] = acc;
        }
      }
    }
  };
  pass(view, tmp, true);
  pass(tmp, view, false);
}

/**
 * Augmented views of several patches, `[indices.length][size][size][3]`. Patch `i` is read from
 * `pixels` at `i · p² · 3`.
 */
export function augmentBatch(
  pixels: Uint8Array,
  p: number,
  indices: ArrayLike<number>,
  size: number,
  rng: Rng,
  cfg: AugmentConfig = DEFAULT_AUGMENT,
): Float32Array {
  const per = p * p * 3;
  const out = new Float32Array(indices.length * size * size * 3);
  for (let j = 0; j < indices.length; j++) {
    const i = indices[j];
    augmentPatch(pixels.subarray(i * per, (i + 1) * per), p, size, rng, cfg, out, j * size * size * 3);
  }
  return out;
}
