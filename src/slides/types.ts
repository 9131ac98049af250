/** The one `Slide` interface every backend implements, and the errors slide reading raises. */
import { MilkitDataError } from '../data/errors';

/** Pixels of a region or image: `width × height` RGBA bytes, row-major; alpha 0 outside the slide. */
export interface RgbaImage {
  width: number;
  height: number;
  data: Uint8Array;
}

/** An RGB image (`width × height × 3` bytes), e.g. a thumbnail composited over white. */
export interface RgbPixels {
  width: number;
  height: number;
  data: Uint8Array;
}

/** One resolution of the pyramid. `downsample` is relative to level 0 (level 0 has 1). */
export interface SlideLevel {
  width: number;
  height: number;
  downsample: number;
  /** The stored tile size, where the format has tiles (strips count as full-width tiles). */
  tileWidth?: number;
  tileHeight?: number;
}

/** Which reader opened the slide. */
export type SlideBackend = 'openslide' | 'tiff' | 'image';

export interface Slide {
  /** The file as given to `openSlide`. */
  readonly path: string;
  readonly backend: SlideBackend;
  /** The format: OpenSlide's vendor (`aperio`, `hamamatsu`, `generic-tiff`, ...), `tiff`, `png`, `jpeg`. */
  readonly vendor: string;
  /** Level 0 first, then coarser levels. */
  readonly levels: readonly SlideLevel[];
  /** Level-0 size in pixels. */
  readonly width: number;
  readonly height: number;
  /** Microns per level-0 pixel, when the file records it (see metadata.ts for what counts). */
  readonly mpp: { x: number; y: number } | undefined;
  /** The scanner's objective power at level 0 (e.g. 20, 40), when recorded. */
  readonly objectivePower: number | undefined;
  /** Raw metadata, OpenSlide's names where they exist (`aperio.MPP`, `tiff.ImageDescription`, ...). */
  readonly properties: Readonly<Record<string, string>>;
  /** Names of associated images (`thumbnail`, `label`, `macro`), with their sizes. */
  readonly associatedImages: Readonly<Record<string, { width: number; height: number }>>;
  /**
   * `w × h` pixels of `level` whose top-left corner is at (`x`, `y`) in LEVEL-0 pixels (OpenSlide's
   * convention; level-L pixel = level-0 pixel / downsample, rounded down). Outside the slide and in
   * tiles the file does not store, alpha is 0. A tile that cannot be decoded rejects with
   * `CorruptTileError` (never black pixels).
   */
  readRegion(level: number, x: number, y: number, w: number, h: number): Promise<RgbaImage>;
  readAssociatedImage(name: string): Promise<RgbaImage>;
  close(): void;
}

/** A tile of the file that cannot be decoded: names the file, level and tile, for skip-or-fail. */
export class CorruptTileError extends MilkitDataError {
  constructor(
    file: string,
    readonly level: number,
    /** Tile column and row in the level's tile grid, when known. */
    readonly tiles: readonly { col: number; row: number }[],
    readonly reason: string,
  ) {
    const which = tiles.length
      ? `tile${tiles.length > 1 ? 's' : ''} ${tiles.map((t) => `(col ${t.col}, row ${t.row})`).join(', ')} ` +
        `of level ${level}`
      : `a tile of level ${level}`;
    super(
      `${which} cannot be decoded (${reason}): the slide is damaged; copy it again from the scanner, ` +
        'or pass --on-corrupt skip to leave out the patches that touch it',
      { file },
    );
    this.name = 'CorruptTileError';
  }
}
