/**
 * The "embed" unit kind: `milkit slides embed` over many slides, one unit per shard of slides.
 *
 * ```yaml
 * kind: embed
 * tiles: tiles/                 # the --out folder of `milkit slides tile` (relative to the plan)
 * encoder: ssl:encoder.ckpt     # or onnx:model.onnx (+ encoderConfig: model.json)
 * labels: labels.csv            # as `slides embed --labels`
 * out: cohort.arrow             # the cohort `milkit sweep collect` writes when every shard is done
 * slidesPerUnit: 8              # shard size (default 4)
 * ```
 * Planning loads the encoder once and matches the labels against the tiled slides, so a bad
 * checkpoint, a missing slide or a bad label fails before anything is submitted. Each unit embeds
 * its slides into the tiled folder's `features_<encoder>/` (one file per slide, written atomically;
 * a slide with current features is skipped, so a stopped unit resumes at its next slide). Collect
 * runs `slides embed` over the whole folder once every shard is done: every slide is then skipped
 * and the labelled cohort is written.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ensureBackend } from '../backend';
import { matchLabelledFiles } from '../data/convert/h5';
import { readLabelTable } from '../data/convert/labels';
import type { NoticeSink } from '../data/errors';
import type { SlideBackend } from '../slides/types';
import type { EmbedOptions, EmbedResult, SlideEncoder } from '../slides/embed';
import {
  type EmbedManifest,
  type SweepFolder,
  type UnitBase,
  toJson,
  writeJsonAtomic,
  writeTextAtomic,
  unitRun,
} from './folder';
import { SweepPlanError } from './plan';
import { type UnitState, sweepStatus } from './status';

/** A sweep plan of kind embed, as written. */
export interface EmbedPlan {
  kind: 'embed';
  name?: string;
  tiles: string;
  /** `ssl:CHECKPOINT` or `onnx:MODEL.onnx`, as `slides embed --encoder`. */
  encoder: string;
  encoderConfig?: string;
  labels: string;
  out: string;
  slidesPerUnit?: number;
  batchSize?: number;
  /** ONNX: auto | cpu | cuda. */
  provider?: 'auto' | 'cpu' | 'cuda';
  /** A folder holding the slide files, when they moved since tiling. */
  slides?: string;
  backend?: SlideBackend | 'auto';
  onCorrupt?: 'fail' | 'skip';
  skipMissing?: boolean;
  skipUnlabelled?: boolean;
  patientColumn?: string;
  classes?: string[];
}

/** An embed plan with absolute paths, defaults filled in, and the encoder it loaded at planning. */
export interface ResolvedEmbedPlan {
  name: string;
  tiles: string;
  encoder: {
    kind: 'ssl' | 'onnx';
    file: string;
    config?: string;
    batchSize?: number;
    provider: 'auto' | 'cpu' | 'cuda';
  };
  /** What the encoder is (name, identity): recorded, and each unit refuses another. */
  encoderName: string;
  encoderIdentity: Record<string, unknown>;
  labels: string;
  out: string;
  slidesPerUnit: number;
  options: Pick<
    EmbedOptions,
    'slides' | 'backend' | 'onCorrupt' | 'skipMissing' | 'skipUnlabelled' | 'patientColumn' | 'classes'
  >;
}

/** A unit of an embed sweep: the slides of one shard. */
export interface EmbedUnit extends UnitBase {
  slides: string[];
}

/** What a finished embed unit writes (`units/<id>/result.json`). */
export interface EmbedUnitResult {
  format: 'milkit-sweep-embed-unit';
  unit: EmbedUnit;
  slides: EmbedResult[];
  seconds: number;
  processStartedAt: string;
  host: string;
  slurmJob?: string;
  finishedAt: string;
}

const EMBED_KEYS = [
  'kind',
  'name',
  'tiles',
  'encoder',
  'encoderConfig',
  'labels',
  'out',
  'slidesPerUnit',
  'batchSize',
  'provider',
  'slides',
  'backend',
  'onCorrupt',
  'skipMissing',
  'skipUnlabelled',
  'patientColumn',
  'classes',
];

const show = (v: unknown) => JSON.stringify(v) ?? String(v);

/** Checks an embed plan and resolves its paths against `baseDir`; every problem at once. */
export function resolveEmbedPlan(
  raw: Record<string, unknown>,
  opts: { baseDir: string; file?: string },
): ResolvedEmbedPlan {
  const problems: string[] = [];
  for (const key of Object.keys(raw))
    if (!EMBED_KEYS.includes(key)) problems.push(`${key}: unknown field of an embed plan`);
  const file = (key: string, required: boolean, mustExist = true): string | undefined => {
    const v = raw[key];
    if (v === undefined) {
      if (required) problems.push(`${key}: missing`);
      return undefined;
    }
    if (typeof v !== 'string' || !v) {
      problems.push(`${key}: must be a path, got ${show(v)}`);
      return undefined;
    }
    const abs = path.resolve(opts.baseDir, v);
    if (mustExist && !fs.existsSync(abs)) problems.push(`${key}: not found: ${abs}`);
    return abs;
  };
  const tiles = file('tiles', true);
  if (tiles && fs.existsSync(tiles) && !fs.existsSync(path.join(tiles, 'patches')))
    problems.push(`tiles: ${tiles} is not a folder written by milkit slides tile (it has no patches/ folder)`);
  const labels = file('labels', true);
  const out = file('out', true, false);
  const slides = file('slides', false);
  const encoderConfig = file('encoderConfig', false);
  const spec = raw.encoder;
  const m = typeof spec === 'string' ? /^(ssl|onnx):(.+)$/.exec(spec) : null;
  let encoderFile: string | undefined;
  if (!m) problems.push(`encoder: must be ssl:CHECKPOINT or onnx:MODEL.onnx, got ${show(spec)}`);
  else {
    encoderFile = path.resolve(opts.baseDir, m[2]);
    if (!fs.existsSync(encoderFile)) problems.push(`encoder: not found: ${encoderFile}`);
    if (m[1] === 'ssl' && encoderConfig) problems.push('encoderConfig: only for onnx: encoders');
  }
  const positive = (key: string, def?: number) => {
    const v = raw[key] ?? def;
    if (v !== undefined && !(Number.isInteger(v) && (v as number) >= 1))
      problems.push(`${key}: must be a positive integer, got ${show(v)}`);
    return v as number | undefined;
  };
  const slidesPerUnit = positive('slidesPerUnit', 4)!;
  const batchSize = positive('batchSize');
  const oneOf = <T extends string>(key: string, values: readonly T[], def: T): T => {
    const v = raw[key] ?? def;
    if (!values.includes(v as T)) problems.push(`${key}: must be one of ${values.join(', ')}, got ${show(v)}`);
    return v as T;
  };
  const provider = oneOf('provider', ['auto', 'cpu', 'cuda'] as const, 'auto');
  const backend = oneOf('backend', ['auto', 'openslide', 'tiff', 'image'] as const, 'auto');
  const onCorrupt = oneOf('onCorrupt', ['fail', 'skip'] as const, 'fail');
  for (const key of ['skipMissing', 'skipUnlabelled'])
    if (raw[key] !== undefined && typeof raw[key] !== 'boolean') problems.push(`${key}: must be true or false`);
  if (raw.patientColumn !== undefined && (typeof raw.patientColumn !== 'string' || !raw.patientColumn))
    problems.push('patientColumn: must be a column name');
  const classes = raw.classes;
  if (classes !== undefined && !(Array.isArray(classes) && classes.every((c) => typeof c === 'string' && c)))
    problems.push(`classes: must be a list of class names, got ${show(classes)}`);
  if (raw.name !== undefined && (typeof raw.name !== 'string' || !/^[\w.-]+$/.test(raw.name)))
    problems.push(`name: letters, digits, "-", "_" and "." only, got ${show(raw.name)}`);
  if (problems.length) throw new SweepPlanError(problems, opts.file);
  return {
    name: (raw.name as string | undefined) ?? `embed-${path.basename(out!).replace(/(\.bags)?\.arrow$/, '')}`,
    tiles: tiles!,
    encoder: {
      kind: m![1] as 'ssl' | 'onnx',
      file: encoderFile!,
      ...(encoderConfig ? { config: encoderConfig } : {}),
      ...(batchSize ? { batchSize } : {}),
      provider,
    },
    encoderName: '',
    encoderIdentity: {},
    labels: labels!,
    out: out!,
    slidesPerUnit,
    options: {
      ...(slides ? { slides } : {}),
      backend: backend as SlideBackend | 'auto',
      onCorrupt,
      skipMissing: raw.skipMissing === true,
      skipUnlabelled: raw.skipUnlabelled === true,
      ...(raw.patientColumn ? { patientColumn: raw.patientColumn as string } : {}),
      ...(classes ? { classes: classes as string[] } : {}),
    },
  };
}

/* eslint-disable @typescript-eslint/no-require-imports -- slide modules and ONNX Runtime load only for embed sweeps */
const slidesEmbed = () => require('../slides/embed') as typeof import('../slides/embed');
const slidesSsl = () => require('../slides/embedSsl') as typeof import('../slides/embedSsl');
const slidesOnnx = () => require('../slides/embedOnnx') as typeof import('../slides/embedOnnx');
/* eslint-enable @typescript-eslint/no-require-imports */

/** Loads the plan's encoder (as `slides embed --encoder` does). */
export async function loadEncoder(plan: ResolvedEmbedPlan, onNotice?: NoticeSink): Promise<SlideEncoder> {
  const e = plan.encoder;
  if (e.kind === 'ssl') {
    await ensureBackend();
    return slidesSsl().sslSlideEncoder(e.file, { batchSize: e.batchSize });
  }
  return slidesOnnx().onnxSlideEncoder(e.file, {
    config: e.config,
    batchSize: e.batchSize,
    provider: e.provider,
    ...(onNotice ? { onNotice } : {}),
  });
}

/**
 * Loads the encoder once (a bad checkpoint fails here), matches the labels against the tiled
 * slides (as `slides embed` would), and cuts the slides into shards of `slidesPerUnit`.
 */
export async function planEmbedUnits(
  plan: ResolvedEmbedPlan,
  file?: string,
): Promise<{ plan: ResolvedEmbedPlan; units: EmbedUnit[] }> {
  let encoder: SlideEncoder;
  try {
    encoder = await loadEncoder(plan);
  } catch (err) {
    throw new SweepPlanError([`encoder: ${(err as Error).message}`], file);
  }
  try {
    const table = await readLabelTable(plan.labels, plan.options);
    const matched = matchLabelledFiles(
      table.rows,
      slidesEmbed().patchesFolder(plan.tiles),
      plan.labels,
      {
        skipMissing: plan.options.skipMissing,
        unlabelled: 'refuse',
        skipUnlabelled: plan.options.skipUnlabelled,
        what: 'tiled patches (patches/<slide_id>.h5)',
        missingFix: 'tile them first (milkit slides tile), or remove their rows, or set skipMissing: true',
      },
      () => undefined,
    );
    const ids = [...new Set(matched.map((x) => x.id))].sort();
    // Each slide's file is found (and checked against its tiling) before anything is submitted.
    for (const id of ids) await slidesEmbed().readTiledSlide(plan.tiles, id, plan.options);
    const units: EmbedUnit[] = [];
    for (let i = 0; i < ids.length; i += plan.slidesPerUnit)
      units.push({
        index: units.length,
        id: `shard-${String(units.length).padStart(4, '0')}`,
        slides: ids.slice(i, i + plan.slidesPerUnit),
      });
    return {
      plan: { ...plan, encoderName: encoder.name, encoderIdentity: encoder.identity },
      units,
    };
  } finally {
    encoder.dispose();
  }
}

/** Embeds one shard's slides. Returns undefined when `signal` stopped it (finished slides are kept). */
export async function runEmbedUnit(
  folder: SweepFolder,
  manifest: EmbedManifest,
  unit: EmbedUnit,
  opts: { signal?: AbortSignal; log: (line: string) => void },
): Promise<EmbedUnitResult | undefined> {
  const started = Date.now();
  const plan = manifest.plan;
  const encoder = await loadEncoder(plan, (msg) => opts.log(`note: ${msg}`));
  try {
    if (JSON.stringify(encoder.identity) !== JSON.stringify(plan.encoderIdentity))
      throw new Error(
        `the encoder ${plan.encoder.file} changed since the sweep was ` +
          `planned (${encoder.name}); plan a new sweep into a new folder`,
      );
    opts.log(
      `unit ${unit.id} (${unit.index}): ${unit.slides.length} slide(s) with ${encoder.name} (${encoder.device})`,
    );
    const slides = await slidesEmbed().embedTiledSlides(plan.tiles, unit.slides, encoder, {
      ...plan.options,
      signal: opts.signal,
      onSlide: (r) =>
        opts.log(
          `${r.slideId}: ${r.patches} ` +
            `patches ${r.status === 'skipped' ? '(already embedded)' : `in ${r.seconds.toFixed(1)} s`}`,
        ),
    });
    if (slides.length < unit.slides.length) return undefined;
    const result: EmbedUnitResult = {
      format: 'milkit-sweep-embed-unit',
      unit,
      slides,
      ...unitRun(started),
    };
    writeJsonAtomic(folder.resultPath(unit), result);
    return result;
  } finally {
    encoder.dispose();
  }
}

/** What `sweep collect` of an embed sweep reports (results/summary.{json,md}). */
export interface EmbedSummary {
  format: 'milkit-sweep-embed';
  name: string;
  dir: string;
  complete: boolean;
  missing: { id: string; state: UnitState; detail?: string }[];
  slides: {
    unit: string;
    slideId: string;
    patches: number;
    skippedPatches: number;
    seconds: number;
    featureFile: string;
  }[];
  /** The cohort, written once every unit is done. */
  cohort?: { path: string; bags: number; instances: number; dim: number; classes?: string[] };
}

/**
 * Collects an embed sweep: the per-slide table of the finished shards and, when every shard is
 * done, the labelled cohort at the plan's `out` (by `slides embed`, every slide's features current).
 */
export async function collectEmbedSweep(folder: SweepFolder, manifest: EmbedManifest): Promise<EmbedSummary> {
  const status = sweepStatus(folder);
  const slides: EmbedSummary['slides'] = [];
  for (const u of manifest.units) {
    if (!fs.existsSync(folder.resultPath(u))) continue;
    const r = JSON.parse(fs.readFileSync(folder.resultPath(u), 'utf8')) as EmbedUnitResult;
    for (const s of r.slides)
      slides.push({
        unit: u.id,
        slideId: s.slideId,
        patches: s.patches,
        skippedPatches: s.skippedPatches,
        seconds: s.seconds,
        featureFile: s.featureFile,
      });
  }
  const missing = status.units
    .filter((u) => u.state !== 'done')
    .map((u) => ({ id: u.id, state: u.state, ...(u.detail ? { detail: u.detail } : {}) }));
  const summary: EmbedSummary = {
    format: 'milkit-sweep-embed',
    name: manifest.plan.name,
    dir: folder.dir,
    complete: missing.length === 0,
    missing,
    slides,
  };
  if (summary.complete) {
    const plan = manifest.plan;
    const encoder = await loadEncoder(plan);
    try {
      const r = await slidesEmbed().embedSlides(plan.tiles, plan.out, encoder, {
        ...plan.options,
        labels: plan.labels,
      });
      const fresh = r.slides.filter((s) => s.status === 'embedded').map((s) => s.slideId);
      if (fresh.length)
        throw new Error(
          `slides ${fresh.join(', ')} had no current features although their units ` +
            `finished (changed since?); their features are now rewritten: run collect again`,
        );
      summary.cohort = {
        path: plan.out,
        bags: r.cohort.bags,
        instances: r.cohort.instances,
        dim: r.cohort.dim,
        ...(r.classes ? { classes: r.classes } : {}),
      };
    } finally {
      encoder.dispose();
    }
  }
  const dir = path.join(folder.dir, 'results');
  writeTextAtomic(path.join(dir, 'summary.json'), `${toJson(summary)}\n`);
  writeTextAtomic(path.join(dir, 'summary.md'), embedMarkdown(summary));
  return summary;
}

export function embedMarkdown(s: EmbedSummary): string {
  const lines = [
    '| unit | slide | patches | seconds |',
    '| --- | --- | --- | --- |',
    ...s.slides.map(
      (x) =>
        `| ${x.unit} | ${x.slideId} ` +
        `| ${x.patches}${x.skippedPatches ? ` (${x.skippedPatches} skipped)` : ''} | ${x.seconds.toFixed(1)} |`,
    ),
    '',
    s.cohort
      ? `cohort: ${s.cohort.path} (${s.cohort.bags} bags, ${s.cohort.instances} patches, ${s.cohort.dim} ` +
        `features${s.cohort.classes ? `; classes ${s.cohort.classes.join(', ')}` : ''})`
      : `**Partial sweep**: ${s.missing.length} unit(s) without a result: ${s.missing
          .map((m) => `${m.id} (${m.state})`)
          .join(', ')}; the cohort is written when every unit is done`,
  ];
  return `${lines.join('\n')}\n`;
}
