/**
 * One page of a TIFF (a pyramid level or an associated image) for the pure-JS backend (tiff.ts),
 * read tile by tile through npm `geotiff` (strips are full-width tiles).
 *
 * What Aperio's JPEG tiles need: the Huffman and quantisation tables live once in the page's
 * JPEGTables tag (each tile is an abbreviated stream), and a page whose PhotometricInterpretation
 * is RGB holds RGB samples inside the JPEG (no YCbCr transform, whatever the JPEG stream's
 * component ids suggest), while YCbCr pages (libtiff/vips writers) need the JFIF conversion here.
 * geotiff's decoder reads the tables and returns the raw components, so both are handled below.
 */
import { MilkitDataError } from '../data/errors';

/** geotiff is ESM-only; a real dynamic import (tsc would turn `import()` into `require` in CJS). */
const importEsm = new Function('s', 'return import(s)') as (s: string) => Promise<unknown>;

/** The part of geotiff's API used here (its types are ESM-only). */
export interface GeoDirectory {
  getValue(name: string): unknown;
  loadValue(name: string): Promise<unknown>;
  hasTag(name: string): boolean;
}
interface GeoImage {
  fileDirectory: GeoDirectory;
}
export interface GeoTiff {
  getImageCount(): Promise<number>;
  getImage(i: number): Promise<GeoImage>;
  close?(): unknown;
}
interface GeoDecoder {
  decode(buf: ArrayBuffer): Promise<ArrayBuffer>;
}
export interface GeoModule {
  fromFile(file: string): Promise<GeoTiff>;
  getDecoder(compression: number, params: object): Promise<GeoDecoder>;
}
let geotiff: Promise<GeoModule> | undefined;
export const loadGeotiff = () => (geotiff ??= importEsm('geotiff') as Promise<GeoModule>);

export const COMPRESSION_NAMES: Record<number, string> = {
  1: 'none',
  5: 'LZW',
  7: 'JPEG',
  8: 'Deflate',
  32773: 'PackBits',
};
const PHOTOMETRIC = { whiteIsZero: 0, blackIsZero: 1, rgb: 2, ycbcr: 6 } as const;
/** Decoded tiles kept per slide (bytes of RGBA). */
export const CACHE_BYTES = 96 * 2 ** 20;

/** One TIFF page (a pyramid level or an associated image), read tile by tile (strips = full-width tiles). */
export class Page {
  readonly tilesAcross: number;
  readonly tilesDown: number;
  private decoder: Promise<GeoDecoder> | undefined;

  constructor(
    readonly index: number,
    readonly width: number,
    readonly height: number,
    readonly tileWidth: number,
    readonly tileHeight: number,
    readonly tiled: boolean,
    readonly description: string,
    private readonly dir: GeoDirectory,
    private readonly offsets: ArrayLike<number | bigint>,
    private readonly counts: ArrayLike<number | bigint>,
    readonly compression: number,
    readonly photometric: number,
    readonly samples: number,
    private readonly jpegTables: unknown,
  ) {
    this.tilesAcross = Math.ceil(width / tileWidth);
    this.tilesDown = Math.ceil(height / tileHeight);
  }

  static async read(index: number, img: GeoImage, file: string): Promise<Page> {
    const d = img.fileDirectory;
    const num = (name: string) => Number(d.getValue(name) ?? NaN);
    const width = num('ImageWidth');
    const height = num('ImageLength');
    const tiled = d.hasTag('TileOffsets');
    const tileWidth = tiled ? num('TileWidth') : width;
    const rows = num('RowsPerStrip');
    const tileHeight = tiled ? num('TileLength') : Number.isFinite(rows) && rows > 0 ? Math.min(rows, height) : height;
    const bits = d.getValue('BitsPerSample') as number[] | number | undefined;
    const bitList =
      Array.isArray(bits) || ArrayBuffer.isView(bits) ? Array.from(bits as number[]) : [Number(bits ?? 1)];
    const samples = num('SamplesPerPixel') || 1;
    const planar = num('PlanarConfiguration') || 1;
    const compression = num('Compression') || 1;
    const photometric = num('PhotometricInterpretation');
    const where = `page ${index}`;
    if (bitList.some((b) => b !== 8))
      throw new MilkitDataError(`${where} has ${bitList.join('/')} bits per sample; only 8-bit images are read`, {
        file,
      });
    if (planar !== 1)
      throw new MilkitDataError(`${where} stores colour planes separately (PlanarConfiguration 2), which is not read`, {
        file,
      });
    if (!Object.values(PHOTOMETRIC).includes(photometric as 0))
      throw new MilkitDataError(
        `${where} has PhotometricInterpretation ${photometric}; RGB, YCbCr and greyscale are read`,
        { file },
      );
    if (photometric === PHOTOMETRIC.ycbcr && compression !== 7)
      throw new MilkitDataError(`${where} is YCbCr without JPEG compression, which is not read`, { file });
    const offsets = (await d.loadValue(tiled ? 'TileOffsets' : 'StripOffsets')) as ArrayLike<number>;
    const counts = (await d.loadValue(tiled ? 'TileByteCounts' : 'StripByteCounts')) as ArrayLike<number>;
    // Large tag values are deferred by geotiff (vips writes its metadata as XML here): loaded, not read.
    const description = d.hasTag('ImageDescription') ? String((await d.loadValue('ImageDescription')) ?? '') : '';
    // Loaded now: geotiff's own file handle is closed once the slide is open.
    const jpegTables = compression === 7 && d.hasTag('JPEGTables') ? await d.loadValue('JPEGTables') : undefined;
    return new Page(
      index,
      width,
      height,
      tileWidth,
      tileHeight,
      tiled,
      description,
      d,
      offsets,
      counts,
      compression,
      photometric,
      samples,
      jpegTables,
    );
  }

  /** geotiff's decoder for this page (JPEG gets the page's shared tables). */
  async decoderFor(mod: GeoModule): Promise<GeoDecoder> {
    this.decoder ??= (async () => {
      const d = this.dir;
      const params = {
        tileWidth: this.tileWidth,
        tileHeight: this.tileHeight,
        planarConfiguration: 1,
        bitsPerSample: d.getValue('BitsPerSample'),
        predictor: Number(d.getValue('Predictor') ?? 1) || 1,
        ...(this.jpegTables ? { JPEGTables: this.jpegTables } : {}),
      };
      try {
        return await mod.getDecoder(this.compression, params);
      } catch {
        throw new Error(
          `compression ${this.compression} (${COMPRESSION_NAMES[this.compression] ?? 'unknown'}) is not supported`,
        );
      }
    })();
    return this.decoder;
  }

  /** Byte range of tile `i` in the file (count 0: the file does not store this tile). */
  range(i: number): { offset: number; count: number } {
    return { offset: Number(this.offsets[i]), count: Number(this.counts[i]) };
  }

  /** One past the last byte of pixel data any tile of this page uses. */
  dataEnd(): number {
    let end = 0;
    for (let i = 0; i < this.offsets.length; i++) end = Math.max(end, Number(this.offsets[i]) + Number(this.counts[i]));
    return end;
  }

  /** Rows of tile row `row` that lie inside the page (strips and edge tiles may be shorter). */
  rowsOf(row: number): number {
    return Math.min(this.tileHeight, this.height - row * this.tileHeight);
  }

  /** Decoded samples → RGBA, `tileWidth × rows` (JPEG tiles decode to their full padded size). */
  toRgba(raw: Uint8Array, rows: number, reason: (why: string) => Error): Uint8Array {
    const w = this.tileWidth;
    const spp = this.samples;
    const decodedRows = Math.floor(raw.length / (w * spp));
    if (decodedRows < rows) throw reason(`decoded ${raw.length} bytes, expected ${w * rows * spp}`);
    const n = w * rows;
    const out = new Uint8Array(n * 4);
    const pm = this.photometric;
    for (let i = 0; i < n; i++) {
      const s = i * spp;
      let r: number;
      let g: number;
      let b: number;
      if (spp >= 3 && pm === PHOTOMETRIC.ycbcr) {
        // JFIF's YCbCr → RGB (what libjpeg applies for these pages).
        const y = raw[s];
        const cb = raw[s + 1] - 128;
        const cr = raw[s + 2] - 128;
        r = y + 1.402 * cr;
        g = y - 0.344136 * cb - 0.714136 * cr;
        b = y + 1.772 * cb;
      } else if (spp >= 3) {
        r = raw[s];
        g = raw[s + 1];
        b = raw[s + 2];
      } else {
        r = g = b = pm === PHOTOMETRIC.whiteIsZero ? 255 - raw[s] : raw[s];
      }
      out[4 * i] = r < 0 ? 0 : r > 255 ? 255 : r + 0.5;
      out[4 * i + 1] = g < 0 ? 0 : g > 255 ? 255 : g + 0.5;
      out[4 * i + 2] = b < 0 ? 0 : b > 255 ? 255 : b + 0.5;
      out[4 * i + 3] = spp === 4 || spp === 2 ? raw[s + spp - 1] : 255;
    }
    return out;
  }
}
