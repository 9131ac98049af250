import * as fs from 'node:fs';
import { MilkitDataError } from '../../data/errors';
// Module by module, not the slides index: that pulls in the SSL encoder and so TensorFlow.js.
import type { SlideEncoder } from '../../slides/embed';
import { openSlide } from '../../slides/open';
import { tileSlides } from '../../slides/pipeline';
import { describeSlide } from '../../slides/slide';
import type { TissueConfig } from '../../slides/tissue';
import type { SlideBackend } from '../../slides/types';
import { type Command, UsageError, parseArgs, requireFlag } from '../command';
import { describeFlags, type FlagSpec, type FlagValues, parseFlags } from '../flags';
import type { Progress } from '../progress';
import { pretrainSettingsFlags, pretrainWithFlags } from './ssl';

const infoFlags: FlagSpec = {
  json: { type: 'boolean', help: 'print everything (levels, associated images, all properties) as JSON' },
  properties: { type: 'boolean', help: 'also list every metadata property' },
  backend: { type: 'string', help: 'auto | openslide | tiff | image', default: 'auto' },
};

const tileFlags: FlagSpec = {
  out: { type: 'string', alias: 'o', help: 'output folder (patches/<id>.h5, masks/<id>.png, previews/<id>.png)' },
  magnification: { type: 'number', help: 'target magnification', default: 20 },
  'target-mpp': { type: 'number', help: 'target µm per pixel instead of --magnification (e.g. 0.5)' },
  'patch-size': { type: 'number', help: 'patch side in pixels at the target', default: 256 },
  overlap: { type: 'number', help: 'overlap of neighbouring patches in target pixels', default: 0 },
  'min-tissue': { type: 'number', help: 'minimum tissue fraction of a kept patch', default: 0.5 },
  mpp: { type: 'number', help: "the slides' level-0 µm per pixel, for files that do not record it" },
  'exclude-pen': { type: 'boolean', help: 'remove green, blue and black pen marks from the tissue' },
  'tissue-config': {
    type: 'string',
    help: 'JSON file with tissue settings (see TissueConfig: threshold, medianUm, ...)',
  },
  backend: { type: 'string', help: 'auto | openslide | tiff | image', default: 'auto' },
  overwrite: { type: 'boolean', help: 're-tile slides tiled before under other settings' },
  'on-corrupt': {
    type: 'string',
    help: 'an undecodable tile: fail the slide, or skip it (no patch over it; listed)',
    default: 'fail',
  },
  json: { type: 'boolean', help: 'print the per-slide results as JSON' },
  quiet: { type: 'boolean', help: 'no progress output' },
};

const embedFlags: FlagSpec = {
  encoder: {
    type: 'string',
    alias: 'e',
    help: 'ssl:CKPT (from milkit slides pretrain) or onnx:FILE (any ONNX image encoder)',
  },
  'encoder-config': {
    type: 'string',
    help: 'ONNX: JSON with inputSize, mean, std, channelOrder, layout, input, output (default: FILE.json)',
  },
  labels: { type: 'string', alias: 'l', help: 'labels CSV: case_id,slide_id,label (CLAM) or slide_id,label' },
  out: { type: 'string', alias: 'o', help: 'output cohort (x.arrow + x.bags.arrow)' },
  'patient-column': { type: 'string', help: 'patient column of the labels CSV (default patient_id, else case_id)' },
  classes: { type: 'string', help: 'class names in label order, comma-separated (default: sorted label names)' },
  'skip-missing': { type: 'boolean', help: 'leave out CSV rows whose slide was not tiled (default: refuse)' },
  'skip-unlabelled': { type: 'boolean', help: 'leave out tiled slides without a CSV row (default: refuse)' },
  slides: { type: 'string', help: 'folder holding the slide files, if they moved since tiling' },
  'batch-size': { type: 'number', help: 'patches per forward pass (default 64 ssl, 32 onnx)' },
  provider: { type: 'string', help: 'ONNX: auto (CUDA when installed, else CPU) | cpu | cuda', default: 'auto' },
  backend: { type: 'string', help: 'slide reader: auto | openslide | tiff | image', default: 'auto' },
  overwrite: { type: 'boolean', help: 'redo slides embedded before with another encoder or tiling' },
  'on-corrupt': { type: 'string', help: 'a patch on an undecodable tile: fail, or skip the patch', default: 'fail' },
  json: { type: 'boolean', help: 'print the per-slide results and the cohort as JSON' },
  quiet: { type: 'boolean', help: 'no progress output' },
};

// The SSL flags, with defaults for slide patches (256 px at 20× → the network's input side).
const pretrainFlags: FlagSpec = {
  ...pretrainSettingsFlags,
  'input-size': { ...pretrainSettingsFlags['input-size'], default: 64 },
  'max-patches': { ...pretrainSettingsFlags['max-patches'], default: 20_000 },
  slides: { type: 'string', help: 'folder holding the slide files, if they moved since tiling' },
  backend: { type: 'string', help: 'slide reader: auto | openslide | tiff | image', default: 'auto' },
  json: { type: 'boolean', help: 'print the result as JSON' },
  quiet: { type: 'boolean', help: 'no progress output' },
};

const BACKENDS = ['auto', 'openslide', 'tiff', 'image'];

function backendFlag(v: unknown): SlideBackend | 'auto' {
  const b = String(v ?? 'auto');
  if (!BACKENDS.includes(b)) throw new UsageError(`--backend must be one of ${BACKENDS.join(', ')}, got "${b}"`);
  return b as SlideBackend | 'auto';
}

const TISSUE_KEYS = [
  'mpp',
  'maxSide',
  'medianUm',
  'threshold',
  'minThreshold',
  'closeUm',
  'minRegionUm2',
  'maxHoleUm2',
  'excludePen',
];

function readTissueConfig(file: string): Partial<TissueConfig> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (err) {
    throw new MilkitDataError(`cannot read the tissue config as JSON (${(err as Error).message})`, { file });
  }
  if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed))
    throw new MilkitDataError('the tissue config must be a JSON object', { file });
  for (const [k, v] of Object.entries(parsed)) {
    if (!TISSUE_KEYS.includes(k))
      throw new MilkitDataError(`unknown tissue setting (known: ${TISSUE_KEYS.join(', ')})`, { file, field: k });
    if (k === 'excludePen' ? typeof v !== 'boolean' : typeof v !== 'number' || !Number.isFinite(v) || v < 0)
      throw new MilkitDataError(`must be ${k === 'excludePen' ? 'true or false' : 'a number ≥ 0'}`, {
        file,
        field: k,
      });
  }
  return parsed as Partial<TissueConfig>;
}

const fmt = (v: number, digits = 3) => String(Number(v.toFixed(digits)));

async function info(argv: string[], ctx: Parameters<Command['run']>[1]): Promise<number> {
  const { flags: f, args } = parseArgs(argv, infoFlags, ['slide']);
  const slide = await openSlide(args[0], { backend: backendFlag(f.backend) });
  try {
    const d = describeSlide(slide);
    if (f.json) {
      ctx.json(d);
      return 0;
    }
    ctx.print(`${d.path}`);
    ctx.print(`  reader     ${d.backend} (${d.vendor})`);
    ctx.print(`  size       ${d.width} × ${d.height} px at level 0`);
    ctx.print(
      `  resolution ${d.mpp ? `${fmt(d.mpp.x, 4)} × ${fmt(d.mpp.y, 4)} µm/px` : 'not recorded (tile with --mpp)'}` +
        `, objective ${d.objectivePower ? `${d.objectivePower}×` : 'not recorded'}`,
    );
    ctx.print(`  levels     ${d.levels.length}`);
    d.levels.forEach((l, i) =>
      ctx.print(
        `    ${i}: ${l.width} × ${l.height}, downsample ${fmt(l.downsample)}` +
          (l.tileWidth ? `, tiles ${l.tileWidth} × ${l.tileHeight}` : ''),
      ),
    );
    const assoc = Object.entries(d.associatedImages);
    ctx.print(
      `  associated ${assoc.length ? assoc.map(([k, v]) => `${k} ${v.width} × ${v.height}`).join(', ') : 'none'}`,
    );
    const props = Object.entries(d.properties);
    if (f.properties) for (const [k, v] of props) ctx.print(`    ${k} = ${v.replace(/\s+/g, ' ')}`);
    else ctx.print(`  properties ${props.length} (--properties to list, --json for everything)`);
    return 0;
  } finally {
    slide.close();
  }
}

async function tile(argv: string[], ctx: Parameters<Command['run']>[1]): Promise<number> {
  const { flags: f, positional } = parseFlags(argv, tileFlags);
  if (positional.length === 0) throw new UsageError('missing <slide>...');
  const out = requireFlag(f, 'out');
  const num = (k: string) => f[k] as number | undefined;
  const tissue: Partial<TissueConfig> = f['tissue-config'] ? readTissueConfig(f['tissue-config'] as string) : {};
  if (f['exclude-pen']) tissue.excludePen = true;
  const onCorrupt = String(f['on-corrupt']);
  if (onCorrupt !== 'fail' && onCorrupt !== 'skip')
    throw new UsageError(`--on-corrupt must be fail or skip, got "${onCorrupt}"`);
  const bars = new Map<string, Progress>();
  const results = await tileSlides(positional, out, {
    backend: backendFlag(f.backend),
    overwrite: Boolean(f.overwrite),
    onCorrupt,
    tiling: {
      patchSize: num('patch-size'),
      magnification: num('magnification'),
      targetMpp: num('target-mpp'),
      overlap: num('overlap'),
      minTissue: num('min-tissue'),
      mpp: num('mpp'),
    },
    tissue,
    onProgress: (id, done, total) => {
      if (f.quiet || f.json) return;
      let bar = bars.get(id);
      if (!bar) bars.set(id, (bar = ctx.progress(`tile ${id}`, total)));
      bar.update(done);
    },
    onSlide: (r) => {
      bars.get(r.slideId)?.done(r.status === 'failed' ? 'failed' : `${r.patches} patches`);
      if (f.json) return;
      if (r.corruptTiles)
        ctx.warn(`${r.slideId}: ${r.corruptTiles.length} undecodable tiles skipped: ${r.corruptTiles.join('; ')}`);
      if (r.status === 'failed') ctx.warn(`${r.slideId}: FAILED: ${r.error}`);
      else if (r.status === 'skipped')
        ctx.print(`${r.slideId}: ${r.patches} patches (already tiled with these settings; skipped)`);
      else {
        const p = r.plan!;
        ctx.print(
          `${r.slideId}: ${r.patches} of ${r.gridSize} patches, ${p.patchSize} px at ${fmt(p.targetMagnification)}× ` +
            `(${fmt(p.targetMpp, 4)} µm/px; read ${p.readSize} px at level ${p.patchLevel}), ` +
            `tissue ${(100 * r.tissueFraction!).toFixed(1)} % → ${r.files!.patches}`,
        );
      }
    },
  });
  if (f.json) ctx.json(results.map(({ plan, ...r }) => ({ ...r, ...(plan ? { plan } : {}) })));
  const failed = results.filter((r) => r.status === 'failed').length;
  if (failed)
    ctx.warn(
      failed === results.length
        ? `${failed === 1 ? 'the slide' : `all ${failed} slides`} failed (see above)`
        : `${failed} of ${results.length} slides failed (see above); the others are in ${out}`,
    );
  return failed ? 1 : 0;
}

// tfjs and onnxruntime load only when a subcommand needs them (keeps `milkit slides info` fast).
/* eslint-disable @typescript-eslint/no-require-imports -- lazy loading, see above */
const loadBackend = () => require('../../backend') as typeof import('../../backend');
const loadEmbed = () => require('../../slides/embed') as typeof import('../../slides/embed');
const loadEmbedSsl = () => require('../../slides/embedSsl') as typeof import('../../slides/embedSsl');
const loadEmbedOnnx = () => require('../../slides/embedOnnx') as typeof import('../../slides/embedOnnx');
/* eslint-enable @typescript-eslint/no-require-imports */

async function pretrain(argv: string[], ctx: Parameters<Command['run']>[1]): Promise<number> {
  const { flags: f, args } = parseArgs(argv, pretrainFlags, ['dir']);
  const { sampleTiledPatches } = loadEmbedSsl();
  const dir = args[0];
  requireFlag(f, 'out');
  await loadBackend().ensureBackend();
  let bar: Progress | undefined;
  const patches = await sampleTiledPatches(dir, {
    size: f['input-size'] as number,
    maxPatches: f['max-patches'] as number,
    seed: f.seed as number,
    slides: f.slides as string | undefined,
    backend: backendFlag(f.backend),
    onSlide: (done, total) => {
      if (f.quiet || f.json) return;
      bar ??= ctx.progress(`reading patches of ${total} slides`, total);
      bar.update(done);
    },
  });
  bar?.done(`${patches.n} patches`);
  return pretrainWithFlags(patches, f, ctx, `slide (${dir})`);
}

/** `ssl:CKPT` / `onnx:FILE` → the encoder. */
async function encoderFlag(f: FlagValues, ctx: Parameters<Command['run']>[1]): Promise<SlideEncoder> {
  const spec = requireFlag(f, 'encoder');
  const m = /^(ssl|onnx):(.+)$/.exec(spec);
  if (!m) throw new UsageError(`--encoder must be ssl:CHECKPOINT or onnx:MODEL.onnx, got "${spec}"`);
  const batchSize = f['batch-size'] as number | undefined;
  if (batchSize !== undefined && !(Number.isInteger(batchSize) && batchSize >= 1))
    throw new UsageError(`--batch-size must be a positive integer, got ${batchSize}`);
  if (m[1] === 'ssl') {
    if (f['encoder-config']) throw new UsageError('--encoder-config is for onnx: encoders');
    await loadBackend().ensureBackend();
    const { sslSlideEncoder } = loadEmbedSsl();
    return sslSlideEncoder(m[2], { batchSize });
  }
  const provider = String(f.provider);
  if (!['auto', 'cpu', 'cuda'].includes(provider))
    throw new UsageError(`--provider must be auto, cpu or cuda, got "${provider}"`);
  const { onnxSlideEncoder } = loadEmbedOnnx();
  return onnxSlideEncoder(m[2], {
    config: f['encoder-config'] as string | undefined,
    batchSize,
    provider: provider as 'auto' | 'cpu' | 'cuda',
    onNotice: (msg) => ctx.warn(`note: ${msg}`),
  });
}

async function embed(argv: string[], ctx: Parameters<Command['run']>[1]): Promise<number> {
  const { flags: f, args } = parseArgs(argv, embedFlags, ['dir']);
  const labels = requireFlag(f, 'labels');
  const out = requireFlag(f, 'out');
  const onCorrupt = String(f['on-corrupt']);
  if (onCorrupt !== 'fail' && onCorrupt !== 'skip')
    throw new UsageError(`--on-corrupt must be fail or skip, got "${onCorrupt}"`);
  const classes = (f.classes as string | undefined)?.split(',').map((c) => c.trim());
  if (classes?.some((c) => c === '')) throw new UsageError(`--classes needs comma-separated names, got "${f.classes}"`);
  const { embedSlides } = loadEmbed();
  const encoder = await encoderFlag(f, ctx);
  const bars = new Map<string, Progress>();
  const show = !f.quiet && !f.json;
  try {
    const r = await embedSlides(args[0], out, encoder, {
      labels,
      patientColumn: f['patient-column'] as string | undefined,
      classes,
      skipMissing: Boolean(f['skip-missing']),
      skipUnlabelled: Boolean(f['skip-unlabelled']),
      slides: f.slides as string | undefined,
      backend: backendFlag(f.backend),
      overwrite: Boolean(f.overwrite),
      onCorrupt,
      onNotice: (msg) => ctx.warn(`note: ${msg}`),
      onProgress: (id, done, total) => {
        if (!show) return;
        let bar = bars.get(id);
        if (!bar) bars.set(id, (bar = ctx.progress(`embed ${id}`, total)));
        bar.update(done);
      },
      onSlide: (s) => {
        bars.get(s.slideId)?.done(`${s.patches} patches`);
        if (!show) return;
        const skipped = s.skippedPatches ? ` (${s.skippedPatches} on undecodable tiles left out)` : '';
        ctx.print(
          s.status === 'skipped'
            ? `${s.slideId}: ${s.patches} patches (already embedded with this encoder; skipped)${skipped}`
            : `${s.slideId}: ${s.patches} patches in ${s.seconds.toFixed(1)} s ` +
                `(${(s.patches / Math.max(s.seconds, 1e-3)).toFixed(0)} patches/s)${skipped} → ${s.featureFile}`,
        );
      },
    });
    if (f.json)
      ctx.json({
        encoder: encoder.name,
        device: encoder.device,
        slides: r.slides,
        cohort: r.cohort,
        classes: r.classes,
      });
    else
      ctx.print(
        `wrote ${r.cohort.bags} bags, ${r.cohort.instances} patches, ${r.cohort.dim} features ` +
          `(${encoder.name}, ${encoder.device}) → ${r.cohort.instancePath}`,
      );
    return 0;
  } finally {
    encoder.dispose();
  }
}

export const slides: Command = {
  name: 'slides',
  summary: 'whole-slide images: metadata, tissue and tiling, SSL pretraining, patch features as a cohort',
  usage: [
    'milkit slides info <slide> [--json] [--properties]',
    'milkit slides tile <slide>... --out <dir> [--magnification 20 | --target-mpp 0.5] [--patch-size 256]',
    '                  [--overlap 0] [--min-tissue 0.5] [--mpp <µm/px>] [--exclude-pen] [--tissue-config <json>]',
    'milkit slides pretrain <dir> --out encoder.ckpt [--steps 500] [--input-size 64] [--max-patches 20000]',
    'milkit slides embed <dir> --encoder ssl:encoder.ckpt|onnx:model.onnx --labels labels.csv --out cohort.arrow',
    '',
    'Reads SVS, NDPI, MRXS, SCN, BIF, tiled TIFF (OpenSlide when installed; SVS and TIFF without it),',
    'and PNG/JPEG/TIFF images as single-level slides. tile writes, per slide, patches/<id>.h5 (level-0',
    'coords with the tiling in its attributes, as CLAM/TRIDENT), masks/<id>.png and previews/<id>.png.',
    'Re-running skips finished slides and refuses an --out tiled under other settings (--overwrite redoes).',
    "pretrain trains milkit's SSL patch encoder on a seeded sample of the tiled patches; embed encodes every",
    'patch of the labelled slides (<dir>/features_<encoder>/<id>.h5, resumable) and writes the cohort.',
    'Then: milkit train --data cohort.arrow ..., milkit heatmap --run RUN --bag ID --slide SLIDE --out heat.png',
    '',
    'info options:',
    describeFlags(infoFlags),
    '',
    'tile options:',
    describeFlags(tileFlags),
    '',
    'pretrain options:',
    describeFlags(pretrainFlags),
    '',
    'embed options:',
    describeFlags(embedFlags),
  ].join('\n'),
  async run(argv, ctx) {
    const [sub, ...rest] = argv;
    if (sub === 'info') return info(rest, ctx);
    if (sub === 'tile') return tile(rest, ctx);
    if (sub === 'pretrain') return pretrain(rest, ctx);
    if (sub === 'embed') return embed(rest, ctx);
    const known = 'info, tile, pretrain or embed';
    throw new UsageError(sub ? `unknown subcommand "${sub}": expected ${known}` : `missing subcommand: ${known}`);
  },
};
