/**
 * `embedSlides`: the output folder of `slides tile` → patch features → a labelled cohort.
 *
 * Each slide's patches are read in batches (never the whole slide) and encoded; its features go
 * to `DIR/features_<encoder>/<slide_id>.h5`, TRIDENT's layout (`features` [N, D] float32 and
 * `coords` [N, 2] with the tiling attributes, so `milkit convert h5` and CLAM/TRIDENT tools read it
 * too), written atomically with a fingerprint of the patches and the encoder (its file's hash and
 * settings). A re-run skips slides whose features match, so an interrupted run resumes; features
 * made under another encoder or tiling are refused unless `overwrite`. Then the labelled slides
 * are streamed into one cohort (docs/FORMAT.md) with their coordinates, per-bag slide metadata
 * (`meta_slide_width`, `meta_patch_size_level0`, ...: what `milkit heatmap` checks a slide
 * against) and the tiling and encoder in the schema metadata.
 */
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { BagRecord } from '../data/bag';
import { CLASSES_KEY } from '../data/classes';
import { matchLabelledFiles, readH5Slide } from '../data/convert/h5';
import { type LabelOptions, readLabelTable } from '../data/convert/labels';
import { MilkitDataError, type NoticeSink, stderrNotice } from '../data/errors';
import type { PatchFeaturizer } from '../data/images';
import { type WriteSummary, writeCohort } from '../data/writer';
import { removeStaleTempFiles } from '../persist/atomic';
import { type RunFingerprint, fingerprintDifferences, runFingerprint, sha256 } from '../persist/fingerprint';
import { openSlide } from './open';
import { type CoordsAttrs, patchGeometry, readPatchFile, writePatchFile } from './output';
import { readPatches } from './patches';
import { resizeRgb } from './resample';
import { slideIdentity, withFolderLock } from './pipeline';
import type { SlideBackend } from './types';

/** A patch encoder for `embedSlides` (SSL checkpoint or ONNX model: embedSsl.ts, embedOnnx.ts). */
export interface SlideEncoder extends PatchFeaturizer {
  /** A file-name-safe name; the per-slide features go to `features_<name>/`. */
  readonly name: string;
  /** What decides the features (kind, the model file's SHA-256, preprocessing): fingerprinted and recorded. */
  readonly identity: Record<string, unknown>;
  /** Where it runs (e.g. `onnxruntime cpu`, `tfjs wasm`): recorded, not fingerprinted. */
  readonly device: string;
  /** Patches per forward pass it prefers. */
  readonly batchSize: number;
  dispose(): void;
}

/** A file's SHA-256, read in 1-MiB chunks (model files can be large). */
export function fileSha256(file: string): string {
  const fd = fs.openSync(file, 'r');
  try {
    const h = createHash('sha256');
    const buf = Buffer.alloc(2 ** 20);
    for (let n; (n = fs.readSync(fd, buf, 0, buf.length, null)) > 0;) h.update(buf.subarray(0, n));
    return h.digest('hex');
  } finally {
    fs.closeSync(fd);
  }
}

/** A file name as part of a folder name: letters, digits, `.`, `_`, `-`. */
export function safeName(name: string): string {
  return name.replace(/[^A-Za-z0-9._-]+/g, '_');
}

/** `n` RGB patches of side `from` → side `to` (area resampling); the same bytes when the sides match. */
export function resizePatches(pixels: Uint8Array, n: number, from: number, to: number): Uint8Array {
  if (from === to) return pixels;
  const out = new Uint8Array(n * to * to * 3);
  const per = from * from * 3;
  for (let i = 0; i < n; i++) {
    const img = { width: from, height: from, data: pixels.subarray(i * per, (i + 1) * per) };
    out.set(resizeRgb(img, to, to).data, i * to * to * 3);
  }
  return out;
}

/** A slide as `slides tile` left it: its coordinates file and the slide file it came from. */
export interface TiledSlide {
  id: string;
  patchFile: string;
  coords: Int32Array;
  tissue: Float32Array;
  attrs: CoordsAttrs;
  /** The slide file: where it was tiled, or its name under the `slides` folder. */
  slidePath: string;
  /** Content identity recorded at tiling (pipeline.ts `slideIdentity`), when recorded. */
  identity?: string;
}

/** `dir/patches`, or an error saying `dir` is not a `slides tile` output. */
export function patchesFolder(dir: string): string {
  const folder = path.join(dir, 'patches');
  if (!fs.existsSync(folder) || !fs.statSync(folder).isDirectory())
    throw new MilkitDataError(
      'not a folder written by milkit slides tile (it has no patches/ folder)',
      { file: dir },
      'give the --out folder of milkit slides tile, or tile the slides first',
    );
  return folder;
}

/** Ids of the tiled slides in `dir` (sorted). */
export function tiledSlideIds(dir: string): string[] {
  return fs
    .readdirSync(patchesFolder(dir))
    .filter((f) => f.endsWith('.h5'))
    .map((f) => f.slice(0, -3))
    .sort();
}

/**
 * Reads a tiled slide's coordinates and finds its slide file (at the recorded path, or by file
 * name under `slides` when the slides moved); a slide whose content changed since tiling is refused.
 */
export async function readTiledSlide(dir: string, id: string, opts: { slides?: string } = {}): Promise<TiledSlide> {
  const patchFile = path.join(patchesFolder(dir), `${id}.h5`);
  const { coords, tissue, attrs } = await readPatchFile(patchFile);
  const recorded = typeof attrs.slide_path === 'string' ? attrs.slide_path : undefined;
  if (!recorded && !opts.slides)
    throw new MilkitDataError(
      'the coordinates file does not record its slide file',
      { file: patchFile, field: 'slide_path' },
      'pass --slides FOLDER holding the slide files',
    );
  const slidePath = opts.slides ? path.join(opts.slides, path.basename(recorded ?? id)) : recorded!;
  if (!fs.existsSync(slidePath))
    throw new MilkitDataError(
      `the slide it was tiled from is not at ${slidePath}`,
      { file: patchFile, field: 'slide_path' },
      opts.slides
        ? `put ${path.basename(slidePath)} into ${opts.slides}, or give the folder that holds it`
        : 'pass --slides FOLDER holding the slide files (when they moved)',
    );
  let identity: string | undefined;
  try {
    const parts = JSON.parse(String(attrs.fingerprint_parts ?? '{}')) as { slide?: unknown };
    if (typeof parts.slide === 'string') identity = parts.slide;
  } catch {
    // a CLAM/TRIDENT coordinates file: no identity to check
  }
  if (identity && slideIdentity(slidePath) !== identity)
    throw new MilkitDataError(
      `the slide file is not the one ${patchFile} was tiled from (its content differs)`,
      { file: slidePath },
      'give the original slide, or tile this one again (milkit slides tile ... --overwrite)',
    );
  return { id, patchFile, coords, tissue, attrs, slidePath, identity };
}

export interface EmbedOptions extends LabelOptions {
  /** The labels CSV: `case_id,slide_id,label` (CLAM) or `slide_id,label[,patient_id]`. */
  labels: string;
  /** Leave out CSV rows whose slide was not tiled (default: refuse). */
  skipMissing?: boolean;
  /** Leave out tiled slides without a CSV row (default: refuse). */
  skipUnlabelled?: boolean;
  /** A folder holding the slide files, when they are no longer where they were tiled. */
  slides?: string;
  backend?: SlideBackend | 'auto';
  /** Redo slides whose features were made with another encoder or tiling. */
  overwrite?: boolean;
  /** A patch on an undecodable tile: fail (default), or leave the patch out (counted per slide). */
  onCorrupt?: 'fail' | 'skip';
  /** Patches encoded within a slide so far. */
  onProgress?: (slideId: string, done: number, total: number) => void;
  onSlide?: (result: EmbedResult) => void;
  onNotice?: NoticeSink;
}

export interface EmbedResult {
  slideId: string;
  status: 'embedded' | 'skipped';
  patches: number;
  /** Patches left out on undecodable tiles (`onCorrupt: 'skip'`). */
  skippedPatches: number;
  featureFile: string;
  seconds: number;
}

/** The features folder of an encoder inside a tiled folder. */
export function featuresFolder(dir: string, encoderName: string): string {
  return path.join(dir, `features_${encoderName}`);
}

/** What decides a slide's features: its patches (tiling fingerprint + coordinates) and the encoder. */
function embedFingerprint(t: TiledSlide, encoder: SlideEncoder): RunFingerprint {
  const coords = new Uint8Array(t.coords.buffer, t.coords.byteOffset, t.coords.byteLength);
  return runFingerprint({
    patches: { tiling: String(t.attrs.fingerprint ?? ''), coords: `sha256:${sha256(coords)}` },
    encoder: encoder.identity,
  });
}

function savedFingerprint(attrs: CoordsAttrs): RunFingerprint {
  let parts: Record<string, unknown> = {};
  try {
    parts = JSON.parse(String(attrs.embed_fingerprint_parts ?? '{}')) as Record<string, unknown>;
  } catch {
    // not written by slides embed: the hash alone says it differs
  }
  return { hash: String(attrs.embed_fingerprint ?? ''), parts };
}

/** Encodes one slide's patches into `file` (or skips it when its features are current). */
async function embedSlide(
  t: TiledSlide,
  file: string,
  encoder: SlideEncoder,
  opts: EmbedOptions,
): Promise<EmbedResult> {
  const start = Date.now();
  const fingerprint = embedFingerprint(t, encoder);
  const result = (status: EmbedResult['status'], patches: number, skippedPatches = 0): EmbedResult => ({
    slideId: t.id,
    status,
    patches,
    skippedPatches,
    featureFile: file,
    seconds: (Date.now() - start) / 1000,
  });
  if (fs.existsSync(file)) {
    const old = await readPatchFile(file);
    const changed = fingerprintDifferences(savedFingerprint(old.attrs), fingerprint);
    if (changed.length === 0) return result('skipped', old.coords.length / 2, Number(old.attrs.skipped_patches ?? 0));
    if (!opts.overwrite)
      throw new MilkitDataError(
        `its features were made from other patches or with another encoder (${changed.join('; ')})`,
        { file },
        'pass --overwrite to redo them, or embed into another tiled folder',
      );
  }
  const geometry = patchGeometry(t.attrs, t.patchFile);
  const total = t.coords.length / 2;
  const dim = encoder.dim(geometry.patchSize);
  const features = new Float32Array(total * dim);
  const kept: number[] = [];
  const slide = await openSlide(t.slidePath, { backend: opts.backend });
  let level0: [number, number];
  try {
    level0 = [slide.width, slide.height];
    const batches = readPatches(slide, t.coords, geometry, { batchSize: encoder.batchSize, onCorrupt: opts.onCorrupt });
    for await (const batch of batches) {
      const f = await encoder.featurize(batch.pixels, batch.n, geometry.patchSize);
      if (f.length !== batch.n * dim)
        throw new Error(`encoder ${encoder.name} returned ${f.length} values for ${batch.n} × ${dim}`);
      features.set(f, kept.length * dim);
      kept.push(...batch.indices);
      opts.onProgress?.(t.id, batch.indices[batch.n - 1] + 1, total);
    }
  } finally {
    slide.close();
  }
  if (kept.length === 0)
    throw new MilkitDataError(
      'every patch lies on an undecodable tile',
      { file: t.slidePath },
      'copy the slide again from the scanner',
    );
  const attrs: CoordsAttrs = {
    ...t.attrs,
    slide_path: path.resolve(t.slidePath),
    level0_dim: level0,
    encoder: encoder.name,
    encoder_identity: JSON.stringify(encoder.identity),
    embed_fingerprint: fingerprint.hash,
    embed_fingerprint_parts: JSON.stringify(fingerprint.parts),
    skipped_patches: total - kept.length,
  };
  if (t.identity) attrs.slide_identity = t.identity;
  const grid = {
    coords: Int32Array.from(kept.flatMap((i) => [t.coords[2 * i], t.coords[2 * i + 1]])),
    tissue: Float32Array.from(kept, (i) => t.tissue[i]),
    gridSize: total,
  };
  await writePatchFile(file, grid, attrs, { data: features.subarray(0, kept.length * dim), dim });
  return result('embedded', kept.length, total - kept.length);
}

/** A number attribute, or an error naming the file and attribute. */
function numAttr(attrs: CoordsAttrs, key: string, file: string): number {
  const v = attrs[key];
  if (typeof v !== 'number')
    throw new MilkitDataError(`the coordinates have no number attribute "${key}"`, { file, field: key }, 'tile again');
  return v;
}

/** The per-bag slide metadata of the cohort (what `milkit heatmap` checks a slide against). */
function bagMeta(attrs: CoordsAttrs, file: string): Record<string, string | number> {
  const level0 = attrs.level0_dim;
  const meta: Record<string, string | number> = {
    slide_path: String(attrs.slide_path ?? ''),
    patch_level: numAttr(attrs, 'patch_level', file),
    patch_size_level0: numAttr(attrs, 'patch_size_level0', file),
    level0_mpp: numAttr(attrs, 'level0_mpp', file),
    target_mpp: numAttr(attrs, 'target_mpp', file),
  };
  if (Array.isArray(level0)) [meta.slide_width, meta.slide_height] = level0;
  if (typeof attrs.slide_identity === 'string') meta.slide_identity = attrs.slide_identity;
  return meta;
}

/** The tiled slides of one cohort must share the patch size and magnification: one feature space. */
function checkOneTiling(slides: TiledSlide[]): void {
  const key = (t: TiledSlide) =>
    `${t.attrs.patch_size} px at ${Number(Number(t.attrs.target_magnification).toFixed(2))}×`;
  const first = slides[0];
  for (const t of slides) {
    const ratio = Number(t.attrs.target_magnification) / Number(first.attrs.target_magnification);
    if (t.attrs.patch_size !== first.attrs.patch_size || !(Math.abs(ratio - 1) < 0.02))
      throw new MilkitDataError(
        `the slides were tiled under different settings: ${first.id} ${key(first)}, ${t.id} ${key(t)}`,
        { file: t.patchFile, field: 'patch_size' },
        'tile every slide of a cohort with the same --patch-size and --magnification (or --target-mpp)',
      );
  }
}

/**
 * Embeds the tiled slides `ids` of `dir` into its features folder, without writing a cohort: one
 * shard of a sweep (src/sweep/embedUnit.ts), whose units hold disjoint slides under their own locks,
 * so the folder lock of `embedSlides` is not taken. Stops between slides when `signal` aborts
 * (finished slides are kept and skipped next time); returns the slides it finished.
 */
export async function embedTiledSlides(
  dir: string,
  ids: readonly string[],
  encoder: SlideEncoder,
  opts: Omit<EmbedOptions, 'labels'> & { signal?: AbortSignal },
): Promise<EmbedResult[]> {
  const tiled: TiledSlide[] = [];
  for (const id of ids) tiled.push(await readTiledSlide(dir, id, opts));
  checkOneTiling(tiled);
  const featuresDir = featuresFolder(dir, encoder.name);
  fs.mkdirSync(featuresDir, { recursive: true });
  const done: EmbedResult[] = [];
  for (const t of tiled) {
    if (opts.signal?.aborted) break;
    const r = await embedSlide(t, path.join(featuresDir, `${t.id}.h5`), encoder, opts as EmbedOptions);
    opts.onSlide?.(r);
    done.push(r);
  }
  return done;
}

/**
 * Embeds the labelled slides of the tiled folder `dir` with `encoder` and writes the cohort `out`
 * (see the module comment). Slides are encoded one at a time under a lock on the features folder.
 */
export async function embedSlides(
  dir: string,
  out: string,
  encoder: SlideEncoder,
  opts: EmbedOptions,
): Promise<{ slides: EmbedResult[]; cohort: WriteSummary; featuresDir: string; classes?: string[] }> {
  const notice = opts.onNotice ?? stderrNotice;
  const folder = patchesFolder(dir);
  const table = await readLabelTable(opts.labels, opts);
  const matched = matchLabelledFiles(
    table.rows,
    folder,
    opts.labels,
    {
      skipMissing: opts.skipMissing,
      unlabelled: 'refuse',
      skipUnlabelled: opts.skipUnlabelled,
      what: 'tiled patches (patches/<slide_id>.h5)',
      missingFix: 'tile them first (milkit slides tile), or remove their rows, or pass --skip-missing',
    },
    notice,
  );
  const tiled: TiledSlide[] = [];
  for (const m of matched) tiled.push(await readTiledSlide(dir, m.id, opts));
  checkOneTiling(tiled);
  const featuresDir = featuresFolder(dir, encoder.name);
  const results = await withFolderLock(featuresDir, 'embed', async () => {
    removeStaleTempFiles(featuresDir);
    const done: EmbedResult[] = [];
    for (const t of tiled) {
      const r = await embedSlide(t, path.join(featuresDir, `${t.id}.h5`), encoder, opts);
      opts.onSlide?.(r);
      done.push(r);
    }
    return done;
  });
  const first = tiled[0].attrs;
  const bags = (async function* (): AsyncGenerator<BagRecord> {
    for (const [i, m] of matched.entries()) {
      const file = results[i].featureFile;
      const { features, coords } = await readH5Slide(file);
      const { attrs } = await readPatchFile(file);
      yield {
        id: m.id,
        label: m.row.label,
        time: m.row.time,
        event: m.row.event,
        patientId: m.row.patientId,
        features,
        coords,
        meta: bagMeta(attrs, file),
      };
    }
  })();
  const metadata: Record<string, string> = {
    'milkit.source': path.resolve(dir),
    'milkit.builder': 'slides embed',
    'milkit.features': encoder.name,
    'milkit.encoder': JSON.stringify({ ...encoder.identity, device: encoder.device }),
    'milkit.patch_size': String(first.patch_size),
    'milkit.magnification': String(first.target_magnification),
    'milkit.mpp': String(first.target_mpp),
  };
  if (table.classes) metadata[CLASSES_KEY] = JSON.stringify(table.classes);
  const cohort = await writeCohort(out, bags, {
    dim: encoder.dim(Number(first.patch_size)),
    metadata,
    source: opts.labels,
  });
  return { slides: results, cohort, featuresDir, ...(table.classes ? { classes: table.classes } : {}) };
}
