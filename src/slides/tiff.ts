/**
 * The pure-JS TIFF backend (npm `geotiff` parses the directories and decodes JPEG, LZW, Deflate,
 * PackBits tiles and strips): Aperio SVS, generic pyramidal tiled TIFF (one level per page, e.g.
 * `vips tiffsave --tile --pyramid`) and plain strip TIFF (one level). Used where OpenSlide is not
 * installed, and for TIFFs OpenSlide does not open (strip TIFFs).
 *
 * Pages (levels, associated images) and their tile decoding, including what Aperio's JPEG tiles
 * need, are in tiffPage.ts.
 *
 * Tiles are read from the file on demand (never the whole file) and kept in a small LRU cache.
 */
import * as fs from 'node:fs';
import { MilkitDataError } from '../data/errors';
import {
  isAperioDescription,
  mppFromProperties,
  objectivePowerFromProperties,
  parseAperioDescription,
} from './metadata';
import {
  CACHE_BYTES,
  COMPRESSION_NAMES,
  type GeoDirectory,
  type GeoModule,
  type GeoTiff,
  Page,
  loadGeotiff,
} from './tiffPage';
import { CorruptTileError, type RgbaImage, type Slide, type SlideLevel } from './types';

/**
 * Walks the file's directory chain and throws a clear error when a directory lies past the end of
 * the file (a truncated copy: geotiff would read zeros there and report nonsense).
 */
async function checkDirectories(fd: fs.promises.FileHandle, size: number, file: string): Promise<void> {
  const truncated = (what: string) =>
    new MilkitDataError(`the file is truncated: ${what} lies past its end (${size} bytes); copy the slide again`, {
      file,
    });
  const head = Buffer.alloc(16);
  await fd.read(head, 0, 16, 0);
  const le = head[0] === 0x49;
  const big = (le ? head.readUInt16LE(2) : head.readUInt16BE(2)) === 43;
  const u16 = (b: Buffer, o: number) => (le ? b.readUInt16LE(o) : b.readUInt16BE(o));
  const u32 = (b: Buffer, o: number) => (le ? b.readUInt32LE(o) : b.readUInt32BE(o));
  const u64 = (b: Buffer, o: number) => Number(le ? b.readBigUInt64LE(o) : b.readBigUInt64BE(o));
  let offset = big ? u64(head, 8) : u32(head, 4);
  for (let page = 0; offset !== 0 && page < 10_000; page++) {
    const countBytes = big ? 8 : 2;
    if (offset + countBytes > size) throw truncated(`directory ${page} (at byte ${offset})`);
    const cb = Buffer.alloc(countBytes);
    await fd.read(cb, 0, countBytes, offset);
    const entries = big ? u64(cb, 0) : u16(cb, 0);
    const entryBytes = big ? 20 : 12;
    const end = offset + countBytes + entries * entryBytes + (big ? 8 : 4);
    if (end > size) throw truncated(`directory ${page} (bytes ${offset}..${end})`);
    const next = Buffer.alloc(big ? 8 : 4);
    await fd.read(next, 0, next.length, end - next.length);
    offset = big ? u64(next, 0) : u32(next, 0);
  }
}

export class TiffSlide implements Slide {
  readonly backend = 'tiff' as const;
  readonly width: number;
  readonly height: number;
  readonly mpp: { x: number; y: number } | undefined;
  readonly objectivePower: number | undefined;
  readonly associatedImages: Readonly<Record<string, { width: number; height: number }>>;
  private readonly cache = new Map<string, Promise<Uint8Array | null>>();
  private cacheBytes = 0;
  private closed = false;

  private constructor(
    readonly path: string,
    private readonly mod: GeoModule,
    private readonly fd: fs.promises.FileHandle,
    private readonly fileSize: number,
    readonly vendor: string,
    private readonly levelPages: Page[],
    readonly levels: readonly SlideLevel[],
    private readonly associatedPages: Record<string, Page>,
    readonly properties: Readonly<Record<string, string>>,
  ) {
    this.width = levels[0].width;
    this.height = levels[0].height;
    this.mpp = mppFromProperties(properties);
    this.objectivePower = objectivePowerFromProperties(properties);
    this.associatedImages = Object.fromEntries(
      Object.entries(associatedPages).map(([k, p]) => [k, { width: p.width, height: p.height }]),
    );
  }

  static async open(file: string): Promise<TiffSlide> {
    const mod = await loadGeotiff();
    const size = (await fs.promises.stat(file)).size;
    const fd = await fs.promises.open(file, 'r');
    try {
      return await TiffSlide.openWith(file, mod, fd, size);
    } catch (err) {
      await fd.close();
      throw err;
    }
  }

  private static async openWith(
    file: string,
    mod: GeoModule,
    fd: fs.promises.FileHandle,
    size: number,
  ): Promise<TiffSlide> {
    await checkDirectories(fd, size, file);
    let tiff: GeoTiff | undefined;
    try {
      tiff = await mod.fromFile(file);
      return await TiffSlide.fromPages(file, mod, fd, size, tiff);
    } catch (err) {
      if (err instanceof MilkitDataError) throw err;
      throw new MilkitDataError(
        `cannot read the TIFF structure (${(err as Error).message}); the file is truncated or not a TIFF`,
        { file },
      );
    } finally {
      // Everything needed later was loaded: tiles are read through `fd`.
      await tiff?.close?.();
    }
  }

  private static async fromPages(
    file: string,
    mod: GeoModule,
    fd: fs.promises.FileHandle,
    size: number,
    tiff: GeoTiff,
  ): Promise<TiffSlide> {
    const pages: Page[] = [];
    const n = await tiff.getImageCount();
    for (let i = 0; i < n; i++) pages.push(await Page.read(i, await tiff.getImage(i), file));
    if (pages.length === 0) throw new MilkitDataError('the TIFF holds no image', { file });
    const first = pages[0];
    const aperio = isAperioDescription(first.description);
    const props: Record<string, string> = {};
    if (first.description) props['tiff.ImageDescription'] = first.description;
    const dir0 = (first as unknown as { dir: GeoDirectory }).dir;
    const res = async (name: string) => {
      if (!dir0.hasTag(name)) return undefined;
      const v = (await dir0.loadValue(name)) as ArrayLike<number> | number;
      return typeof v === 'number' ? v : v[0] / (v[1] || 1);
    };
    const [xres, yres] = [await res('XResolution'), await res('YResolution')];
    if (xres !== undefined) {
      const unit = Number(dir0.hasTag('ResolutionUnit') ? dir0.getValue('ResolutionUnit') : 2);
      props['tiff.XResolution'] = String(xres);
      props['tiff.YResolution'] = String(yres ?? xres);
      props['tiff.ResolutionUnit'] = unit === 3 ? 'centimeter' : unit === 2 ? 'inch' : 'none';
    }
    const associated: Record<string, Page> = {};
    let levelPages: Page[];
    if (aperio) {
      Object.assign(props, parseAperioDescription(first.description));
      // Aperio: tiled pages are levels; the first stripped page is the thumbnail; label and macro say so.
      levelPages = pages.filter((p) => p.tiled);
      for (const p of pages.filter((q) => !q.tiled)) {
        const name = /\blabel\b/i.test(p.description)
          ? 'label'
          : /\bmacro\b/i.test(p.description)
            ? 'macro'
            : 'thumbnail';
        associated[name] ??= p;
      }
    } else {
      // Generic TIFF: page 0 and the smaller pages of the same shape (reduced resolutions).
      const aspect = first.width / first.height;
      levelPages = pages.filter(
        (p, i) =>
          i === 0 ||
          (p.tiled === first.tiled && p.width < first.width && Math.abs(p.width / p.height / aspect - 1) < 0.02),
      );
    }
    if (levelPages.length === 0) throw new MilkitDataError('the TIFF holds no tiled image', { file });
    levelPages.sort((a, b) => b.width - a.width);
    const base = levelPages[0];
    const levels = levelPages.map((p) => ({
      width: p.width,
      height: p.height,
      // OpenSlide's definition: the mean of the two axes' ratios.
      downsample: (base.width / p.width + base.height / p.height) / 2,
      tileWidth: p.tileWidth,
      tileHeight: p.tileHeight,
    }));
    for (const p of [...levelPages, ...Object.values(associated)]) {
      const end = p.dataEnd();
      if (end > size)
        throw new MilkitDataError(
          `the file is truncated: page ${p.index}'s pixel data runs to ` +
            `byte ${end}, past its end (${size} bytes); copy the slide again`,
          { file },
        );
    }
    const vendor = aperio ? 'aperio' : 'tiff';
    return new TiffSlide(file, mod, fd, size, vendor, levelPages, levels, associated, Object.freeze(props));
  }

  async readRegion(level: number, x: number, y: number, w: number, h: number): Promise<RgbaImage> {
    if (this.closed) throw new MilkitDataError('the slide is closed', { file: this.path });
    if (!Number.isInteger(level) || level < 0 || level >= this.levels.length)
      throw new MilkitDataError(`level ${level} does not exist (the slide has ${this.levels.length})`, {
        file: this.path,
      });
    if (!Number.isInteger(w) || !Number.isInteger(h) || w < 1 || h < 1)
      throw new MilkitDataError(`region size must be positive integers, got ${w}×${h}`, { file: this.path });
    const ds = this.levels[level].downsample;
    return this.readPage(this.levelPages[level], level, Math.floor(x / ds), Math.floor(y / ds), w, h);
  }

  async readAssociatedImage(name: string): Promise<RgbaImage> {
    const page = this.associatedPages[name];
    if (!page)
      throw new MilkitDataError(
        `no associated image "${name}" (the slide has: ${Object.keys(this.associatedPages).join(', ') || 'none'})`,
        { file: this.path },
      );
    return this.readPage(page, -1, 0, 0, page.width, page.height);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.cache.clear();
    void this.fd.close();
  }

  /** Pixels [lx, lx+w) × [ly, ly+h) of a page, assembled from its tiles. */
  private async readPage(page: Page, level: number, lx: number, ly: number, w: number, h: number): Promise<RgbaImage> {
    const out = new Uint8Array(w * h * 4);
    const c0 = Math.max(0, Math.floor(lx / page.tileWidth));
    const r0 = Math.max(0, Math.floor(ly / page.tileHeight));
    const c1 = Math.min(page.tilesAcross, Math.ceil((lx + w) / page.tileWidth));
    const r1 = Math.min(page.tilesDown, Math.ceil((ly + h) / page.tileHeight));
    const jobs: Promise<void>[] = [];
    const broken: { col: number; row: number; why: string }[] = [];
    for (let row = r0; row < r1; row++) {
      for (let col = c0; col < c1; col++) {
        jobs.push(
          this.tile(page, level, col, row).then(
            (rgba) => {
              if (rgba) blit(rgba, page, col, row, out, lx, ly, w, h);
            },
            (err: Error) => {
              broken.push({ col, row, why: err.message });
            },
          ),
        );
      }
    }
    await Promise.all(jobs);
    if (broken.length) {
      const tiles = broken.map(({ col, row }) => ({ col, row }));
      if (level < 0)
        throw new MilkitDataError(`an associated image cannot be decoded (${broken[0].why})`, { file: this.path });
      throw new CorruptTileError(this.path, level, tiles, broken[0].why);
    }
    return { width: w, height: h, data: out };
  }

  /** One decoded tile as RGBA (null: the file does not store it), through the LRU cache. */
  private tile(page: Page, level: number, col: number, row: number): Promise<Uint8Array | null> {
    const key = `${page.index}:${col}:${row}`;
    const hit = this.cache.get(key);
    if (hit) {
      this.cache.delete(key);
      this.cache.set(key, hit);
      return hit;
    }
    const p = this.decodeTile(page, col, row);
    this.cache.set(key, p);
    void p.then(
      (t) => {
        this.cacheBytes += t?.length ?? 0;
        for (const [k, v] of this.cache) {
          if (this.cacheBytes <= CACHE_BYTES) break;
          this.cache.delete(k);
          void v.then((old) => (this.cacheBytes -= old?.length ?? 0));
        }
      },
      () => this.cache.delete(key),
    );
    void level;
    return p;
  }

  private async decodeTile(page: Page, col: number, row: number): Promise<Uint8Array | null> {
    const { offset, count } = page.range(row * page.tilesAcross + col);
    if (count === 0) return null;
    if (!(offset >= 0) || offset + count > this.fileSize)
      throw new Error(
        `its bytes ${offset}..${offset + count} lie past the end ` +
          `of the file (${this.fileSize} bytes): the file is truncated`,
      );
    const buf = new Uint8Array(count);
    await this.fd.read(buf, 0, count, offset);
    const decoder = await page.decoderFor(this.mod);
    let raw: ArrayBuffer;
    try {
      raw = await decoder.decode(buf.buffer);
    } catch (err) {
      throw new Error(`${COMPRESSION_NAMES[page.compression] ?? 'compressed'} data: ${(err as Error).message}`);
    }
    return page.toRgba(new Uint8Array(raw), page.rowsOf(row), (why) => new Error(why));
  }
}

/** Copies the part of tile (col, row) that falls in the region into `out`. */
function blit(
  rgba: Uint8Array,
  page: Page,
  col: number,
  row: number,
  out: Uint8Array,
  lx: number,
  ly: number,
  w: number,
  h: number,
): void {
  const tx = col * page.tileWidth;
  const ty = row * page.tileHeight;
  const rows = page.rowsOf(row);
  const cols = Math.min(page.tileWidth, page.width - tx);
  const x0 = Math.max(lx, tx);
  const x1 = Math.min(lx + w, tx + cols);
  const y0 = Math.max(ly, ty);
  const y1 = Math.min(ly + h, ty + rows);
  if (x1 <= x0) return;
  for (let y = y0; y < y1; y++) {
    const src = ((y - ty) * page.tileWidth + (x0 - tx)) * 4;
    out.set(rgba.subarray(src, src + (x1 - x0) * 4), ((y - ly) * w + (x0 - lx)) * 4);
  }
}
