/**
 * `milkit heatmap` — a trained model's patch scores for one bag (attention, or an instance class
 * probability) drawn over that bag's slide as a PNG (src/slides/heatmap.ts).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { useBackend } from '../../backend';
import { Cohort } from '../../data/cohort';
import { MilkitDataError } from '../../data/errors';
import { writeFileAtomic } from '../../persist/atomic';
import { findTrainedModels, loadTrainedModel } from '../../persist/model';
import { checkSlideMatchesBag, slideHeatmap } from '../../slides/heatmap';
import { openSlide } from '../../slides/open';
import type { SlideBackend } from '../../slides/types';
import { predictInstances } from '../../train';
import { HEAT_SCALES, type HeatScale } from '../../viz/scale';
import { type Command, UsageError, parseArgs, requireFlag } from '../command';
import { describeFlags, type FlagSpec } from '../flags';

const flags: FlagSpec = {
  run: { type: 'string', help: 'a run folder of milkit train, or one fold folder in it (with model.ckpt)' },
  fold: { type: 'string', help: 'fold folder inside a run folder, e.g. rep0-fold2' },
  data: { type: 'string', help: 'cohort with the bag (default: the cohort the run was trained on)' },
  bag: { type: 'string', help: 'bag id (the slide id of milkit slides embed)' },
  slide: { type: 'string', help: 'the slide file the bag was tiled from (default: the path the cohort recorded)' },
  out: { type: 'string', alias: 'o', help: 'PNG file to write' },
  score: { type: 'string', default: 'auto', help: 'attention | probability | auto (attention when the model has it)' },
  class: { type: 'number', help: 'class whose instance probability is drawn (default: the last class)' },
  scale: { type: 'string', default: 'percentile', help: 'score → colour: percentile | linear | log' },
  opacity: { type: 'number', default: 0.5, help: 'weight of the colour over the tissue, 0..1' },
  size: { type: 'number', default: 2048, help: 'longest side of the drawn slide in pixels' },
  level: { type: 'number', help: 'draw this whole pyramid level instead (overrides --size)' },
  'patch-size': { type: 'number', help: 'patch side in level-0 pixels, for cohorts that do not record it' },
  backend: { type: 'string', default: 'auto', help: 'slide reader: auto | openslide | tiff | image' },
  json: { type: 'boolean', help: 'print what was drawn as JSON' },
};

/** The cohort the run was trained on, from its results.json (run folder or the fold's parent). */
function trainedData(run: string): string | undefined {
  for (const dir of [run, path.dirname(run)]) {
    const file = path.join(dir, 'results.json');
    if (!fs.existsSync(file)) continue;
    const p = (JSON.parse(fs.readFileSync(file, 'utf8')) as { data?: { path?: string } }).data?.path;
    if (p) return p;
  }
  return undefined;
}

export const heatmap: Command = {
  name: 'heatmap',
  summary: "a trained model's attention or instance probabilities over a slide, as a PNG",
  usage: [
    'milkit heatmap --run RUN_DIR [--fold rep0-fold0] --bag ID [--slide SLIDE] --out heat.png',
    '               [--score attention|probability] [--scale percentile|linear|log] [--opacity 0.5]',
    '',
    'The bag comes from the cohort the run was trained on (or --data); its patches must carry',
    'coordinates (milkit slides embed, or CLAM/TRIDENT .h5 through milkit convert h5). A slide that',
    'is not the one the bag was tiled from is refused (its size or content differ).',
    '',
    describeFlags(flags),
  ].join('\n'),
  async run(argv, ctx) {
    const { flags: f } = parseArgs(argv, flags, []);
    const run = requireFlag(f, 'run');
    const bagId = requireFlag(f, 'bag');
    const out = requireFlag(f, 'out');
    const score = String(f.score);
    if (!['auto', 'attention', 'probability'].includes(score))
      throw new UsageError(`--score must be attention, probability or auto, got "${score}"`);
    const scale = String(f.scale);
    if (!(HEAT_SCALES as readonly string[]).includes(scale))
      throw new UsageError(`--scale must be one of ${HEAT_SCALES.join(', ')}, got "${scale}"`);
    const opacity = f.opacity as number;
    if (!(opacity >= 0 && opacity <= 1)) throw new UsageError(`--opacity must lie in [0, 1], got ${opacity}`);
    const backendName = String(f.backend);
    if (!['auto', 'openslide', 'tiff', 'image'].includes(backendName))
      throw new UsageError(`--backend must be auto, openslide, tiff or image, got "${backendName}"`);

    const files = findTrainedModels(f.fold ? path.join(run, f.fold as string) : run);
    if (files.length > 1)
      throw new UsageError(
        `${run} holds ${files.length} fold models; choose one with --fold ` +
          `(${files.map((x) => path.basename(path.dirname(x))).join(', ')}); ` +
          'for an honest heatmap pick a fold whose test set holds the bag',
      );
    const dataPath = (f.data as string | undefined) ?? trainedData(run);
    if (!dataPath) throw new UsageError(`${run} has no results.json naming its cohort; pass --data cohort.arrow`);

    await useBackend();
    const cohort = await Cohort.open(dataPath);
    const bag = await cohort.bag(bagId).finally(() => void cohort.close());
    const coords = bag.coords;
    if (!coords)
      throw new MilkitDataError(
        'the bag has no patch coordinates, so its scores cannot be placed on the slide',
        { file: cohort.path, bag: bagId, field: 'x, y' },
        'build the cohort with milkit slides embed (or from CLAM/TRIDENT .h5 files, which keep coords)',
      );
    const patchSize =
      (f['patch-size'] as number | undefined) ??
      (typeof bag.meta.patch_size_level0 === 'number' ? bag.meta.patch_size_level0 : undefined);
    if (!patchSize || !(patchSize > 0))
      throw new MilkitDataError(
        'the cohort does not record the patch size in level-0 pixels (meta_patch_size_level0)',
        { file: cohort.path, bag: bagId, field: 'meta_patch_size_level0' },
        'pass --patch-size (e.g. 512 for 256-px patches at 20× tiled from a 40× slide)',
      );
    const slidePath =
      (f.slide as string | undefined) ?? (typeof bag.meta.slide_path === 'string' ? bag.meta.slide_path : undefined);
    if (!slidePath) throw new UsageError('the cohort does not record the slide file of the bag; pass --slide SLIDE');

    const trained = loadTrainedModel(files[0]);
    let values: Float32Array;
    let what: string;
    try {
      if (trained.model.config.inputDim !== bag.dim)
        throw new MilkitDataError(
          `the bag has ${bag.dim} features per patch, the model takes ${trained.model.config.inputDim}`,
          { file: cohort.path, bag: bagId },
          'use the cohort the model was trained on (--data)',
        );
      const r = await predictInstances(trained.model, bag, trained.stats);
      if (score !== 'probability' && r.attention) {
        values = r.attention;
        what = 'attention';
      } else if (score !== 'attention' && r.instanceProbs) {
        const C = r.instanceProbs.length / bag.numInstances;
        const c = (f.class as number | undefined) ?? C - 1;
        if (!Number.isInteger(c) || c < 0 || c >= C)
          throw new UsageError(`--class must be one of 0..${C - 1}, got ${f.class}`);
        values = Float32Array.from({ length: bag.numInstances }, (_, i) => r.instanceProbs![i * C + c]);
        what = `P(class ${cohort.classes?.[c] ?? c})`;
      } else
        throw new UsageError(
          `${trained.model.name} gives ` +
            `no ${score === 'auto' ? 'attention or instance probabilities' : score} per patch; ` +
            `choose ${
              r.attention
                ? '--score attention'
                : r.instanceProbs
                  ? '--score probability'
                  : 'a model with attention (e.g. abmil)'
            }`,
        );
      if (values.length !== bag.numInstances)
        throw new Error(`${trained.model.name} returned ${values.length} scores for ${bag.numInstances} patches`);
    } finally {
      trained.model.dispose();
    }

    const slide = await openSlide(slidePath, { backend: backendName as SlideBackend | 'auto' });
    try {
      checkSlideMatchesBag(slide, { id: bag.id, coords, meta: bag.meta }, patchSize);
      const h = await slideHeatmap(slide, values, coords, {
        patchSize,
        scale: scale as HeatScale,
        opacity,
        maxSide: f.size as number,
        ...(f.level !== undefined ? { level: f.level as number } : {}),
        title: what,
      });
      writeFileAtomic(out, [h.png]);
      const summary = {
        out,
        bag: bagId,
        slide: slidePath,
        model: trained.model.name,
        fold: path.basename(path.dirname(files[0])),
        score: what,
        scale,
        patches: values.length,
        min: h.scaled.min,
        max: h.scaled.max,
        width: h.width,
        height: h.height,
      };
      if (f.json) ctx.json(summary);
      else
        ctx.print(
          `${values.length} patches of ${bagId} (${what} of ${trained.model.name}, ${scale} scale) over ` +
            `${path.basename(slidePath)} (${slide.width} × ${slide.height} px) → ${out} (${h.width} × ${h.height})`,
        );
    } finally {
      slide.close();
    }
    return 0;
  },
};
