/**
 * The OpenSlide backend: native/src/openslide.c (built by `npm ci` when libopenslide-dev is
 * installed). Opens every format OpenSlide knows (Aperio SVS, Hamamatsu NDPI/VMS, MIRAX, Leica SCN,
 * Ventana BIF, Philips TIFF, generic tiled TIFF). Reads run on libuv's thread pool.
 */
import * as path from 'node:path';
import { MilkitDataError } from '../data/errors';
import { mppFromProperties, objectivePowerFromProperties } from './metadata';
import { CorruptTileError, type RgbaImage, type Slide, type SlideLevel } from './types';

type Handle = object;
interface Addon {
  version(): string;
  detectVendor(file: string): string | null;
  open(file: string): Handle | null;
  close(h: Handle): void;
  describe(h: Handle): {
    levels: { width: number; height: number; downsample: number }[];
    properties: Record<string, string>;
    associated: Record<string, [number, number]>;
  };
  readAssociated(h: Handle, name: string): Buffer;
  readRegion(h: Handle, level: number, x: number, y: number, w: number, h2: number): Promise<Buffer>;
}

export const OPENSLIDE_ADDON = path.join(__dirname, '..', '..', 'native', 'build', 'Release', 'milkit_openslide.node');

let addon: Addon | null | undefined;
let addonError = '';

/**
 * The addon, or null when it was not built (no libopenslide-dev at install), cannot load, or
 * MILKIT_NO_OPENSLIDE=1 turns it off (to use or test the pure-JS reader on a machine that has it).
 */
export function openslideAddon(): Addon | null {
  if (process.env.MILKIT_NO_OPENSLIDE === '1') {
    addonError = 'MILKIT_NO_OPENSLIDE=1 is set';
    return null;
  }
  if (addon === undefined) {
    try {
      // eslint-disable-next-line @typescript-eslint/no-require-imports -- a native addon loads through require
      addon = require(OPENSLIDE_ADDON) as Addon;
    } catch (err) {
      addon = null;
      addonError = (err as Error).message.split('\n')[0];
    }
  }
  return addon;
}

/** Why OpenSlide is unavailable, as advice for an error message. */
export function openslideMissingReason(): string {
  return (
    `OpenSlide is not available (${addonError || 'native/build/Release/milkit_openslide.node was not built'}): ` +
    'install it (Debian: apt-get install libopenslide-dev) and rebuild with `node native/build.cjs`'
  );
}

function wrapBuffer(b: Buffer): Uint8Array {
  return new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
}

export class OpenSlideSlide implements Slide {
  readonly backend = 'openslide' as const;
  readonly vendor: string;
  readonly levels: readonly SlideLevel[];
  readonly width: number;
  readonly height: number;
  readonly mpp: { x: number; y: number } | undefined;
  readonly objectivePower: number | undefined;
  readonly properties: Readonly<Record<string, string>>;
  readonly associatedImages: Readonly<Record<string, { width: number; height: number }>>;
  private handle: Handle;
  /** Bumped each time the handle is replaced after an error (OpenSlide's errors are sticky). */
  private generation = 0;
  private closed = false;

  private constructor(
    readonly path: string,
    private readonly lib: Addon,
    handle: Handle,
  ) {
    this.handle = handle;
    let d: ReturnType<Addon['describe']>;
    try {
      d = lib.describe(handle);
    } catch (err) {
      lib.close(handle);
      throw new MilkitDataError(`OpenSlide cannot read the slide's metadata: ${(err as Error).message}`, {
        file: path,
      });
    }
    this.properties = Object.freeze({ ...d.properties });
    this.vendor = d.properties['openslide.vendor'] ?? 'unknown';
    this.levels = d.levels.map((l, i) => {
      const tw = Number(d.properties[`openslide.level[${i}].tile-width`]);
      const th = Number(d.properties[`openslide.level[${i}].tile-height`]);
      return { ...l, ...(tw > 0 && th > 0 ? { tileWidth: tw, tileHeight: th } : {}) };
    });
    this.width = this.levels[0].width;
    this.height = this.levels[0].height;
    this.mpp = mppFromProperties(this.properties);
    this.objectivePower = objectivePowerFromProperties(this.properties);
    this.associatedImages = Object.fromEntries(
      Object.entries(d.associated).map(([k, [w, h]]) => [k, { width: w, height: h }]),
    );
  }

  /** Opens `file`, or returns null when OpenSlide does not recognise the format. */
  static open(file: string): OpenSlideSlide | null {
    const lib = openslideAddon();
    if (!lib) throw new MilkitDataError(openslideMissingReason(), { file });
    if (!lib.detectVendor(file)) return null;
    let h: Handle | null;
    try {
      h = lib.open(file);
    } catch (err) {
      throw new MilkitDataError(
        `OpenSlide cannot open the slide (${(err as Error).message}); the file may be truncated or damaged`,
        { file },
      );
    }
    return h ? new OpenSlideSlide(file, lib, h) : null;
  }

  async readRegion(level: number, x: number, y: number, w: number, h: number): Promise<RgbaImage> {
    this.check(level, w, h);
    for (let attempt = 0; ; attempt++) {
      const generation = this.generation;
      try {
        const buf = await this.lib.readRegion(this.handle, level, Math.floor(x), Math.floor(y), w, h);
        return { width: w, height: h, data: wrapBuffer(buf) };
      } catch (err) {
        const reason = (err as Error).message;
        if (this.closed) throw new MilkitDataError('the slide was closed during a read', { file: this.path });
        // Another read's failure replaced the handle, or poisoned it under this read: try again.
        if (this.generation !== generation && attempt < 2) continue;
        this.replaceHandle();
        const bad = this.coveredTiles(level, x, y, w, h);
        const broken = bad ? await this.probeTiles(level, bad) : [];
        if (bad && broken.length === 0 && attempt < 2) continue;
        throw new CorruptTileError(this.path, level, broken, reason);
      }
    }
  }

  async readAssociatedImage(name: string): Promise<RgbaImage> {
    const dims = this.associatedImages[name];
    if (!dims)
      throw new MilkitDataError(
        `no associated image "${name}" (the slide has: ${Object.keys(this.associatedImages).join(', ') || 'none'})`,
        { file: this.path },
      );
    try {
      const buf = this.lib.readAssociated(this.handle, name);
      return { width: dims.width, height: dims.height, data: wrapBuffer(buf) };
    } catch (err) {
      this.replaceHandle();
      throw new MilkitDataError(`the ${name} image cannot be decoded (${(err as Error).message})`, {
        file: this.path,
      });
    }
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.lib.close(this.handle);
  }

  private check(level: number, w: number, h: number): void {
    if (this.closed) throw new MilkitDataError('the slide is closed', { file: this.path });
    if (!Number.isInteger(level) || level < 0 || level >= this.levels.length)
      throw new MilkitDataError(`level ${level} does not exist (the slide has ${this.levels.length})`, {
        file: this.path,
      });
    if (!Number.isInteger(w) || !Number.isInteger(h) || w < 1 || h < 1)
      throw new MilkitDataError(`region size must be positive integers, got ${w}×${h}`, { file: this.path });
  }

  private replaceHandle(): void {
    const fresh = this.lib.open(this.path);
    if (!fresh) throw new MilkitDataError('OpenSlide no longer recognises the slide', { file: this.path });
    this.lib.close(this.handle);
    this.handle = fresh;
    this.generation++;
  }

  /** The level's tiles that the region touches, or undefined when the tile size is unknown. */
  private coveredTiles(level: number, x: number, y: number, w: number, h: number) {
    const lv = this.levels[level];
    if (!lv.tileWidth || !lv.tileHeight) return undefined;
    const lx = Math.max(0, Math.floor(x / lv.downsample));
    const ly = Math.max(0, Math.floor(y / lv.downsample));
    const tiles: { col: number; row: number }[] = [];
    const c1 = Math.min(Math.ceil(lv.width / lv.tileWidth), Math.ceil((lx + w) / lv.tileWidth));
    const r1 = Math.min(Math.ceil(lv.height / lv.tileHeight), Math.ceil((ly + h) / lv.tileHeight));
    for (let row = Math.floor(ly / lv.tileHeight); row < r1; row++)
      for (let col = Math.floor(lx / lv.tileWidth); col < c1; col++) tiles.push({ col, row });
    return tiles;
  }

  /** Reads each tile alone on a private handle (reopened after each failure): the ones that fail. */
  private async probeTiles(level: number, tiles: { col: number; row: number }[]) {
    const lv = this.levels[level];
    const broken: { col: number; row: number }[] = [];
    let probe = this.lib.open(this.path);
    if (!probe) return broken;
    for (const t of tiles) {
      const x = Math.ceil(t.col * lv.tileWidth! * lv.downsample);
      const y = Math.ceil(t.row * lv.tileHeight! * lv.downsample);
      try {
        await this.lib.readRegion(probe, level, x, y, 1, 1);
      } catch {
        broken.push(t);
        this.lib.close(probe);
        probe = this.lib.open(this.path);
        if (!probe) return broken;
      }
    }
    this.lib.close(probe);
    return broken;
  }
}
