/**
 * SSL vs no-SSL on UCSB breast (58 images) → results/ssl-breast.{json,md}: a first, small experiment.
 *
 *   npm run reproduce:ssl-breast [-- --steps 120 --epochs 8 --only random,contrastive]
 *
 * Encoders: hand-crafted colour statistics (reference), frozen random (no SSL), SSL contrastive,
 * reconstruction, both. Each encoder featurises every background-filtered 32 × 32 tile of the 58
 * images (job `<encoder>/features`, after pretraining on a seeded pool of tiles, resumed from its
 * checkpoint); bags are then cut to at most K tiles (the same seeded tiles for every encoder) and
 * AB-MIL is cross-validated on them (job `<encoder>/K<k>`, stratified k-fold, resumed fold by fold).
 * Cells: accuracy, macro F1 and AUC per fold.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import {
  BREAST_ARCHIVE,
  Cohort,
  OBJECTIVES,
  type ObjectiveName,
  type PatchBag,
  type PatchFeaturizer,
  Rng,
  SslNetwork,
  Trainer,
  breastPatchBags,
  collectPatches,
  colorStatsFeaturizer,
  dataRoot,
  encoderFeaturizer,
  pretrain,
  stratifiedKFold,
  useBackend,
  writeCohort,
  writePatchCohort,
} from 'milkit';
import {
  type Context,
  type Experiment,
  type Job,
  type PlannedRow,
  keptNote,
  main,
  mergeRows,
  readTable,
  writeTable,
} from './common/runner';

const settings = {
  encoders: {
    type: 'string',
    default: 'colour,random,contrastive,reconstruction,both',
    help: 'feature extractors to compare',
  },
  'bag-sizes': { type: 'string', default: '64,128,256', help: 'bag sizes K (tiles per bag, sampled)' },
  steps: { type: 'number', default: 150, help: 'pretraining steps per SSL encoder' },
  'batch-size': { type: 'number', default: 64, help: 'pretraining batch' },
  width: { type: 'number', default: 8, help: 'encoder first-stage channels' },
  'embed-dim': { type: 'number', default: 64, help: 'encoder output width' },
  'pool-patches': { type: 'number', default: 10000, help: 'tiles sampled for pretraining' },
  folds: { type: 'number', default: 5, help: 'cross-validation folds' },
  epochs: { type: 'number', default: 20, help: 'MIL epochs per fold' },
  lr: { type: 'number', default: 5e-4, help: 'MIL learning rate' },
  seed: { type: 'number', default: 0, help: 'seed' },
} as const;
type Ctx = Context<typeof settings>;

const ENCODERS = {
  colour: 'colour statistics (hand-crafted)',
  random: 'random frozen encoder (no SSL)',
  contrastive: 'SSL contrastive',
  reconstruction: 'SSL reconstruction',
  both: 'SSL both',
} as const;
type Encoder = keyof typeof ENCODERS;
const NAME = 'ssl-breast';
const COLUMNS = ['accuracy', 'macro F1', 'AUC'];

const encodersOf = (ctx: Ctx) => {
  const list = ctx.settings.encoders.split(',').filter(Boolean) as Encoder[];
  for (const e of list)
    if (!(e in ENCODERS)) throw new Error(`unknown encoder "${e}"; known: ${Object.keys(ENCODERS).join(', ')}`);
  return list;
};
const sizesOf = (ctx: Ctx) => ctx.settings['bag-sizes'].split(',').map(Number);
const netOf = (ctx: Ctx) => ({
  inputSize: 32,
  width: ctx.settings.width,
  embedDim: ctx.settings['embed-dim'],
  projDim: 32,
});
const featuresFile = (ctx: Ctx, e: Encoder) => path.join(ctx.out, `features-${e}.arrow`);
const cellFile = (ctx: Ctx, e: Encoder, k: number) => path.join(ctx.out, 'cells', `${e}-k${k}.json`);
const recordFile = (ctx: Ctx, e: Encoder) => path.join(ctx.out, `encoder-${e}.json`);

/** The settings a cell depends on: a finished cell is reused only under the same ones. */
function cellSettings(ctx: Ctx, e: Encoder): string {
  const s = ctx.settings;
  const encoder =
    e === 'colour'
      ? {}
      : e === 'random'
        ? { net: netOf(ctx) }
        : { net: netOf(ctx), steps: s.steps, batch: s['batch-size'], pool: s['pool-patches'] };
  return JSON.stringify({ encoder, folds: s.folds, epochs: s.epochs, lr: s.lr, seed: s.seed });
}

interface Cell {
  settings: string;
  accuracy: number[];
  f1: number[];
  auc: number[];
}

function readCell(ctx: Ctx, e: Encoder, k: number): Cell | undefined {
  const file = cellFile(ctx, e, k);
  if (!fs.existsSync(file)) return undefined;
  const cell = JSON.parse(fs.readFileSync(file, 'utf8')) as Cell;
  if (cell.settings !== cellSettings(ctx, e))
    throw new Error(
      `${file} was computed with other settings (${cell.settings}); use another --out or the original flags`,
    );
  return cell;
}

let images: Promise<PatchBag[]> | undefined;
/** The 58 images as tiled bags, read once per process. */
function breastBags(ctx: Ctx): Promise<PatchBag[]> {
  images ??= (async () => {
    const bags: PatchBag[] = [];
    for await (const b of breastPatchBags({ source: path.join(dataRoot(), 'breast-ucsb', BREAST_ARCHIVE) }))
      bags.push(b);
    ctx.log(
      `${bags.length} images, ${bags.reduce((s, b) => s + b.n, 0)} ` +
        `tissue tiles (min ${Math.min(...bags.map((b) => b.n))} per image)`,
    );
    return bags;
  })();
  return images;
}

/** Features job: the encoder (pretrained and recorded when it is an SSL one) over every tile. */
async function runFeatures(ctx: Ctx, e: Encoder): Promise<void> {
  await useBackend();
  const s = ctx.settings;
  const bags = await breastBags(ctx);
  let featurizer: PatchFeaturizer = colorStatsFeaturizer;
  let network: SslNetwork | undefined;
  if (e === 'random') network = new SslNetwork(netOf(ctx), s.seed);
  else if (e !== 'colour') {
    const pool = await collectPatches(bags, { maxPatches: s['pool-patches'], seed: s.seed });
    const r = await pretrain(
      pool,
      { net: netOf(ctx), ...OBJECTIVES[e as ObjectiveName], steps: s.steps, batchSize: s['batch-size'], seed: s.seed },
      { checkpoint: path.join(ctx.out, `encoder-${e}.ckpt`), checkpointEvery: 50, resume: true },
    );
    const h = r.history;
    ctx.log(
      `pretrained ${e}: ${h.length} steps in ${r.seconds.toFixed(0)} ` +
        `s, loss ${h[0].loss.toFixed(3)} → ${h.at(-1)!.loss.toFixed(3)}`,
    );
    fs.writeFileSync(
      recordFile(ctx, e),
      JSON.stringify({ seconds: r.seconds, firstLoss: h[0].loss, lastLoss: h.at(-1)!.loss }),
    );
    network = r.network;
  }
  if (network) featurizer = encoderFeaturizer(network);
  await writePatchCohort(featuresFile(ctx, e), bags, featurizer, { patchSize: 32 });
  network?.dispose();
}

/** Writes a copy of `full` whose bags keep at most `k` instances (seeded per bag, same for every encoder). */
async function subsample(full: string, out: string, k: number, seed: number): Promise<void> {
  const cohort = await Cohort.open(full, { cacheBytes: 0 });
  async function* bags() {
    for (let i = 0; i < cohort.size; i++) {
      const b = await cohort.bag(i);
      const keep =
        b.numInstances <= k
          ? [...Array(b.numInstances).keys()]
          : new Rng(seed * 1000 + i).sample(b.numInstances, k).sort((x, y) => x - y);
      const features = new Float32Array(keep.length * b.dim);
      const coords = new Int32Array(keep.length * 2);
      keep.forEach((j, r) => {
        features.set(b.features.subarray(j * b.dim, (j + 1) * b.dim), r * b.dim);
        coords.set(b.coords!.subarray(2 * j, 2 * j + 2), 2 * r);
      });
      yield { id: b.id, label: b.label, patientId: b.patientId, features, coords };
    }
  }
  await writeCohort(out, bags(), { dim: cohort.dim });
  await cohort.close();
}

/** Cell job: AB-MIL cross-validated on bags of at most K tiles. */
async function runCell(ctx: Ctx, e: Encoder, k: number): Promise<void> {
  await useBackend();
  const s = ctx.settings;
  const file = featuresFile(ctx, e).replace(/\.arrow$/, `-k${k}.arrow`);
  await subsample(featuresFile(ctx, e), file, k, s.seed);
  const cohort = await Cohort.open(file);
  try {
    const splits = stratifiedKFold(cohort.bags, { k: s.folds, seed: s.seed });
    const run = await new Trainer({
      model: { name: 'abmil' },
      config: { epochs: s.epochs, lr: s.lr, seed: s.seed, standardize: true, selectOn: 'last' },
    }).crossValidate(cohort, [splits], {
      outDir: path.join(ctx.out, 'mil', `${e}-k${k}`),
      resume: true,
      signal: ctx.signal,
    });
    if (run.interrupted) return;
    const cell: Cell = {
      settings: cellSettings(ctx, e),
      accuracy: run.folds.map((f) => f.metrics.accuracy),
      f1: run.folds.map((f) => f.metrics.f1),
      auc: run.folds.map((f) => f.metrics.auc),
    };
    fs.mkdirSync(path.dirname(cellFile(ctx, e, k)), { recursive: true });
    fs.writeFileSync(cellFile(ctx, e, k), JSON.stringify(cell));
    const mean = (a: number[]) => (a.reduce((x, y) => x + y, 0) / a.length).toFixed(3);
    ctx.log(`${ENCODERS[e]}, K=${k}: accuracy ${mean(cell.accuracy)}, F1 ${mean(cell.f1)}, AUC ${mean(cell.auc)}`);
  } finally {
    await cohort.close();
  }
}

function jobs(ctx: Ctx): Job[] {
  return encodersOf(ctx).flatMap((e): Job[] => [
    { id: `${e}/features`, done: () => fs.existsSync(featuresFile(ctx, e)), run: () => runFeatures(ctx, e) },
    ...sizesOf(ctx).map((k) => ({
      id: `${e}/K${k}`,
      needs: [`${e}/features`],
      done: () => readCell(ctx, e, k) !== undefined,
      run: () => runCell(ctx, e, k),
    })),
  ]);
}

async function assemble(ctx: Ctx): Promise<string[]> {
  const s = ctx.settings;
  const planned: PlannedRow[] = encodersOf(ctx).flatMap((e) =>
    sizesOf(ctx).map((k) => {
      const c = readCell(ctx, e, k);
      return {
        id: `${e}/K${k}`,
        label: `${ENCODERS[e]}, K = ${k}`,
        cells: c ? [c.accuracy, c.f1, c.auc] : COLUMNS.map(() => undefined),
      };
    }),
  );
  const protocol =
    `58 UCSB breast images, background-filtered 32 × 32 tiles; encoders: compact ResNet (width ` +
    `${s.width}, ${s['embed-dim']}-d) random or pretrained for ${s.steps} Adam steps of ${s['batch-size']}` +
    ` tiles from a seeded pool of ${s['pool-patches']}, and colour statistics for reference; ` +
    (`bags cut to at most K seeded tiles (the same for every encoder); AB-MIL (default ` +
      `config), features standardised per training fold, Adam lr ${s.lr}, ${s.epochs} ` +
      `epochs, last-epoch weights, stratified ${s.folds}-fold CV (seed ${s.seed}).`);
  const merged = mergeRows(
    planned,
    readTable(ctx.results, NAME),
    protocol,
    COLUMNS,
    path.join(ctx.results, `${NAME}.json`),
  );
  if (!merged.fresh) return [];
  const pretraining = (Object.keys(ENCODERS) as Encoder[])
    .filter((e) => fs.existsSync(recordFile(ctx, e)))
    .map(
      (e) =>
        `${e} ${(JSON.parse(fs.readFileSync(recordFile(ctx, e), 'utf8')) as { seconds: number }).seconds.toFixed(0)} s`,
    );
  const backend = await useBackend();
  return [
    writeTable(
      ctx.results,
      NAME,
      {
        title: `SSL vs no-SSL, UCSB breast (58 images), AB-MIL ${s.folds}-fold CV`,
        caption: 'Mean ± sd over the folds; one row per encoder and bag size K.',
        columns: COLUMNS,
        rows: merged.rows,
      },
      {
        command: ctx.command,
        protocol:
          `${protocol}${pretraining.length ? ` Pretraining wall time: ${pretraining.join(', ')}.` : ''}` +
          `${keptNote(merged, ctx.out)}`,
        backend: backend.name,
      },
    ),
  ];
}

export const experiment: Experiment<typeof settings> = {
  name: 'ssl-breast',
  title: 'SSL vs no-SSL encoders on UCSB breast → results/ssl-breast.{json,md}',
  out: 'runs/ssl-breast',
  settings,
  tables: () => [NAME],
  jobs,
  assemble,
};

main(experiment, module);
