/**
 * `milkit ssl pretrain` — self-supervised pretraining of the patch encoder on a patch data set;
 * `milkit ssl extract`  — encoder features of every patch, written as a cohort for any MIL model.
 */
import type { PatchSet } from '../../ssl/pretrain';
import { type CliContext, type Command, UsageError, requireFlag } from '../command';
import { describeFlags, type FlagSpec, type FlagValues, parseFlags } from '../flags';

const SUBCOMMANDS = ['pretrain', 'extract'] as const;

const common: FlagSpec = {
  dataset: { type: 'string', alias: 'd', help: 'patch data set: colon | breast' },
  source: { type: 'string', help: 'folder/archive of the data set (default: under $MILKIT_DATA or ../shared/data)' },
  json: { type: 'boolean', help: 'print the result as JSON' },
  quiet: { type: 'boolean', help: 'no progress output' },
};

/** Pretraining settings, shared with `milkit slides pretrain`. */
export const pretrainSettingsFlags: FlagSpec = {
  out: { type: 'string', alias: 'o', help: 'checkpoint file to write (e.g. encoder.ckpt); also the resume point' },
  objective: { type: 'string', default: 'both', help: 'contrastive | reconstruction | both' },
  'contrastive-weight': { type: 'number', help: 'weight of NT-Xent (overrides --objective)' },
  'reconstruction-weight': { type: 'number', help: 'weight of the reconstruction loss (overrides --objective)' },
  temperature: { type: 'number', default: 0.5, help: 'NT-Xent temperature' },
  'mask-ratio': {
    type: 'number',
    default: 0,
    help: 'fraction of 4×4 cells hidden for masked reconstruction (0 = autoencoder)',
  },
  steps: { type: 'number', default: 500, help: 'optimiser steps' },
  'batch-size': { type: 'number', default: 64, help: 'patches per step (two views each for the contrastive loss)' },
  lr: { type: 'number', default: 1e-3, help: 'Adam learning rate' },
  'input-size': { type: 'number', default: 32, help: 'network input side (patches are resized to it; multiple of 4)' },
  width: { type: 'number', default: 16, help: 'channels of the first encoder stage (then 2×, 4×)' },
  'embed-dim': { type: 'number', default: 128, help: 'encoder output width = MIL feature width' },
  'proj-dim': { type: 'number', default: 64, help: 'projection head output width' },
  'max-patches': { type: 'number', help: 'pretrain on a seeded random subset of this many patches' },
  seed: { type: 'number', default: 0, help: 'seed (weights, batches, augmentations)' },
  'checkpoint-every': { type: 'number', default: 50, help: 'steps between checkpoints' },
  resume: { type: 'boolean', help: 'continue from --out if it exists' },
};

const pretrainFlags: FlagSpec = { ...common, ...pretrainSettingsFlags };

const extractFlags: FlagSpec = {
  ...common,
  out: { type: 'string', alias: 'o', help: 'output cohort (x.arrow)' },
  checkpoint: { type: 'string', alias: 'c', help: 'pretrained encoder (from `milkit ssl pretrain`)' },
  'random-encoder': {
    type: 'boolean',
    help: 'baseline: a frozen randomly initialised encoder instead of a checkpoint',
  },
  width: { type: 'number', default: 16, help: 'random encoder: first-stage channels' },
  'embed-dim': { type: 'number', default: 128, help: 'random encoder: output width' },
  'input-size': { type: 'number', default: 32, help: 'random encoder: input side' },
  seed: { type: 'number', default: 0, help: 'random encoder: initialisation seed' },
  'batch-size': { type: 'number', default: 256, help: 'patches per forward pass' },
};

// tfjs loads only when an ssl subcommand runs (keeps `milkit help` fast).
// eslint-disable-next-line @typescript-eslint/no-require-imports -- lazy: tfjs loads only when an ssl subcommand runs
const loadSsl = () => require('../../ssl') as typeof import('../../ssl');
// eslint-disable-next-line @typescript-eslint/no-require-imports -- lazy: tfjs loads only when an ssl subcommand runs
const loadPersist = () => require('../../persist') as typeof import('../../persist');
// eslint-disable-next-line @typescript-eslint/no-require-imports -- lazy: tfjs loads only when an ssl subcommand runs
const loadBackend = () => require('../../backend') as typeof import('../../backend');

/** The named patch source, or a usage error listing the known ones. */
function sourceFlag(f: FlagValues) {
  const name = requireFlag(f, 'dataset');
  const { PATCH_SOURCES } = loadSsl();
  if (!PATCH_SOURCES[name])
    throw new UsageError(`unknown --dataset "${name}"; known: ${Object.keys(PATCH_SOURCES).join(', ')}`);
  return PATCH_SOURCES[name];
}

const num = (f: FlagValues, k: string) => f[k] as number | undefined;

async function runPretrain(argv: string[], ctx: Parameters<Command['run']>[1]): Promise<number> {
  const { flags: f, positional } = parseFlags(argv, pretrainFlags);
  if (positional.length) throw new UsageError(`unexpected argument "${positional[0]}"`);
  requireFlag(f, 'out');
  const { collectPatches } = loadSsl();
  const source = sourceFlag(f);
  checkObjective(f);
  await loadBackend().ensureBackend();
  const loadBar = f.quiet ? undefined : ctx.progress(`reading ${source.name} patches`, source.bags);
  let bagsRead = 0;
  async function* counted() {
    for await (const b of source.open(f.source as string | undefined)) {
      yield b;
      loadBar?.update(++bagsRead);
    }
  }
  const patches = await collectPatches(counted(), { maxPatches: num(f, 'max-patches'), seed: num(f, 'seed') });
  loadBar?.done(`${patches.n} patches`);
  return pretrainWithFlags(patches, f, ctx, source.name);
}

function checkObjective(f: FlagValues): void {
  const { OBJECTIVES } = loadSsl();
  const objective = f.objective as string;
  if (!(objective in OBJECTIVES))
    throw new UsageError(`--objective must be one of ${Object.keys(OBJECTIVES).join(', ')}, got "${objective}"`);
}

/**
 * Pretrains on `patches` with the settings of `pretrainSettingsFlags`, showing progress, and prints
 * the summary (`what` names the patches).
 */
export async function pretrainWithFlags(
  patches: PatchSet,
  f: FlagValues,
  ctx: CliContext,
  what: string,
): Promise<number> {
  const { pretrain, OBJECTIVES } = loadSsl();
  const backend = await loadBackend().ensureBackend();
  checkObjective(f);
  const out = requireFlag(f, 'out');
  const weights = { ...OBJECTIVES[f.objective as keyof typeof OBJECTIVES] };
  const steps = num(f, 'steps')!;
  const bar = f.quiet ? undefined : ctx.progress('pretraining', steps);
  let last = '';
  const result = await pretrain(
    patches,
    {
      net: {
        inputSize: num(f, 'input-size')!,
        width: num(f, 'width')!,
        embedDim: num(f, 'embed-dim')!,
        projDim: num(f, 'proj-dim')!,
      },
      contrastiveWeight: num(f, 'contrastive-weight') ?? weights.contrastiveWeight,
      reconstructionWeight: num(f, 'reconstruction-weight') ?? weights.reconstructionWeight,
      temperature: num(f, 'temperature')!,
      maskRatio: num(f, 'mask-ratio')!,
      steps,
      batchSize: num(f, 'batch-size')!,
      learningRate: num(f, 'lr')!,
      seed: num(f, 'seed')!,
    },
    {
      checkpoint: out,
      checkpointEvery: num(f, 'checkpoint-every'),
      resume: Boolean(f.resume),
      onProgress: (p) => {
        last =
          `loss ${p.loss.toFixed(4)}${p.contrastive !== undefined ? ` nt-xent ${p.contrastive.toFixed(4)}` : ''}` +
          `${p.reconstruction !== undefined ? ` recon ${p.reconstruction.toFixed(4)}` : ''}` +
          `, ${p.patchesPerSecond.toFixed(0)} patches/s`;
        bar?.update(p.step);
      },
    },
  );
  bar?.done(last);
  const summary = {
    checkpoint: out,
    dataset: what,
    patches: patches.n,
    steps,
    resumedFrom: result.startStep,
    seconds: result.seconds,
    params: result.network.numParams,
    backend: backend.name,
    final: result.history.at(-1),
  };
  result.network.dispose();
  if (f.json) ctx.json(summary);
  else
    ctx.print(
      `pretrained ${summary.params} parameters on ${patches.n} ${what} patches, ${steps} steps ` +
        `(${result.seconds.toFixed(1)} s, ${summary.backend}) → ${out}${last ? `\n  ${last}` : ''}`,
    );
  return 0;
}

async function runExtract(argv: string[], ctx: Parameters<Command['run']>[1]): Promise<number> {
  const { flags: f, positional } = parseFlags(argv, extractFlags);
  if (positional.length) throw new UsageError(`unexpected argument "${positional[0]}"`);
  const out = requireFlag(f, 'out');
  const { extractFeatureCohort, SslNetwork } = loadSsl();
  const { loadSslNetwork } = loadPersist();
  const { ensureBackend } = loadBackend();
  const source = sourceFlag(f);
  if (Boolean(f.checkpoint) === Boolean(f['random-encoder']))
    throw new UsageError('give exactly one of --checkpoint <file> or --random-encoder');
  await ensureBackend();
  const network = f.checkpoint
    ? loadSslNetwork(f.checkpoint as string).network
    : new SslNetwork(
        { inputSize: num(f, 'input-size'), width: num(f, 'width'), embedDim: num(f, 'embed-dim') },
        num(f, 'seed'),
      );
  const name = f.checkpoint ? `ssl-encoder:${f.checkpoint}` : `random-encoder:seed=${num(f, 'seed')}`;
  const bar = f.quiet ? undefined : ctx.progress(`extracting ${source.name}`, source.bags);
  try {
    const summary = await extractFeatureCohort(out, source.open(f.source as string | undefined), network, {
      patchSize: source.patchSize,
      batchSize: num(f, 'batch-size'),
      name,
      metadata: { 'milkit.dataset': source.name },
      onBag: (n) => bar?.update(n),
    });
    bar?.done();
    if (f.json) ctx.json({ ...summary, encoder: name });
    else
      ctx.print(
        `wrote ${summary.bags} bags, ${summary.instances} ` +
          `patches, ${summary.dim} features (${name}) → ${summary.instancePath}`,
      );
    return 0;
  } finally {
    network.dispose();
  }
}

export const ssl: Command = {
  name: 'ssl',
  summary: 'self-supervised patch encoder: `ssl pretrain` on colon/breast patches, `ssl extract` features as a cohort',
  usage:
    `milkit ssl pretrain --dataset colon|breast --out encoder.ckpt [options]\n` +
    `milkit ssl extract  --dataset colon|breast (--checkpoint encoder.ckpt | --random-encoder) --out feats.arrow\n\n` +
    `pretrain options:\n${describeFlags(pretrainFlags)}\n\nextract options:\n${describeFlags(extractFlags)}`,
  async run(argv, ctx) {
    const [sub, ...rest] = argv;
    if (!sub || !(SUBCOMMANDS as readonly string[]).includes(sub))
      throw new UsageError(`expected a subcommand: ${SUBCOMMANDS.join(' | ')}`);
    if (rest.includes('--help') || rest.includes('-h')) {
      ctx.print(describeFlags(sub === 'pretrain' ? pretrainFlags : extractFlags));
      return 0;
    }
    return sub === 'pretrain' ? runPretrain(rest, ctx) : runExtract(rest, ctx);
  },
};
