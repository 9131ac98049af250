import * as fs from 'node:fs';
import { MilkitDataError } from '../../data/errors';
import { describeSlide, openSlide, type SlideBackend, tileSlides, type TissueConfig } from '../../slides';
import { type Command, UsageError, parseArgs, requireFlag } from '../command';
import { describeFlags, type FlagSpec, parseFlags } from '../flags';
import type { Progress } from '../progress';

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

export const slides: Command = {
  name: 'slides',
  summary: 'whole-slide images: show metadata, find tissue and tile at a magnification',
  usage: [
    'milkit slides info <slide> [--json] [--properties]',
    'milkit slides tile <slide>... --out <dir> [--magnification 20 | --target-mpp 0.5] [--patch-size 256]',
    '                  [--overlap 0] [--min-tissue 0.5] [--mpp <µm/px>] [--exclude-pen] [--tissue-config <json>]',
    '',
    'Reads SVS, NDPI, MRXS, SCN, BIF, tiled TIFF (OpenSlide when installed; SVS and TIFF without it),',
    'and PNG/JPEG/TIFF images as single-level slides. tile writes, per slide, patches/<id>.h5 (level-0',
    'coords with the tiling in its attributes, as CLAM/TRIDENT), masks/<id>.png and previews/<id>.png.',
    'Re-running skips finished slides and refuses an --out tiled under other settings (--overwrite redoes).',
    '',
    'info options:',
    describeFlags(infoFlags),
    '',
    'tile options:',
    describeFlags(tileFlags),
  ].join('\n'),
  async run(argv, ctx) {
    const [sub, ...rest] = argv;
    if (sub === 'info') return info(rest, ctx);
    if (sub === 'tile') return tile(rest, ctx);
    throw new UsageError(
      sub ? `unknown subcommand "${sub}": expected info or tile` : 'missing subcommand: info or tile',
    );
  },
};
