/**
 * Plain images (PNG through pngjs, JPEG through jpeg-js) as single-level slides, e.g. TMA cores or
 * image patches a user already has. The image is decoded once into memory, so it is capped at
 * MAX_PLAIN_PIXELS: anything larger belongs in a tiled pyramidal TIFF.
 */
import * as fs from 'node:fs';
import { PNG } from 'pngjs';
import { MilkitDataError } from '../data/errors';
import type { RgbaImage, Slide, SlideLevel } from './types';

/** 256 megapixels (1 GiB of RGBA). */
export const MAX_PLAIN_PIXELS = 256 * 2 ** 20;

interface JpegJs {
  decode(
    buf: Uint8Array,
    opts: { useTArray: true; formatAsRGBA: true; maxMemoryUsageInMB?: number; maxResolutionInMP?: number },
  ): { width: number; height: number; data: Uint8Array };
}
// eslint-disable-next-line @typescript-eslint/no-require-imports -- jpeg-js ships no type declarations
const jpeg: JpegJs = require('jpeg-js');

export class ImageSlide implements Slide {
  readonly backend = 'image' as const;
  readonly levels: readonly SlideLevel[];
  readonly width: number;
  readonly height: number;
  readonly mpp = undefined;
  readonly objectivePower = undefined;
  readonly properties: Readonly<Record<string, string>>;
  readonly associatedImages = {};
  private pixels: Uint8Array | undefined;

  private constructor(
    readonly path: string,
    readonly vendor: 'png' | 'jpeg',
    image: RgbaImage,
  ) {
    this.width = image.width;
    this.height = image.height;
    this.pixels = image.data;
    this.levels = [{ width: image.width, height: image.height, downsample: 1 }];
    this.properties = Object.freeze({ 'openslide.vendor': vendor });
  }

  static open(file: string, kind: 'png' | 'jpeg'): ImageSlide {
    const buf = fs.readFileSync(file);
    let img: RgbaImage;
    try {
      if (kind === 'png') {
        const png = PNG.sync.read(buf);
        img = { width: png.width, height: png.height, data: new Uint8Array(png.data) };
      } else {
        const maxMB = Math.ceil((MAX_PLAIN_PIXELS * 4) / 2 ** 20);
        img = jpeg.decode(buf, {
          useTArray: true,
          formatAsRGBA: true,
          maxMemoryUsageInMB: maxMB,
          maxResolutionInMP: 256,
        });
      }
    } catch (err) {
      throw new MilkitDataError(`the ${kind.toUpperCase()} image cannot be decoded (${(err as Error).message})`, {
        file,
      });
    }
    if (img.width * img.height > MAX_PLAIN_PIXELS)
      throw new MilkitDataError(
        `a ${img.width}×${img.height} plain image is too large to read whole; ` +
          'write it as a tiled pyramidal TIFF first (vips tiffsave IN OUT.tif --tile --pyramid --compression jpeg)',
        { file },
      );
    return new ImageSlide(file, kind, img);
  }

  async readRegion(level: number, x: number, y: number, w: number, h: number): Promise<RgbaImage> {
    if (!this.pixels) throw new MilkitDataError('the slide is closed', { file: this.path });
    if (level !== 0)
      throw new MilkitDataError(`level ${level} does not exist (a plain image has 1)`, { file: this.path });
    if (!Number.isInteger(w) || !Number.isInteger(h) || w < 1 || h < 1)
      throw new MilkitDataError(`region size must be positive integers, got ${w}×${h}`, { file: this.path });
    const out = new Uint8Array(w * h * 4);
    const x0 = Math.floor(x);
    const y0 = Math.floor(y);
    const cx0 = Math.max(0, x0);
    const cx1 = Math.min(this.width, x0 + w);
    for (let r = Math.max(0, y0); r < Math.min(this.height, y0 + h) && cx1 > cx0; r++) {
      const src = (r * this.width + cx0) * 4;
      out.set(this.pixels.subarray(src, src + (cx1 - cx0) * 4), ((r - y0) * w + (cx0 - x0)) * 4);
    }
    return { width: w, height: h, data: out };
  }

  async readAssociatedImage(name: string): Promise<RgbaImage> {
    throw new MilkitDataError(`no associated image "${name}" (a plain image has none)`, { file: this.path });
  }

  close(): void {
    this.pixels = undefined;
  }
}
