/**
 * The self-supervised encoder experiments → results/ssl-{bagsize,objectives,probe}.{json,md}:
 *  1. SSL-pretrained vs no-SSL MIL at bag sizes K = 64 / 128 / 256 on MNIST-bags (few nines among
 *     K digits) and colon (patches per patient): AB-MIL on a frozen random encoder, AB-MIL on SSL
 *     encoders, and AB-MIL trained end to end through a randomly initialised encoder;
 *  2. contrastive only vs reconstruction only vs both (same network, steps, batch and seed), with
 *     each encoder's linear-probe instance AUC.
 *
 *   npm run reproduce:ssl [-- --only colon,mnist/random --bag-sizes 32 --steps 200 --jobs 2]
 *   npm run reproduce:ssl -- --out runs/ssl-mnist400 --table ssl-mnist-bags400 --datasets mnist \
 *     --methods random,contrastive --bag-sizes 16,32,64,128,256 --steps 1000 --mnist-bags 400
 *
 * Jobs: one encoder per (data set, method) (pretraining, resumed from its checkpoint, and the linear
 * probe), then one cell per (data set, method, K) (5-fold AB-MIL, resumed fold by fold); each finished
 * cell is one file `<out>/cells/<data set>-<method>-k<K>.json` that records the settings it was
 * measured under, and is reused only under the same ones. The standard tables cover the whole
 * protocol (both data sets, every method, K = 64 / 128 / 256 plus any K asked for or already
 * measured); `--table NAME` writes ONE extra table for another setting (in its own `--out`) whose
 * rows are the `--datasets` × `--methods` × `--bag-sizes` cells plus any other finished cell there.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import {
  type BagRecord,
  Cohort,
  type ModelChoice,
  OBJECTIVES,
  type ObjectiveName,
  type ReproductionFile,
  type ResultsInput,
  type SslNetConfig,
  SslNetwork,
  type TrainConfig,
  Trainer,
  convMilBuilder,
  describeBackend,
  encoderFeaturizer,
  linearProbeAuc,
  pretrain,
  stratifiedKFold,
  useBackend,
  writeCohort,
} from 'milkit';
import { type BagPlan, type ExperimentData, colonExperimentData, mnistExperimentData } from './common/sslData';
import {
  type Context,
  type Experiment,
  type Job,
  type MergedRows,
  type PlannedRow,
  keptNote,
  main,
  mergeRows,
  parseFlags,
  readTable,
  writeTable,
} from './common/runner';

const settings = {
  table: {
    type: 'string',
    default: '',
    help:
      'write ONE extra table <results>/<name>.{json,md} (the --datasets/--methods/--bag-sizes ' +
      "cells of this --out, with each encoder's probe AUC) instead of the three " +
      'standard tables; for a second setting (more bags, longer pretraining) in its own --out',
  },
  datasets: { type: 'string', default: 'mnist,colon', help: 'mnist, colon (with --table: the data sets of its rows)' },
  methods: {
    type: 'string',
    default: 'random,both,contrastive,reconstruction,e2e',
    help: 'random, contrastive, reconstruction, both, e2e (with --table: the methods of its rows)',
  },
  'bag-sizes': {
    type: 'string',
    default: '64,128,256',
    help: 'bag sizes K (the standard tables always hold 64, 128, 256)',
  },
  folds: { type: 'number', default: 5, help: 'stratified cross-validation folds' },
  seed: { type: 'number', default: 0, help: 'seed (data, encoders, folds, MIL)' },
  steps: { type: 'number', default: 200, help: 'SSL pretraining steps per encoder' },
  'batch-size': { type: 'number', default: 64, help: 'SSL pretraining batch (patches)' },
  width: { type: 'number', default: 8, help: 'encoder first-stage channels' },
  'embed-dim': { type: 'number', default: 64, help: 'encoder output width (the MIL feature width)' },
  epochs: { type: 'number', default: 10, help: 'AB-MIL epochs on frozen features' },
  'head-dim': { type: 'number', default: 128, help: 'AB-MIL projection width (every row, also end to end)' },
  lr: { type: 'number', default: 5e-4, help: 'AB-MIL learning rate' },
  'e2e-epochs': { type: 'number', default: 3, help: 'epochs of end-to-end MIL through the conv encoder' },
  'mnist-bags': { type: 'number', default: 100, help: 'MNIST bags (half positive)' },
  'mnist-pool': {
    type: 'number',
    default: 10000,
    help: 'MNIST training digits the bags are drawn from (and SSL pretrains on)',
  },
  'mnist-witnesses': { type: 'number', default: 3, help: 'a positive MNIST bag holds 1..this many nines' },
} as const;
type Ctx = Context<typeof settings>;
type Flags = Ctx['settings'];
type Method = 'random' | ObjectiveName | 'e2e';
type Frozen = Exclude<Method, 'e2e'>;

const METHOD_TITLES: Record<Method, string> = {
  random: 'frozen random encoder (no SSL)',
  contrastive: 'SSL contrastive',
  reconstruction: 'SSL reconstruction',
  both: 'SSL contrastive + reconstruction',
  e2e: 'end to end from a random encoder (no SSL)',
};
const METHODS = Object.keys(METHOD_TITLES) as Method[];
const FROZEN: Frozen[] = ['random', 'contrastive', 'reconstruction', 'both'];
const DATASET_TITLES: Record<string, string> = { mnist: 'MNIST-bags', colon: 'colon' };
const METRICS = ['accuracy', 'f1', 'auc'] as const;
/** The bag sizes and data sets every standard table covers. */
export const STANDARD_SIZES = [64, 128, 256];
export const STANDARD_DATASETS = ['mnist', 'colon'];
const STANDARD_TABLES = ['ssl-bagsize', 'ssl-objectives', 'ssl-probe'] as const;

interface Cell {
  dataset: string;
  method: Method;
  k: number;
  settings: string;
  accuracy: number[];
  f1: number[];
  auc: number[];
  seconds: number;
  /** 1-min load average when the cell started and ended (the machine is shared). */
  load: number[];
  /** Process CPU seconds (user + system) the cell took; absent in cells from before it was recorded. */
  cpuSeconds?: number;
}

interface PretrainRecord {
  steps: number;
  seconds: number;
  firstLoss: number;
  lastLoss: number;
}

function cpuSecondsSince(start: NodeJS.CpuUsage): number {
  const d = process.cpuUsage(start);
  return (d.user + d.system) / 1e6;
}

function netConfig(f: Flags): SslNetConfig {
  return { inputSize: 28, width: f.width, embedDim: f['embed-dim'], projDim: 32 };
}

/** AB-MIL head of every row (defaults otherwise: GELU, dropout 0.25, tanh attention 128). */
function headConfig(f: Flags): Record<string, unknown> {
  return { embedDim: f['head-dim'] };
}

/** The settings a cell depends on: a finished cell is reused only under the same ones. */
function cellSettings(f: Flags, method: Method): string {
  const common = {
    seed: f.seed,
    folds: f.folds,
    net: netConfig(f),
    head: headConfig(f),
    mnist: [f['mnist-bags'], f['mnist-pool'], f['mnist-witnesses']],
  };
  if (method === 'e2e') return JSON.stringify({ ...common, epochs: f['e2e-epochs'], lr: f.lr });
  const ssl = method === 'random' ? {} : { steps: f.steps, batch: f['batch-size'] };
  return JSON.stringify({ ...common, ...ssl, epochs: f.epochs, lr: f.lr });
}

/** The settings string the finished cells of a method carry under these flags (lets tests write cells). */
export function cellSettingsFor(argv: string[], method: Method): string {
  return cellSettings(parseFlags(experiment, argv).settings, method);
}

function cellFile(ctx: Ctx, dataset: string, method: Method, k: number): string {
  return path.join(ctx.out, 'cells', `${dataset}-${method}-k${k}.json`);
}

function readCell(ctx: Ctx, dataset: string, method: Method, k: number): Cell | undefined {
  const file = cellFile(ctx, dataset, method, k);
  if (!fs.existsSync(file)) return undefined;
  const cell = JSON.parse(fs.readFileSync(file, 'utf8')) as Cell;
  if (cell.settings !== cellSettings(ctx.settings, method))
    throw new Error(
      `${file} was computed with other settings (${cell.settings}); use another --out or the original flags`,
    );
  return cell;
}

/** Finished cells of a run folder, from their file names `cells/<dataset>-<method>-k<K>.json`. */
export function finishedCells(out: string): { dataset: string; method: string; k: number }[] {
  const dir = path.join(out, 'cells');
  if (!fs.existsSync(dir)) return [];
  return fs.readdirSync(dir).flatMap((name) => {
    const m = /^([a-z0-9]+)-([a-z0-9]+)-k(\d+)\.json$/.exec(name);
    return m ? [{ dataset: m[1], method: m[2], k: Number(m[3]) }] : [];
  });
}

/** The bag sizes a table covers: the union of the lists, ascending. */
export function unionSizes(...lists: number[][]): number[] {
  return [...new Set(lists.flat())].sort((a, b) => a - b);
}

/** Bag sizes named in row labels ("MNIST-bags, K = 128: …"), so a previous table's sizes stay covered. */
export function labelSizes(rows: readonly { label: string }[]): number[] {
  return rows.flatMap((r) => {
    const m = /, K = (\d+):/.exec(r.label);
    return m ? [Number(m[1])] : [];
  });
}

/** Held-out instance AUC of a linear probe on an encoder's pool features (two halves). */
interface Probe {
  settings: string;
  auc: number[];
}

function probeFile(ctx: Ctx, dataset: string, method: Method): string {
  return path.join(ctx.out, 'cells', `${dataset}-${method}-probe.json`);
}

function readProbe(ctx: Ctx, dataset: string, method: Method): Probe | undefined {
  const file = probeFile(ctx, dataset, method);
  if (!fs.existsSync(file)) return undefined;
  const probe = JSON.parse(fs.readFileSync(file, 'utf8')) as Probe;
  return probe.settings === cellSettings(ctx.settings, method) ? probe : undefined;
}

/** Bag records of a plan: rows of `rowsOf` (pool index → features) for each member. */
function* planRecords(
  plans: BagPlan[],
  dim: number,
  rowOf: (i: number, out: Float32Array, at: number) => void,
  instanceLabels: Uint8Array,
): Generator<BagRecord> {
  for (const p of plans) {
    const features = new Float32Array(p.members.length * dim);
    p.members.forEach((m, r) => rowOf(m, features, r * dim));
    yield {
      id: p.id,
      label: p.label,
      patientId: p.patientId,
      features,
      instanceLabels: p.members.map((m) => instanceLabels[m]),
    };
  }
}

// ---------------------------------------------------------------------------------------------
// Run.

/** Data sets and encoder features, built once per invocation (every cell of a data set shares them). */
const loaded = new Map<string, Promise<unknown>>();
function once<T>(key: string, make: () => Promise<T>): Promise<T> {
  if (!loaded.has(key)) loaded.set(key, make());
  return loaded.get(key) as Promise<T>;
}

function dataOf(ctx: Ctx, dataset: string): Promise<ExperimentData> {
  const f = ctx.settings;
  const key = JSON.stringify([dataset, f.seed, f['mnist-pool'], f['mnist-bags'], f['mnist-witnesses']]);
  return once(`data/${key}`, async () => {
    const data =
      dataset === 'mnist'
        ? mnistExperimentData({
            poolSize: f['mnist-pool'],
            bags: f['mnist-bags'],
            maxWitnesses: f['mnist-witnesses'],
            seed: f.seed,
          })
        : await colonExperimentData({ seed: f.seed });
    ctx.log(`${dataset}: pool of ${data.pool.n} patches of ${data.pool.size} × ${data.pool.size}`);
    return data;
  });
}

/** The encoder of a method: random, or pretrained (resumed from its checkpoint; `record` notes its cost). */
async function encoderFor(ctx: Ctx, data: ExperimentData, method: Frozen, record: boolean): Promise<SslNetwork> {
  const f = ctx.settings;
  const net = netConfig(f);
  if (method === 'random') return new SslNetwork(net, f.seed);
  const dir = path.join(ctx.out, data.name);
  fs.mkdirSync(dir, { recursive: true });
  const recordFile = path.join(dir, `encoder-${method}.json`);
  const before: PretrainRecord | undefined = fs.existsSync(recordFile)
    ? JSON.parse(fs.readFileSync(recordFile, 'utf8'))
    : undefined;
  const r = await pretrain(
    data.pool,
    { net, ...OBJECTIVES[method], steps: f.steps, batchSize: f['batch-size'], seed: f.seed, augment: data.augment },
    {
      checkpoint: path.join(dir, `encoder-${method}.ckpt`),
      checkpointEvery: 25,
      resume: true,
      onProgress: (p) => {
        if (p.step % 25 === 0)
          ctx.log(
            `  ${data.name} pretrain ${method} step ${p.step}/${p.steps} ` +
              `loss ${p.loss.toFixed(4)} (${p.patchesPerSecond.toFixed(0)} views/s)`,
          );
      },
    },
  );
  if (!record) return r.network;
  const h = r.history;
  // Seconds add up over resumed runs (a run killed between checkpoints loses its partial time).
  const rec: PretrainRecord = {
    steps: h.length,
    seconds: (before?.seconds ?? 0) + (r.startStep < f.steps ? r.seconds : 0),
    firstLoss: h[0]?.loss ?? NaN,
    lastLoss: h.at(-1)?.loss ?? NaN,
  };
  fs.writeFileSync(recordFile, JSON.stringify(rec));
  ctx.log(
    `${data.name} encoder ${method}: ${rec.steps} steps, ${rec.seconds.toFixed(0)} ` +
      `s, loss ${rec.firstLoss.toFixed(3)} → ${rec.lastLoss.toFixed(3)}`,
  );
  return r.network;
}

/** The pool's features under a frozen encoder. */
function featuresOf(ctx: Ctx, data: ExperimentData, method: Frozen, record = false): Promise<Float32Array> {
  return once(`features/${ctx.out}/${data.name}/${method}/${cellSettings(ctx.settings, method)}`, async () => {
    const network = await encoderFor(ctx, data, method, record);
    const features = await encoderFeaturizer(network).featurize(data.pool.pixels, data.pool.n, data.pool.size);
    network.dispose();
    return features;
  });
}

/** Encoder job: pretrain (or resume) the encoder and measure its linear probe. */
async function runEncoder(ctx: Ctx, dataset: string, method: Frozen): Promise<void> {
  await useBackend();
  const f = ctx.settings;
  const data = await dataOf(ctx, dataset);
  const features = await featuresOf(ctx, data, method, true);
  const probe: Probe = {
    settings: cellSettings(f, method),
    auc: linearProbeAuc(features, f['embed-dim'], data.instanceLabels, { seed: f.seed }),
  };
  fs.mkdirSync(path.join(ctx.out, 'cells'), { recursive: true });
  fs.writeFileSync(probeFile(ctx, dataset, method), JSON.stringify(probe));
  ctx.log(`${dataset} ${method}: linear-probe instance AUC ${probe.auc.map((a) => a.toFixed(3)).join(', ')}`);
}

/** Cell job: AB-MIL cross-validated on K-instance bags of a frozen encoder's features, or end to end. */
async function runCell(ctx: Ctx, dataset: string, method: Method, k: number): Promise<void> {
  await useBackend();
  const f = ctx.settings;
  const data = await dataOf(ctx, dataset);
  const cohorts = path.join(ctx.out, data.name, 'cohorts');
  if (method === 'e2e') {
    const p = data.pool.size;
    const dim = p * p * data.channels;
    const per = p * p * 3;
    const rowOf = (i: number, out: Float32Array, at: number) => {
      for (let j = 0; j < p * p * data.channels; j++)
        out[at + j] = data.pool.pixels[i * per + (data.channels === 1 ? 3 * j : j)] / 255;
    };
    const file = path.join(cohorts, `raw-k${k}.arrow`);
    if (!fs.existsSync(file))
      await writeCohort(file, planRecords(data.bags(k), dim, rowOf, data.instanceLabels), { dim });
    const model = convMilBuilder({ patchSize: p, channels: data.channels, net: netConfig(f), head: headConfig(f) });
    return crossValidateCell(ctx, data, method, k, file, model, { epochs: f['e2e-epochs'], standardize: false });
  }
  const features = await featuresOf(ctx, data, method);
  const dim = f['embed-dim'];
  const rowOf = (i: number, out: Float32Array, at: number) => out.set(features.subarray(i * dim, (i + 1) * dim), at);
  const file = path.join(cohorts, `${method}-k${k}.arrow`);
  await writeCohort(file, planRecords(data.bags(k), dim, rowOf, data.instanceLabels), {
    dim,
    metadata: { 'milkit.ssl_method': method },
  });
  const model = { name: 'abmil', config: headConfig(f) };
  return crossValidateCell(ctx, data, method, k, file, model, { epochs: f.epochs, standardize: true });
}

async function crossValidateCell(
  ctx: Ctx,
  data: ExperimentData,
  method: Method,
  k: number,
  cohortFile: string,
  model: ModelChoice,
  config: Partial<TrainConfig>,
): Promise<void> {
  const f = ctx.settings;
  const t0 = Date.now();
  const cpu0 = process.cpuUsage();
  const load = [os.loadavg()[0]];
  const cohort = await Cohort.open(cohortFile, { cacheBytes: 0 });
  try {
    const splits = stratifiedKFold(cohort.bags, { k: f.folds, seed: f.seed });
    const trainer = new Trainer({ model, config: { seed: f.seed, selectOn: 'last', lr: f.lr, ...config } });
    trainer.events.on((e) => {
      if (e.type === 'fold-end' && !e.interrupted)
        ctx.log(
          `  ${data.name} ${method} K=${k} fold ${e.fold + 1}/${f.folds}: ` +
            `accuracy ${e.metrics.accuracy?.toFixed(3)} (${cpuSecondsSince(cpu0).toFixed(0)} s CPU so far)`,
        );
    });
    const run = await trainer.crossValidate(cohort, [splits], {
      outDir: path.join(ctx.out, data.name, 'mil', `${method}-k${k}`),
      resume: true,
      signal: ctx.signal,
    });
    if (run.interrupted) return;
    load.push(os.loadavg()[0]);
    const cell: Cell = {
      dataset: data.name,
      method,
      k,
      settings: cellSettings(f, method),
      accuracy: run.folds.map((x) => x.metrics.accuracy),
      f1: run.folds.map((x) => x.metrics.f1),
      auc: run.folds.map((x) => x.metrics.auc),
      seconds: (Date.now() - t0) / 1000,
      load,
      cpuSeconds: cpuSecondsSince(cpu0),
    };
    const file = cellFile(ctx, data.name, method, k);
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(`${file}.tmp`, JSON.stringify(cell, null, 1));
    fs.renameSync(`${file}.tmp`, file);
    const m = (a: number[]) => (a.reduce((s, v) => s + v, 0) / a.length).toFixed(3);
    ctx.log(
      `${data.name} ${method} K=${k}: accuracy ${m(cell.accuracy)}, F1 ${m(cell.f1)}, ` +
        `AUC ${m(cell.auc)} (${cell.seconds.toFixed(0)} s wall, ${cell.cpuSeconds?.toFixed(0)} s CPU)`,
    );
  } finally {
    await cohort.close();
  }
}

// ---------------------------------------------------------------------------------------------
// What the tables hold.

const listOf = (text: string) => text.split(',').filter(Boolean);

/** `asked` followed by the other values of `found` in the order of `all`. */
function unionInOrder<T extends string>(asked: T[], found: string[], all: T[]): T[] {
  return [...asked, ...all.filter((x) => !asked.includes(x) && found.includes(x))];
}

/** The data sets, methods and bag sizes of the tables this invocation writes. */
function scope(ctx: Ctx): { datasets: string[]; methods: Method[]; sizes: number[] } {
  const f = ctx.settings;
  const asked = f['bag-sizes'].split(',').map(Number);
  if (asked.some((k) => !Number.isInteger(k) || k < 1))
    throw new Error(`--bag-sizes: positive integers, got ${f['bag-sizes']}`);
  const askedDatasets = listOf(f.datasets);
  const askedMethods = listOf(f.methods) as Method[];
  for (const m of askedMethods)
    if (!(m in METHOD_TITLES)) throw new Error(`unknown method "${m}"; known: ${METHODS.join(', ')}`);
  for (const d of askedDatasets)
    if (!(d in DATASET_TITLES))
      throw new Error(`unknown data set "${d}"; known: ${Object.keys(DATASET_TITLES).join(', ')}`);
  const found = finishedCells(ctx.out);
  if (!f.table) {
    if (ctx.given.has('datasets') || ctx.given.has('methods'))
      throw new Error(
        '--datasets and --methods choose the rows of a --table; to run part of the standard tables, use --only',
      );
    const sizes = unionSizes(
      STANDARD_SIZES,
      asked,
      found.filter((c) => STANDARD_DATASETS.includes(c.dataset) && c.method in METHOD_TITLES).map((c) => c.k),
      ...STANDARD_TABLES.map((n) => labelSizes(readTable(ctx.results, n)?.rows ?? [])),
    );
    // In this order of work: the bag-size table's rows first.
    return { datasets: STANDARD_DATASETS, methods: ['random', 'both', 'contrastive', 'reconstruction', 'e2e'], sizes };
  }
  const datasets = unionInOrder(
    askedDatasets,
    found.map((c) => c.dataset),
    STANDARD_DATASETS,
  );
  const methods = unionInOrder(
    askedMethods,
    found.map((c) => c.method),
    METHODS,
  );
  const sizes = unionSizes(
    asked,
    found.filter((c) => datasets.includes(c.dataset) && methods.includes(c.method as Method)).map((c) => c.k),
    labelSizes(readTable(ctx.results, f.table)?.rows ?? []),
  );
  return { datasets, methods, sizes };
}

function jobs(ctx: Ctx): Job[] {
  loaded.clear();
  const { datasets, methods, sizes } = scope(ctx);
  const out: Job[] = [];
  for (const d of datasets)
    for (const m of methods) {
      if (m !== 'e2e')
        out.push({
          id: `${d}/${m}/encoder`,
          done: () => readProbe(ctx, d, m) !== undefined,
          run: () => runEncoder(ctx, d, m),
        });
      for (const k of sizes)
        out.push({
          id: `${d}/${m}/K${k}`,
          needs: m === 'e2e' ? [] : [`${d}/${m}/encoder`],
          done: () => readCell(ctx, d, m, k) !== undefined,
          run: () => runCell(ctx, d, m, k),
        });
    }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Assemble.

function pretrainSummary(ctx: Ctx, datasets: string[]): string {
  const parts: string[] = [];
  for (const d of datasets) {
    for (const o of Object.keys(OBJECTIVES)) {
      const file = path.join(ctx.out, d, `encoder-${o}.json`);
      if (!fs.existsSync(file)) continue;
      const r = JSON.parse(fs.readFileSync(file, 'utf8')) as PretrainRecord;
      parts.push(
        `${DATASET_TITLES[d]} ${o}: ${r.steps} steps in ${r.seconds.toFixed(0)} ` +
          `s, loss ${r.firstLoss.toFixed(3)} → ${r.lastLoss.toFixed(3)}`,
      );
    }
  }
  return parts.join('; ');
}

/**
 * CPU minutes of the cells that recorded them (from session 3 on; wall time depends on the load, CPU time much less).
 */
function cpuNote(cells: Cell[]): string {
  const timed = cells.filter((c) => c.cpuSeconds !== undefined);
  if (timed.length === 0) return '';
  const each = timed.map(
    (c) => `${DATASET_TITLES[c.dataset]} ${c.method} K = ${c.k} ${(c.cpuSeconds! / 60).toFixed(1)} min`,
  );
  return `; CPU time (recorded from session 3 on): ${each.join(', ')}`;
}

/** The protocol sentences every table of this command shares (data, encoder, SSL, MIL, CV). */
function protocolText(f: Flags, datasets: string[], withEndToEnd = true): string {
  const net = netConfig(f);
  return [
    datasets.includes('mnist') &&
      `MNIST-bags: ${f['mnist-bags']} bags (half positive) of exactly K digits drawn from a seeded ` +
        `pool of ${f['mnist-pool']} MNIST training digits; a positive bag holds 1-${f['mnist-witnesses']} ` +
        `nines, the rest are other digits (same label and number of nines at every K); digits ` +
        `are drawn with replacement, so a pool digit can recur in several bags (also across folds).`,
    datasets.includes('colon') &&
      `Colon (CRCHistoPhenotypes): 98 patients (51 positive), 20,280 nucleus ` +
        `patches of 27 × 27 (resized to 28); a bag keeps a seeded sample of K ` +
        `patches, or all of a patient's patches when fewer (patients have 6-699).`,
    `Encoder (every row): compact ResNet (src/ssl/network.ts), input 28, width ${net.width}/` +
      `${2 * net.width}/${4 * net.width}, ${net.embedDim}-d embedding, no batch norm, seed ${f.seed}.`,
    `SSL: ${f.steps} Adam steps (lr 1e-3) of ${f['batch-size']} patches on the data set's own pool (MNIST: ` +
      `crop/brightness/contrast/blur, no flips or rotations; colon: the H&E augmentations), NT-Xent τ ` +
      `0.5 and/or pixel MSE with weight 1 each; the same network, steps, batch and seed for every objective.`,
    `MIL on frozen features: AB-MIL (${f['head-dim']}-d GELU projection, dropout ` +
      `0.25, tanh attention 128), features standardised per training fold, ` +
      `Adam lr ${f.lr} with cosine decay, ${f.epochs} epochs, last-epoch weights.`,
    withEndToEnd &&
      `End to end: the same encoder (random init) + the same AB-MIL head on raw ` +
        `pixels, trained jointly, lr ${f.lr}, ${f['e2e-epochs']} epochs (fewer than the ` +
        `frozen rows: one epoch through the conv encoder costs ~K × 2 ms CPU per bag).`,
    `Stratified ${f.folds}-fold CV (seed ${f.seed}), the same folds for every ` +
      `row; accuracy and F1 (macro) at threshold 0.5 and AUC, mean ± sd over folds.`,
  ]
    .filter(Boolean)
    .join(' ');
}

/** Rows of a table by (data set, K, method), with the cells this --out has measured (`cellsAt`). */
function plannedRows(
  datasets: string[],
  sizes: number[],
  methods: Method[],
  columns: number,
  cellsAt: (d: string, m: Method, k: number) => PlannedRow['cells'] | undefined,
  labelSuffix = (_m: Method) => '',
): PlannedRow[] {
  return datasets.flatMap((d) =>
    sizes.flatMap((k) =>
      methods.map((m) => ({
        id: `${d}/${m}/K${k}`,
        label: `${DATASET_TITLES[d]}, K = ${k}: ${METHOD_TITLES[m]}${labelSuffix(m)}`,
        cells: cellsAt(d, m, k) ?? Array.from({ length: columns }, () => undefined),
      })),
    ),
  );
}

/** The three standard tables over the whole protocol, whatever subset this invocation ran. */
function assembleStandard(ctx: Ctx, backend: string): string[] {
  const f = ctx.settings;
  const { datasets, sizes } = scope(ctx);
  const cells: Cell[] = [];
  for (const d of datasets)
    for (const k of sizes)
      for (const m of METHODS) {
        const c = readCell(ctx, d, m, k);
        if (c) cells.push(c);
      }
  const loads = cells.flatMap((c) => c.load);
  const milSeconds = (ms: Method[]) => cells.filter((c) => ms.includes(c.method)).reduce((s, c) => s + c.seconds, 0);
  const settingsText = protocolText(f, datasets);
  const loadRange = loads.length ? `${Math.min(...loads).toFixed(1)}-${Math.max(...loads).toFixed(1)}` : 'n/a';
  const protocol = [
    settingsText,
    `Budget (wasm backend, 1 thread, a 2-core machine shared by ~8 jobs, 1-min load average ${loadRange}): ` +
      `pretraining ${pretrainSummary(ctx, datasets) || 'none in this --out'}; ` +
      `MIL wall time ${(milSeconds(FROZEN) / 60).toFixed(0)} min on frozen features, ` +
      `${(milSeconds(['e2e']) / 60).toFixed(0)} min end to end${cpuNote(cells)}.`,
  ].join(' ');
  const metricsAt = (d: string, m: Method, k: number) => {
    const c = cells.find((x) => x.dataset === d && x.method === m && x.k === k);
    return c && METRICS.map((x) => c[x]);
  };
  const probes: PlannedRow[] = datasets.flatMap((d) =>
    FROZEN.map((m) => {
      const p = readProbe(ctx, d, m);
      return { id: `${d}/${m}/probe`, label: `${DATASET_TITLES[d]}: ${METHOD_TITLES[m]}`, cells: [p?.auc] };
    }),
  );
  const columns = ['accuracy', 'F1', 'AUC'];
  const merge = (name: string, planned: PlannedRow[], cols: string[]) =>
    mergeRows(planned, readTable(ctx.results, name), settingsText, cols, path.join(ctx.results, `${name}.json`));
  // Every table is merged (which may refuse) before any is written.
  const merged: Record<(typeof STANDARD_TABLES)[number], MergedRows> = {
    'ssl-bagsize': merge('ssl-bagsize', plannedRows(datasets, sizes, ['random', 'both', 'e2e'], 3, metricsAt), columns),
    'ssl-objectives': merge('ssl-objectives', plannedRows(datasets, sizes, FROZEN, 3, metricsAt), columns),
    'ssl-probe': merge('ssl-probe', probes, ['instance AUC']),
  };
  const written: string[] = [];
  const write = (name: (typeof STANDARD_TABLES)[number], table: Omit<ResultsInput, 'rows'>, notRun: boolean) => {
    const { rows, missing, fresh } = merged[name];
    if (!fresh) return;
    const note = notRun && missing.length ? ` Not run (budget): ${missing.join(', ')}.` : '';
    written.push(
      writeTable(
        ctx.results,
        name,
        { ...table, caption: table.caption + note, rows },
        { command: ctx.command, protocol: protocol + keptNote(merged[name], ctx.out), backend },
      ),
    );
  };
  write(
    'ssl-bagsize',
    {
      title: 'SSL-pretrained vs no-SSL MIL by bag size',
      caption:
        'AB-MIL on frozen features of a random encoder and of an SSL encoder (contrastive + ' +
        'reconstruction), and AB-MIL trained end to end through a randomly initialised encoder.',
      columns,
    },
    true,
  );
  write(
    'ssl-objectives',
    {
      title: 'SSL objectives: contrastive vs reconstruction vs both',
      caption:
        'AB-MIL on frozen features; the three SSL encoders share network, steps, batch and seed; ' +
        'the frozen random encoder is the no-SSL reference.',
      columns,
    },
    true,
  );
  write(
    'ssl-probe',
    {
      title: "Are the witness patches linearly separable in each encoder's features?",
      caption:
        'Held-out instance AUC of a class-balanced logistic-regression probe (src/ssl/probe.ts) ' +
        'separating nines from other digits (MNIST pool) and cancerous from other nuclei (colon ' +
        'pool); two halves swap train/test, mean ± sd over the two.',
      columns: ['instance AUC'],
    },
    false,
  );
  return written;
}

/**
 * One extra table for a non-default setting (e.g. more MNIST bags and/or longer pretraining), kept
 * apart from the standard tables because its cells were computed under other settings. It covers
 * every finished cell of its --out (and keeps an earlier version's other rows), so a run over fewer
 * data sets, methods or sizes does not drop the others.
 */
function assembleExtra(ctx: Ctx, backend: string): string[] {
  const f = ctx.settings;
  const { datasets, methods, sizes } = scope(ctx);
  const previous: ReproductionFile | undefined = readTable(ctx.results, f.table);
  const cells = datasets.flatMap((d) => sizes.flatMap((k) => methods.flatMap((m) => readCell(ctx, d, m, k) ?? [])));
  const columns = ['accuracy', 'F1', 'AUC', 'instance probe AUC'];
  const planned = plannedRows(
    datasets,
    sizes,
    methods,
    columns.length,
    (d, m, k) => {
      const c = cells.find((x) => x.dataset === d && x.method === m && x.k === k);
      return c && [...METRICS.map((x) => c[x]), m === 'e2e' ? null : (readProbe(ctx, d, m)?.auc ?? null)];
    },
    (m) => (m === 'random' || m === 'e2e' ? '' : ` (${f.steps} steps)`),
  );
  const settingsText = protocolText(f, datasets, methods.includes('e2e'));
  const merged = mergeRows(planned, previous, settingsText, columns, path.join(ctx.results, `${f.table}.json`));
  if (!merged.fresh) return [];
  const loads = cells.flatMap((c) => c.load);
  const loadRange = loads.length ? `${Math.min(...loads).toFixed(1)}-${Math.max(...loads).toFixed(1)}` : 'n/a';
  const setting = `${f['mnist-bags']} MNIST bags, ${f.steps} SSL steps, ${f.epochs} AB-MIL epochs`;
  return [
    writeTable(
      ctx.results,
      f.table,
      {
        title: `SSL vs no-SSL MIL, extra setting: ${setting}`,
        caption:
          `Same protocol as results/ssl-bagsize.md except the setting in the title; the ` +
          `same folds and seeds for every row. The last column is the encoder's held-out ` +
          `linear-probe instance AUC (witness vs other patches of the pool, two halves).`,
        columns,
        rows: merged.rows,
      },
      {
        command: ctx.command,
        protocol:
          `${settingsText} Pretraining: ${pretrainSummary(ctx, datasets) || 'none'}. ` +
          `1-min load average while the cells ran ${loadRange}${cpuNote(cells)}.${keptNote(merged, ctx.out)}`,
        backend,
      },
    ),
  ];
}

export const experiment: Experiment<typeof settings> = {
  name: 'ssl',
  title: 'SSL-pretrained vs no-SSL MIL by bag size, SSL objectives, linear probes → results/ssl-*.{json,md}',
  out: 'runs/ssl-reproduce',
  settings,
  tables: (ctx) => (ctx.settings.table ? [ctx.settings.table] : [...STANDARD_TABLES]),
  jobs,
  assemble: async (ctx) => {
    const backend = describeBackend(await useBackend());
    return ctx.settings.table ? assembleExtra(ctx, backend) : assembleStandard(ctx, backend);
  },
};

main(experiment, module);
