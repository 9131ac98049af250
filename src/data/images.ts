/**
 * Images → patches: decoding (PNG via pngjs, TIFF via utif), grid tiling with coordinates, the
 * background filter, simple patch features, and streaming reads of images from folders, `.tar`
 * and `.tar.gz` archives (one entry in memory at a time).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import { PNG } from 'pngjs';
import * as tarStream from 'tar-stream';
import type { BagRecord } from './bag';
import { MilkitDataError } from './errors';
import { type WriteSummary, writeCohort } from './writer';

/** An RGB image, 8 bits per channel, row-major interleaved `[h][w][3]`. */
export interface RgbImage {
  width: number;
  height: number;
  data: Uint8Array;
  /** Where it came from (file or `archive:entry`), for error messages and provenance. */
  source: string;
}

/** The part of utif's API we use (the package ships no type declarations). */
interface Utif {
  decode(buf: Uint8Array): { width?: number; height?: number; t256?: number[] }[];
  decodeImage(buf: Uint8Array, ifd: object): void;
  toRGBA8(ifd: object): Uint8Array;
}
// eslint-disable-next-line @typescript-eslint/no-require-imports -- utif ships no type declarations
const UTIF: Utif = require('utif');

const PNG_MAGIC = [0x89, 0x50, 0x4e, 0x47];

/** Drops the alpha channel of an RGBA buffer (alpha is not meaningful for stained tissue). */
function rgbaToRgb(rgba: Uint8Array, n: number): Uint8Array {
  const rgb = new Uint8Array(n * 3);
  for (let i = 0; i < n; i++) {
    rgb[3 * i] = rgba[4 * i];
    rgb[3 * i + 1] = rgba[4 * i + 1];
    rgb[3 * i + 2] = rgba[4 * i + 2];
  }
  return rgb;
}

/** Decodes a PNG or TIFF (chosen by the file's magic bytes) into RGB; errors name `source`. */
export function decodeImage(buf: Uint8Array, source: string): RgbImage {
  const isPng = PNG_MAGIC.every((b, i) => buf[i] === b);
  const isTiff = (buf[0] === 0x49 && buf[1] === 0x49) || (buf[0] === 0x4d && buf[1] === 0x4d);
  try {
    if (isPng) {
      const png = PNG.sync.read(Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength));
      return { width: png.width, height: png.height, data: rgbaToRgb(png.data, png.width * png.height), source };
    }
    if (isTiff) {
      const ifds = UTIF.decode(buf);
      const ifd = ifds.find((d) => d.t256);
      if (!ifd) throw new Error('the TIFF holds no image');
      UTIF.decodeImage(buf, ifd);
      const { width, height } = ifd as { width: number; height: number };
      return { width, height, data: rgbaToRgb(UTIF.toRGBA8(ifd), width * height), source };
    }
  } catch (err) {
    throw new MilkitDataError(`unreadable image: ${(err as Error).message}`, { file: source });
  }
  throw new MilkitDataError(`unreadable image: neither PNG nor TIFF (${buf.length} bytes)`, { file: source });
}

/** Reads and decodes one image file. */
export function readImage(file: string): RgbImage {
  let buf: Buffer;
  try {
    buf = fs.readFileSync(file);
  } catch (err) {
    throw new MilkitDataError(`cannot read image: ${(err as Error).message}`, { file });
  }
  return decodeImage(buf, file);
}

/**
 * Background rule. A patch is background when it is BOTH bright and unsaturated: H&E-stained tissue
 * is pink/purple (saturated) while glass is near-white and grey. Measured on the 58 UCSB images,
 * 32 × 32 tiles (38,976): the two populations separate cleanly. Dropped tiles (13,137, 34 %) have
 * brightness median 0.96 (5-95 %: 0.87-0.99) and saturation median 0.02 (0.006-0.135); kept tissue
 * tiles have brightness median 0.71 (0.53-0.84) and saturation median 0.33 (0.17-0.52).
 * Bright tiles that are still saturated (pale eosin, 740) are kept: they are tissue.
 * Brightness = mean over pixels of (R+G+B)/(3·255); saturation = mean of HSV S = (max−min)/max.
 */
export interface BackgroundFilter {
  /** Patches brighter than this (0..1) are candidates for background. Default 0.85. */
  minBrightness: number;
  /** ...and are dropped when their mean saturation (0..1) is below this. Default 0.15. */
  maxSaturation: number;
}

export const DEFAULT_BACKGROUND: BackgroundFilter = { minBrightness: 0.85, maxSaturation: 0.15 };

/** Mean brightness and mean HSV saturation of an RGB patch, both in [0, 1]. */
export function patchStats(rgb: Uint8Array): { brightness: number; saturation: number } {
  const n = rgb.length / 3;
  let bright = 0;
  let sat = 0;
  for (let i = 0; i < n; i++) {
    const r = rgb[3 * i];
    const g = rgb[3 * i + 1];
    const b = rgb[3 * i + 2];
    const max = Math.max(r, g, b);
    const min = Math.min(r, g, b);
    bright += r + g + b;
    if (max > 0) sat += (max - min) / max;
  }
  return { brightness: bright / (3 * 255 * n), saturation: sat / n };
}

export function isBackground(rgb: Uint8Array, filter: BackgroundFilter = DEFAULT_BACKGROUND): boolean {
  const s = patchStats(rgb);
  return s.brightness > filter.minBrightness && s.saturation < filter.maxSaturation;
}

export interface TileOptions {
  /** Patch side in pixels. */
  size: number;
  /** Step between patch origins (default `size`: non-overlapping). */
  stride?: number;
  /** Background filter; `false` keeps every patch. Default DEFAULT_BACKGROUND. */
  background?: BackgroundFilter | false;
}

/** A square RGB patch and the pixel position of its top-left corner in the source image. */
export interface Tile {
  x: number;
  y: number;
  /** `size × size × 3` RGB bytes. */
  pixels: Uint8Array;
}

/**
 * Cuts `img` into a grid of `size × size` patches at steps of `stride` (patches that would cross
 * the right/bottom edge are not taken) and drops background patches.
 */
export function tileImage(img: RgbImage, opts: TileOptions): { tiles: Tile[]; dropped: number } {
  const { size } = opts;
  const stride = opts.stride ?? size;
  const filter = opts.background === undefined ? DEFAULT_BACKGROUND : opts.background;
  if (!Number.isInteger(size) || size < 1)
    throw new MilkitDataError(`patch size must be a positive integer, got ${size}`, { file: img.source });
  if (!Number.isInteger(stride) || stride < 1)
    throw new MilkitDataError(`stride must be a positive integer, got ${stride}`, { file: img.source });
  if (size > img.width || size > img.height) {
    throw new MilkitDataError(`patch size ${size} is larger than the image (${img.width}×${img.height})`, {
      file: img.source,
    });
  }
  const tiles: Tile[] = [];
  let dropped = 0;
  const row = size * 3;
  for (let y = 0; y + size <= img.height; y += stride) {
    for (let x = 0; x + size <= img.width; x += stride) {
      const pixels = new Uint8Array(size * row);
      for (let r = 0; r < size; r++) {
        const from = ((y + r) * img.width + x) * 3;
        pixels.set(img.data.subarray(from, from + row), r * row);
      }
      if (filter && isBackground(pixels, filter)) dropped++;
      else tiles.push({ x, y, pixels });
    }
  }
  return { tiles, dropped };
}

/** A patch's pixels scaled to [0, 1], in `[h][w][c]` order (D = h·w·3). */
export function rawPixelFeatures(rgb: Uint8Array, out = new Float32Array(rgb.length)): Float32Array {
  for (let i = 0; i < rgb.length; i++) out[i] = rgb[i] / 255;
  return out;
}

/** Histogram bins per channel of the compact colour feature. */
export const COLOR_HIST_BINS = 8;
/** Width of `colorStatsFeatures`: per channel 8 histogram bins + mean + sd. */
export const COLOR_STATS_DIM = 3 * (COLOR_HIST_BINS + 2);

/**
 * A compact hand-crafted patch feature (D = 30): per RGB channel, a normalised 8-bin intensity
 * histogram, the mean and the standard deviation (all in [0, 1]). It captures stain colour and
 * texture contrast, which is what separates epithelial nuclei from stroma at this scale, at 1/70 the
 * width of raw pixels.
 */
export function colorStatsFeatures(rgb: Uint8Array): Float32Array {
  const n = rgb.length / 3;
  const out = new Float32Array(COLOR_STATS_DIM);
  const per = COLOR_HIST_BINS + 2;
  for (let c = 0; c < 3; c++) {
    let sum = 0;
    let sq = 0;
    for (let i = 0; i < n; i++) {
      const v = rgb[3 * i + c] / 255;
      sum += v;
      sq += v * v;
      out[c * per + Math.min(COLOR_HIST_BINS - 1, Math.floor(v * COLOR_HIST_BINS))] += 1 / n;
    }
    const mean = sum / n;
    out[c * per + COLOR_HIST_BINS] = mean;
    out[c * per + COLOR_HIST_BINS + 1] = Math.sqrt(Math.max(0, sq / n - mean * mean));
  }
  return out;
}

const IMAGE_EXT = /\.(png|tiff?)$/i;

export interface ArchiveImage {
  /** Entry name inside the archive (or file name inside the folder). */
  name: string;
  image: RgbImage;
}

export interface ReadImagesOptions {
  /** Only decode entries for which this returns true (given the base name, e.g. `123.png`). */
  include?: (name: string) => boolean;
}

/**
 * Streams the images of a `.tar` or `.tar.gz`/`.tgz` archive in archive order, decoding one entry
 * at a time (memory stays at one image). Non-image entries are skipped. Errors name the archive and
 * the entry; an archive without any image is an error.
 */
export async function* readArchiveImages(archive: string, opts: ReadImagesOptions = {}): AsyncGenerator<ArchiveImage> {
  if (!fs.existsSync(archive)) throw new MilkitDataError('archive not found', { file: archive });
  const gz = /\.(tar\.gz|tgz)$/i.test(archive);
  const extract = tarStream.extract();
  const source = fs.createReadStream(archive);
  const fail = (err: Error) =>
    extract.destroy(new MilkitDataError(`unreadable archive: ${err.message}`, { file: archive }));
  source.on('error', fail);
  if (gz) {
    const gunzip = zlib.createGunzip();
    gunzip.on('error', fail);
    source.pipe(gunzip).pipe(extract);
  } else {
    source.pipe(extract);
  }
  let found = 0;
  try {
    for await (const entry of extract) {
      const name = entry.header.name;
      const base = path.posix.basename(name);
      if (entry.header.type !== 'file' || !IMAGE_EXT.test(name) || (opts.include && !opts.include(base))) {
        entry.resume();
        continue;
      }
      const chunks: Buffer[] = [];
      for await (const c of entry) chunks.push(c as Buffer);
      found++;
      yield { name, image: decodeImage(Buffer.concat(chunks), `${archive}:${name}`) };
    }
  } catch (err) {
    if (err instanceof MilkitDataError) throw err;
    throw new MilkitDataError(`unreadable archive: ${(err as Error).message}`, { file: archive });
  } finally {
    source.destroy();
  }
  if (found === 0)
    throw new MilkitDataError(
      'the archive contains no PNG or TIFF images' + (opts.include ? ' matching the selection' : ''),
      { file: archive },
    );
}

/** Streams the PNG/TIFF images of a folder (sorted by name); an empty folder is an error. */
export async function* readFolderImages(dir: string, opts: ReadImagesOptions = {}): AsyncGenerator<ArchiveImage> {
  let names: string[];
  try {
    names = fs
      .readdirSync(dir)
      .filter((n) => IMAGE_EXT.test(n) && (!opts.include || opts.include(n)))
      .sort();
  } catch (err) {
    throw new MilkitDataError(`cannot read image folder: ${(err as Error).message}`, { file: dir });
  }
  if (names.length === 0) throw new MilkitDataError('the folder contains no PNG or TIFF images', { file: dir });
  for (const name of names) yield { name, image: readImage(path.join(dir, name)) };
}

/** Images from a folder, a `.tar` or a `.tar.gz`, whichever `source` is. */
export function readImages(source: string, opts: ReadImagesOptions = {}): AsyncGenerator<ArchiveImage> {
  const isDir = fs.existsSync(source) && fs.statSync(source).isDirectory();
  return isDir ? readFolderImages(source, opts) : readArchiveImages(source, opts);
}

/** A bag of equally sized RGB patches, before featurisation (what the builders and SSL share). */
export interface PatchBag {
  id: string;
  label: number;
  patientId: string;
  /** Patch side in pixels. */
  size: number;
  /** Number of patches. */
  n: number;
  /** Patches back to back, `[n][size][size][3]` RGB bytes. */
  pixels: Uint8Array;
  /** Top-left corners `[x0, y0, x1, y1, ...]`. */
  coords: Int32Array;
  instanceLabels?: Int32Array;
  meta?: Record<string, string | number | null>;
}

/** Turns patches into instance features: a fixed function or a trained encoder. */
export interface PatchFeaturizer {
  /** Name recorded in the cohort's metadata. */
  readonly name: string;
  /** Feature width for patches of side `size`. */
  dim(size: number): number;
  /** Features `[n × dim]` of `n` patches stored as in `PatchBag.pixels`. */
  featurize(pixels: Uint8Array, n: number, size: number): Float32Array | Promise<Float32Array>;
}

/** Raw pixels scaled to [0, 1] (D = size·size·3, e.g. 2187 for 27 × 27, 3072 for 32 × 32). */
export const rawPixelFeaturizer: PatchFeaturizer = {
  name: 'raw-pixels',
  dim: (size) => size * size * 3,
  featurize: (pixels) => rawPixelFeatures(pixels),
};

/** `colorStatsFeatures` per patch (D = 30). */
export const colorStatsFeaturizer: PatchFeaturizer = {
  name: 'color-stats',
  dim: () => COLOR_STATS_DIM,
  featurize(pixels, n, size) {
    const per = size * size * 3;
    const out = new Float32Array(n * COLOR_STATS_DIM);
    for (let i = 0; i < n; i++)
      out.set(colorStatsFeatures(pixels.subarray(i * per, (i + 1) * per)), i * COLOR_STATS_DIM);
    return out;
  },
};

/** Built-in featurizers by name (CLI `--features`). */
export const PATCH_FEATURIZERS: Record<string, PatchFeaturizer> = {
  raw: rawPixelFeaturizer,
  'color-stats': colorStatsFeaturizer,
};

/** Packs tiles into a `PatchBag`'s pixel and coordinate arrays. */
export function packTiles(tiles: Tile[], size: number): { pixels: Uint8Array; coords: Int32Array } {
  const per = size * size * 3;
  const pixels = new Uint8Array(tiles.length * per);
  const coords = new Int32Array(tiles.length * 2);
  tiles.forEach((t, i) => {
    pixels.set(t.pixels, i * per);
    coords[2 * i] = t.x;
    coords[2 * i + 1] = t.y;
  });
  return { pixels, coords };
}

/** Progress of a cohort build: bags written so far (and the total when known). */
export type BuildProgress = (done: number, total: number | undefined, bagId: string) => void;

/**
 * Featurises a stream of patch bags and writes them as a cohort (with coordinates and instance
 * labels when present). One bag's pixels and features are in memory at a time.
 */
export async function writePatchCohort(
  file: string,
  bags: AsyncIterable<PatchBag> | Iterable<PatchBag>,
  featurizer: PatchFeaturizer,
  opts: { patchSize: number; metadata?: Record<string, string>; total?: number; onBag?: BuildProgress },
): Promise<WriteSummary> {
  const dim = featurizer.dim(opts.patchSize);
  let done = 0;
  async function* records(): AsyncGenerator<BagRecord> {
    for await (const bag of bags) {
      if (bag.size !== opts.patchSize)
        throw new MilkitDataError(`patch size ${bag.size} differs from the cohort's ${opts.patchSize}`, {
          file,
          bag: bag.id,
        });
      const features = await featurizer.featurize(bag.pixels, bag.n, bag.size);
      yield {
        id: bag.id,
        label: bag.label,
        patientId: bag.patientId,
        features,
        coords: bag.coords,
        instanceLabels: bag.instanceLabels,
        meta: bag.meta,
      };
      opts.onBag?.(++done, opts.total, bag.id);
    }
  }
  return writeCohort(file, records(), {
    dim,
    metadata: { 'milkit.features': featurizer.name, 'milkit.patch_size': String(opts.patchSize), ...opts.metadata },
  });
}
