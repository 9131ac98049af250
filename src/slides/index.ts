/**
 * Whole-slide images: open, find tissue, tile at a magnification, read patches.
 *
 * ```ts
 * import { openSlide, readThumbnail, detectTissue, planTiling, gridPatches, readPatches } from 'milkit';
 *
 * const slide = await openSlide('CMU-1.svs');           // { backend: 'openslide' | 'tiff' | 'image' } to force one
 * slide.levels;          // [{ width, height, downsample, tileWidth?, tileHeight? }], level 0 first
 * slide.mpp;             // { x, y } µm per level-0 pixel, or undefined
 * slide.objectivePower;  // 20, 40, or undefined
 * slide.associatedImages // { thumbnail: { width, height }, label: ..., macro: ... }
 * const region = await slide.readRegion(level, x, y, w, h); // RGBA; x, y in LEVEL-0 pixels (OpenSlide's convention)
 * const label = await slide.readAssociatedImage('label');
 *
 * const thumb = await readThumbnail(slide, 32);          // RGB over white, 32× smaller than level 0
 * const mask = detectTissue(thumb, slide.mpp!.x * thumb.downsample.x, { excludePen: true });
 * const plan = planTiling(slide, { magnification: 20, patchSize: 256, overlap: 0 });
 * const grid = gridPatches(plan, slide, mask, 0.5);      // grid.coords: level-0 x, y pairs
 * for await (const batch of readPatches(slide, grid.coords, plan, { batchSize: 64 })) {
 *   batch.pixels; // batch.n × 256 × 256 × 3 RGB bytes, batch.coords, batch.indices
 * }
 * slide.close();
 * ```
 *
 * `tileSlides(files, outDir, { tiling, tissue })` does the above for many slides and writes, per
 * slide, `patches/<id>.h5` (CLAM/TRIDENT-style `coords` with the tiling in its attributes),
 * `masks/<id>.png` and `previews/<id>.png` (output.ts); `readPatchFile` reads it back, and
 * `patchGeometry(attrs)` turns its attributes into what `readPatches` needs. Re-runs skip finished
 * slides and refuse folders tiled under other settings (pipeline.ts).
 *
 * `embedSlides(dir, out, encoder, { labels })` turns a tiled folder into a labelled cohort with an
 * SSL checkpoint (`sslSlideEncoder`, pretrained on `sampleTiledPatches`) or an ONNX model
 * (`onnxSlideEncoder`) (embed.ts); `slideHeatmap` draws patch scores over the slide (heatmap.ts),
 * with the score → colour mapping in overlay.ts (also in `milkit/core`).
 *
 * Backends (open.ts): OpenSlide through the optional addon native/src/openslide.c (every format
 * OpenSlide reads), else a pure-JS TIFF reader (tiff.ts: SVS, tiled pyramidal and strip TIFF) and
 * PNG/JPEG as single-level slides (image.ts). Errors are `MilkitDataError`s naming the file;
 * an undecodable tile is a `CorruptTileError` naming the level and tile.
 */
export * from './types';
export * from './open';
export * from './slide';
export * from './resample';
export * from './metadata';
export * from './tissue';
export * from './tiling';
export * from './patches';
export * from './output';
export * from './pipeline';
export * from './embed';
export * from './embedSsl';
export * from './embedOnnx';
export * from './overlay';
export * from './heatmap';
export * from './view';
export { OpenSlideSlide, openslideAddon } from './openslide';
export { TiffSlide } from './tiff';
export { ImageSlide } from './image';
