/** `openSlide(path, { backend })`: picks the reader for a file. */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { MilkitDataError } from '../data/errors';
import { ImageSlide } from './image';
import { OpenSlideSlide, openslideAddon, openslideMissingReason } from './openslide';
import { TiffSlide } from './tiff';
import type { Slide, SlideBackend } from './types';

export interface OpenSlideOptions {
  /**
   * `auto` (default): OpenSlide when it is installed and recognises the file, else the pure-JS
   * TIFF reader for TIFFs and the image reader for PNG/JPEG. A named backend is used or refused.
   */
  backend?: SlideBackend | 'auto';
}

/** Formats only OpenSlide reads (the pure-JS reader would misread them). */
const OPENSLIDE_ONLY = new Set(['.ndpi', '.vms', '.vmu', '.mrxs', '.scn', '.bif', '.svslide']);

type Kind = 'tiff' | 'png' | 'jpeg' | 'other';

function sniff(file: string): Kind {
  const head = Buffer.alloc(8);
  const fd = fs.openSync(file, 'r');
  try {
    fs.readSync(fd, head, 0, 8, 0);
  } finally {
    fs.closeSync(fd);
  }
  const le = head[0] === 0x49 && head[1] === 0x49 && (head[2] === 42 || head[2] === 43) && head[3] === 0;
  const be = head[0] === 0x4d && head[1] === 0x4d && head[2] === 0 && (head[3] === 42 || head[3] === 43);
  if (le || be) return 'tiff';
  if (head[0] === 0x89 && head[1] === 0x50 && head[2] === 0x4e && head[3] === 0x47) return 'png';
  if (head[0] === 0xff && head[1] === 0xd8 && head[2] === 0xff) return 'jpeg';
  return 'other';
}

/** Opens a whole-slide image or a plain image as a `Slide`. Errors name the file and what to do. */
export async function openSlide(file: string, opts: OpenSlideOptions = {}): Promise<Slide> {
  const backend = opts.backend ?? 'auto';
  let stat: fs.Stats;
  try {
    stat = fs.statSync(file);
  } catch {
    throw new MilkitDataError('no such file', { file });
  }
  if (!stat.isFile()) throw new MilkitDataError('not a file (give a slide file, not a folder)', { file });
  if (stat.size === 0) throw new MilkitDataError('the file is empty', { file });
  const kind = sniff(file);
  const ext = path.extname(file).toLowerCase();

  if (backend === 'openslide' || (backend === 'auto' && openslideAddon())) {
    const slide = OpenSlideSlide.open(file);
    if (slide) return slide;
    if (backend === 'openslide')
      throw new MilkitDataError(
        'OpenSlide does not recognise this file (it reads SVS, NDPI, MRXS, SCN, BIF, VMS and tiled TIFF; ' +
          'a truncated or damaged copy is not recognised either); use --backend auto to open strip TIFFs ' +
          'and PNG/JPEG images, or to see what is wrong with a TIFF',
        { file },
      );
  }
  if (backend === 'auto' && OPENSLIDE_ONLY.has(ext)) throw new MilkitDataError(openslideMissingReason(), { file });
  if ((backend === 'auto' || backend === 'tiff') && kind === 'tiff') return TiffSlide.open(file);
  if ((backend === 'auto' || backend === 'image') && (kind === 'png' || kind === 'jpeg'))
    return ImageSlide.open(file, kind);
  const what =
    kind === 'other'
      ? 'not a slide: neither a format OpenSlide reads nor a TIFF, PNG or JPEG image'
      : `a ${kind.toUpperCase()} file cannot be read with --backend ${backend}`;
  throw new MilkitDataError(`${what}; give an SVS/tiled TIFF slide or a PNG/JPEG/TIFF image`, { file });
}
