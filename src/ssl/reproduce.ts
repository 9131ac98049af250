/**
 * Issue 5's experiments (`scripts/reproduce-ssl.sh`, or `node dist/ssl/reproduce.js`):
 *  1. SSL-pretrained vs no-SSL MIL at bag sizes K = 64 / 128 / 256 on MNIST-bags (few nines
 *     among K digits) and colon (patches per patient): AB-MIL on a frozen random encoder, AB-MIL
 *     on SSL encoders, and AB-MIL trained end to end through a randomly initialised encoder.
 *  2. Contrastive only vs reconstruction only vs both (same network, steps, batch and seed).
 * Writes results/ssl-bagsize.{json,md} and results/ssl-objectives.{json,md} (writeReproduction).
 *
 * Resumable at three levels: pretraining checkpoints, the trainer's per-fold checkpoints, and one
 * result file per (data set, method, K) cell. Every invocation ends by assembling the tables from
 * all finished cells, so separate processes (e.g. one per data set) can share one --out. The tables
 * always cover the whole protocol (both data sets, K = 64 / 128 / 256 and any other K asked for):
 * a run over a subset keeps the other rows, from this --out or from the tables already written.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describeBackend, useBackend } from '../backend';
import { describeFlags, parseFlags } from '../cli/flags';
import { Cohort } from '../data/cohort';
import { stratifiedKFold } from '../data/splits';
import { writeCohort } from '../data/writer';
import type { BagRecord } from '../data/bag';
import { type ReproductionFile, writeReproduction } from '../train/reproduction';
import type { ResultsInput } from '../viz/results';
import { Trainer, type TrainConfig, type ModelChoice } from '../train';
import { type SslNetConfig, SslNetwork } from './network';
import { type ObjectiveName, OBJECTIVES, pretrain } from './pretrain';
import { encoderFeaturizer } from './extract';
import { convMilBuilder } from './endToEnd';
import { linearProbeAuc } from './probe';
import {
  type PlannedRow,
  type TableRow,
  STANDARD_DATASETS,
  STANDARD_SIZES,
  finishedCells,
  labelSizes,
  mergeRows,
  previousTable,
  unionSizes,
} from './reproduceTables';
import { type BagPlan, type ExperimentData, colonExperimentData, mnistExperimentData } from './experimentData';

const spec = {
  out: { type: 'string', default: 'runs/ssl-reproduce', help: 'work folder (checkpoints, cohorts, finished cells)' },
  results: { type: 'string', default: 'results', help: 'where ssl-bagsize.* and ssl-objectives.* go' },
  datasets: { type: 'string', default: 'mnist,colon', help: 'mnist, colon' },
  methods: {
    type: 'string',
    default: 'random,both,contrastive,reconstruction,e2e',
    help: 'random, contrastive, reconstruction, both, e2e (in this order of work)',
  },
  'bag-sizes': { type: 'string', default: '64,128,256', help: 'bag sizes K' },
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
  'tables-only': { type: 'boolean', help: 'only assemble the tables from finished cells' },
  table: {
    type: 'string',
    default: '',
    help: "write ONE extra table <results>/<name>.{json,md} (the --datasets/--methods/--bag-sizes cells of this --out, with each encoder's probe AUC) instead of the three standard tables; for a second setting (more bags, longer pretraining) in its own --out",
  },
} as const;

type Flags = {
  [K in keyof typeof spec]: (typeof spec)[K]['type'] extends 'number'
    ? number
    : (typeof spec)[K]['type'] extends 'string'
      ? string
      : boolean;
};
type Method = 'random' | ObjectiveName | 'e2e';

const METHOD_TITLES: Record<Method, string> = {
  random: 'frozen random encoder (no SSL)',
  contrastive: 'SSL contrastive',
  reconstruction: 'SSL reconstruction',
  both: 'SSL contrastive + reconstruction',
  e2e: 'end to end from a random encoder (no SSL)',
};
const DATASET_TITLES: Record<string, string> = { mnist: 'MNIST-bags', colon: 'colon' };
const METRICS = ['accuracy', 'f1', 'auc'] as const;

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

const log = (s: string) => console.log(`[${new Date().toISOString().slice(11, 19)}] ${s}`);

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

function cellFile(f: Flags, dataset: string, method: Method, k: number): string {
  return path.join(f.out, 'cells', `${dataset}-${method}-k${k}.json`);
}

function readCell(f: Flags, dataset: string, method: Method, k: number): Cell | undefined {
  const file = cellFile(f, dataset, method, k);
  if (!fs.existsSync(file)) return undefined;
  const cell = JSON.parse(fs.readFileSync(file, 'utf8')) as Cell;
  if (cell.settings !== cellSettings(f, method))
    throw new Error(
      `${file} was computed with other settings (${cell.settings}); use another --out or the original flags`,
    );
  return cell;
}

/** Held-out instance AUC of a linear probe on an encoder's pool features (two halves). */
interface Probe {
  settings: string;
  auc: number[];
}

function probeFile(f: Flags, dataset: string, method: Method): string {
  return path.join(f.out, 'cells', `${dataset}-${method}-probe.json`);
}

function readProbe(f: Flags, dataset: string, method: Method): Probe | undefined {
  const file = probeFile(f, dataset, method);
  if (!fs.existsSync(file)) return undefined;
  const probe = JSON.parse(fs.readFileSync(file, 'utf8')) as Probe;
  return probe.settings === cellSettings(f, method) ? probe : undefined;
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

async function crossValidateCell(
  f: Flags,
  data: ExperimentData,
  method: Method,
  k: number,
  cohortFile: string,
  model: ModelChoice,
  config: Partial<TrainConfig>,
): Promise<void> {
  const t0 = Date.now();
  const cpu0 = process.cpuUsage();
  const load = [os.loadavg()[0]];
  const cohort = await Cohort.open(cohortFile, { cacheBytes: 0 });
  try {
    const splits = stratifiedKFold(cohort.bags, { k: f.folds, seed: f.seed });
    const trainer = new Trainer({ model, config: { seed: f.seed, selectOn: 'last', lr: f.lr, ...config } });
    trainer.events.on((e) => {
      if (e.type === 'fold-end')
        log(
          `  ${data.name} ${method} K=${k} fold ${e.fold + 1}/${f.folds}: accuracy ${e.metrics.accuracy?.toFixed(3)} (${cpuSecondsSince(cpu0).toFixed(0)} s CPU so far)`,
        );
    });
    const run = await trainer.crossValidate(cohort, [splits], {
      outDir: path.join(f.out, data.name, 'mil', `${method}-k${k}`),
      resume: true,
    });
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
    fs.mkdirSync(path.dirname(cellFile(f, data.name, method, k)), { recursive: true });
    fs.writeFileSync(cellFile(f, data.name, method, k), JSON.stringify(cell, null, 1));
    const m = (a: number[]) => (a.reduce((s, v) => s + v, 0) / a.length).toFixed(3);
    log(
      `${data.name} ${method} K=${k}: accuracy ${m(cell.accuracy)}, F1 ${m(cell.f1)}, AUC ${m(cell.auc)} (${cell.seconds.toFixed(0)} s wall, ${cell.cpuSeconds?.toFixed(0)} s CPU)`,
    );
  } finally {
    await cohort.close();
  }
}

/** The encoder of a method: random, or pretrained (resumed from its checkpoint). */
async function encoderFor(f: Flags, data: ExperimentData, method: Exclude<Method, 'e2e'>): Promise<SslNetwork> {
  const net = netConfig(f);
  if (method === 'random') return new SslNetwork(net, f.seed);
  const dir = path.join(f.out, data.name);
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
          log(
            `  ${data.name} pretrain ${method} step ${p.step}/${p.steps} loss ${p.loss.toFixed(4)} (${p.patchesPerSecond.toFixed(0)} views/s)`,
          );
      },
    },
  );
  const h = r.history;
  // Seconds add up over resumed runs (a run killed between checkpoints loses its partial time).
  const record: PretrainRecord = {
    steps: h.length,
    seconds: (before?.seconds ?? 0) + (r.startStep < f.steps ? r.seconds : 0),
    firstLoss: h[0]?.loss ?? NaN,
    lastLoss: h.at(-1)?.loss ?? NaN,
  };
  fs.writeFileSync(recordFile, JSON.stringify(record));
  log(
    `${data.name} encoder ${method}: ${record.steps} steps, ${record.seconds.toFixed(0)} s, loss ${record.firstLoss.toFixed(3)} → ${record.lastLoss.toFixed(3)}`,
  );
  return r.network;
}

async function runDataset(f: Flags, data: ExperimentData, methods: Method[], sizes: number[]): Promise<void> {
  const cohorts = path.join(f.out, data.name, 'cohorts');
  for (const method of methods) {
    const todo = sizes.filter((k) => !readCell(f, data.name, method, k));
    if (todo.length === 0 && (method === 'e2e' || readProbe(f, data.name, method))) continue;
    if (method === 'e2e') {
      const p = data.pool.size;
      const dim = p * p * data.channels;
      const per = p * p * 3;
      const rowOf = (i: number, out: Float32Array, at: number) => {
        for (let j = 0; j < p * p * data.channels; j++)
          out[at + j] = data.pool.pixels[i * per + (data.channels === 1 ? 3 * j : j)] / 255;
      };
      for (const k of todo) {
        const file = path.join(cohorts, `raw-k${k}.arrow`);
        if (!fs.existsSync(file))
          await writeCohort(file, planRecords(data.bags(k), dim, rowOf, data.instanceLabels), { dim });
        await crossValidateCell(
          f,
          data,
          method,
          k,
          file,
          convMilBuilder({ patchSize: p, channels: data.channels, net: netConfig(f), head: headConfig(f) }),
          { epochs: f['e2e-epochs'], standardize: false },
        );
      }
      continue;
    }
    const network = await encoderFor(f, data, method);
    const dim = network.config.embedDim;
    const features = await encoderFeaturizer(network).featurize(data.pool.pixels, data.pool.n, data.pool.size);
    network.dispose();
    if (!readProbe(f, data.name, method)) {
      const probe: Probe = {
        settings: cellSettings(f, method),
        auc: linearProbeAuc(features, dim, data.instanceLabels, { seed: f.seed }),
      };
      fs.mkdirSync(path.join(f.out, 'cells'), { recursive: true });
      fs.writeFileSync(probeFile(f, data.name, method), JSON.stringify(probe));
      log(`${data.name} ${method}: linear-probe instance AUC ${probe.auc.map((a) => a.toFixed(3)).join(', ')}`);
    }
    const rowOf = (i: number, out: Float32Array, at: number) => out.set(features.subarray(i * dim, (i + 1) * dim), at);
    for (const k of todo) {
      const file = path.join(cohorts, `${method}-k${k}.arrow`);
      await writeCohort(file, planRecords(data.bags(k), dim, rowOf, data.instanceLabels), {
        dim,
        metadata: { 'milkit.ssl_method': method },
      });
      await crossValidateCell(
        f,
        data,
        method,
        k,
        file,
        { name: 'abmil', config: headConfig(f) },
        { epochs: f.epochs, standardize: true },
      );
    }
  }
}

function pretrainSummary(f: Flags, datasets: string[]): string {
  const parts: string[] = [];
  for (const d of datasets) {
    for (const o of Object.keys(OBJECTIVES)) {
      const file = path.join(f.out, d, `encoder-${o}.json`);
      if (!fs.existsSync(file)) continue;
      const r = JSON.parse(fs.readFileSync(file, 'utf8')) as PretrainRecord;
      parts.push(
        `${DATASET_TITLES[d]} ${o}: ${r.steps} steps in ${r.seconds.toFixed(0)} s, loss ${r.firstLoss.toFixed(3)} → ${r.lastLoss.toFixed(3)}`,
      );
    }
  }
  return parts.join('; ');
}

/** CPU minutes of the cells that recorded them (from session 3 on; wall time depends on the load, CPU time much less). */
function cpuNote(cells: Cell[]): string {
  const timed = cells.filter((c) => c.cpuSeconds !== undefined);
  if (timed.length === 0) return '';
  return `; CPU time (recorded from session 3 on): ${timed.map((c) => `${DATASET_TITLES[c.dataset]} ${c.method} K = ${c.k} ${(c.cpuSeconds! / 60).toFixed(1)} min`).join(', ')}`;
}

/** The protocol sentences every table of this command shares (data, encoder, SSL, MIL, CV). */
function protocolText(f: Flags, datasets: string[], withEndToEnd = true): string {
  const net = netConfig(f);
  return [
    datasets.includes('mnist') &&
      `MNIST-bags: ${f['mnist-bags']} bags (half positive) of exactly K digits drawn from a seeded pool of ${f['mnist-pool']} MNIST training digits; a positive bag holds 1-${f['mnist-witnesses']} nines, the rest are other digits (same label and number of nines at every K); digits are drawn with replacement, so a pool digit can recur in several bags (also across folds).`,
    datasets.includes('colon') &&
      `Colon (CRCHistoPhenotypes): 98 patients (51 positive), 20,280 nucleus patches of 27 × 27 (resized to 28); a bag keeps a seeded sample of K patches, or all of a patient's patches when fewer (patients have 6-699).`,
    `Encoder (every row): compact ResNet (src/ssl/network.ts), input 28, width ${net.width}/${2 * net.width}/${4 * net.width}, ${net.embedDim}-d embedding, no batch norm, seed ${f.seed}.`,
    `SSL: ${f.steps} Adam steps (lr 1e-3) of ${f['batch-size']} patches on the data set's own pool (MNIST: crop/brightness/contrast/blur, no flips or rotations; colon: the H&E augmentations), NT-Xent τ 0.5 and/or pixel MSE with weight 1 each; the same network, steps, batch and seed for every objective.`,
    `MIL on frozen features: AB-MIL (${f['head-dim']}-d GELU projection, dropout 0.25, tanh attention 128), features standardised per training fold, Adam lr ${f.lr} with cosine decay, ${f.epochs} epochs, last-epoch weights.`,
    withEndToEnd &&
      `End to end: the same encoder (random init) + the same AB-MIL head on raw pixels, trained jointly, lr ${f.lr}, ${f['e2e-epochs']} epochs (fewer than the frozen rows: one epoch through the conv encoder costs ~K × 2 ms CPU per bag).`,
    `Stratified ${f.folds}-fold CV (seed ${f.seed}), the same folds for every row; accuracy and F1 (macro) at threshold 0.5 and AUC, mean ± sd over folds.`,
  ]
    .filter(Boolean)
    .join(' ');
}

/** Rows of a table by (data set, K, method), with the cells this --out has measured (`cellsAt`). */
function plannedRows(
  datasets: string[],
  sizes: number[],
  methods: Method[],
  cellsAt: (d: string, m: Method, k: number) => TableRow['cells'] | undefined,
  labelSuffix = (_m: Method) => '',
): PlannedRow[] {
  return datasets.flatMap((d) =>
    sizes.flatMap((k) =>
      methods.map((m) => ({
        id: `${d}/${m}/K${k}`,
        label: `${DATASET_TITLES[d]}, K = ${k}: ${METHOD_TITLES[m]}${labelSuffix(m)}`,
        cells: cellsAt(d, m, k),
      })),
    ),
  );
}

/** Where rows kept from an earlier version of a table came from (their numbers are not in this --out). */
function keptNote(f: Flags, kept: string[], previous: ReproductionFile | undefined): string {
  return kept.length && previous
    ? ` ${kept.length} row(s) not measured in ${f.out} kept from the table of ${previous.meta.date} (${previous.meta.commit ?? 'uncommitted tree'}).`
    : '';
}

/**
 * The three standard tables over the whole protocol (both data sets, the standard bag sizes plus any
 * asked for or already measured), whatever subset this invocation ran: see reproduceTables.ts.
 */
function assemble(f: Flags, asked: number[], backend: string): string[] {
  const datasets = STANDARD_DATASETS;
  const names = ['ssl-bagsize', 'ssl-objectives', 'ssl-probe'] as const;
  const previous = Object.fromEntries(names.map((n) => [n, previousTable(f.results, n)])) as Record<
    (typeof names)[number],
    ReproductionFile | undefined
  >;
  const sizes = unionSizes(
    STANDARD_SIZES,
    asked,
    finishedCells(f.out)
      .filter((c) => datasets.includes(c.dataset) && c.method in METHOD_TITLES)
      .map((c) => c.k),
    ...names.map((n) => labelSizes(previous[n]?.rows ?? [])),
  );
  const cells: Cell[] = [];
  for (const d of datasets)
    for (const k of sizes)
      for (const m of Object.keys(METHOD_TITLES) as Method[]) {
        const c = readCell(f, d, m, k);
        if (c) cells.push(c);
      }
  const loads = cells.flatMap((c) => c.load);
  const milSeconds = (ms: Method[]) => cells.filter((c) => ms.includes(c.method)).reduce((s, c) => s + c.seconds, 0);
  const settings = protocolText(f, datasets);
  const protocol = [
    settings,
    `Budget (wasm backend, 1 thread, a 2-core machine shared by ~8 jobs, 1-min load average ${loads.length ? `${Math.min(...loads).toFixed(1)}-${Math.max(...loads).toFixed(1)}` : 'n/a'}): pretraining ${pretrainSummary(f, datasets) || 'none in this --out'}; MIL wall time ${(milSeconds(['random', 'contrastive', 'reconstruction', 'both']) / 60).toFixed(0)} min on frozen features, ${(milSeconds(['e2e']) / 60).toFixed(0)} min end to end${cpuNote(cells)}.`,
  ].join(' ');
  const metricsAt = (d: string, m: Method, k: number) => {
    const c = cells.find((x) => x.dataset === d && x.method === m && x.k === k);
    return c && METRICS.map((x) => c[x]);
  };
  const probes: PlannedRow[] = datasets.flatMap((d) =>
    (['random', 'contrastive', 'reconstruction', 'both'] as Method[]).map((m) => {
      const p = readProbe(f, d, m);
      return { id: `${d}/${m}/probe`, label: `${DATASET_TITLES[d]}: ${METHOD_TITLES[m]}`, cells: p && [p.auc] };
    }),
  );
  // Every table is merged (which may refuse) before any is written.
  const merged = {
    'ssl-bagsize': mergeRows(
      plannedRows(datasets, sizes, ['random', 'both', 'e2e'], metricsAt),
      previous['ssl-bagsize'],
      settings,
      path.join(f.results, 'ssl-bagsize.json'),
    ),
    'ssl-objectives': mergeRows(
      plannedRows(datasets, sizes, ['random', 'contrastive', 'reconstruction', 'both'], metricsAt),
      previous['ssl-objectives'],
      settings,
      path.join(f.results, 'ssl-objectives.json'),
    ),
    'ssl-probe': mergeRows(probes, previous['ssl-probe'], settings, path.join(f.results, 'ssl-probe.json')),
  };
  const command = 'scripts/reproduce-ssl.sh';
  const written: string[] = [];
  const write = (name: (typeof names)[number], table: Omit<ResultsInput, 'rows'>, notRun: boolean) => {
    const { rows, kept, missing } = merged[name];
    if (rows.length === 0) return;
    const note = notRun && missing.length ? ` Not run (budget): ${missing.join(', ')}.` : '';
    written.push(
      writeReproduction(
        f.results,
        name,
        { ...table, caption: table.caption + note, rows },
        { command, protocol: protocol + keptNote(f, kept, previous[name]), backend },
      ),
    );
    log(`wrote ${written.at(-1)}`);
  };
  const columns = ['accuracy', 'F1', 'AUC'];
  write(
    'ssl-bagsize',
    {
      title: 'SSL-pretrained vs no-SSL MIL by bag size (issue 5, experiments 1 and 3)',
      caption:
        'AB-MIL on frozen features of a random encoder and of an SSL encoder (contrastive + reconstruction), and AB-MIL trained end to end through a randomly initialised encoder.',
      columns,
    },
    true,
  );
  write(
    'ssl-objectives',
    {
      title: 'SSL objectives: contrastive vs reconstruction vs both (issue 5, experiment 2)',
      caption:
        'AB-MIL on frozen features; the three SSL encoders share network, steps, batch and seed; the frozen random encoder is the no-SSL reference.',
      columns,
    },
    true,
  );
  write(
    'ssl-probe',
    {
      title: "Are the witness patches linearly separable in each encoder's features?",
      caption:
        'Held-out instance AUC of a class-balanced logistic-regression probe (src/ssl/probe.ts) separating nines from other digits (MNIST pool) and cancerous from other nuclei (colon pool); two halves swap train/test, mean ± sd over the two.',
      columns: ['instance AUC'],
    },
    false,
  );
  return written;
}

/** `asked` followed by the other values of `found` in the order of `all`. */
function unionInOrder<T extends string>(asked: T[], found: string[], all: T[]): T[] {
  return [...asked, ...all.filter((x) => !asked.includes(x) && found.includes(x))];
}

/**
 * One extra table for a non-default setting (e.g. more MNIST bags and/or longer pretraining), kept
 * apart from the standard tables because its cells were computed under other settings. It covers
 * every finished cell of its --out (and keeps an earlier version's other rows), so a run over fewer
 * data sets, methods or sizes does not drop the others.
 */
function assembleExtra(
  f: Flags,
  askedDatasets: string[],
  askedMethods: Method[],
  askedSizes: number[],
  backend: string,
): string[] {
  const found = finishedCells(f.out);
  const previous = previousTable(f.results, f.table);
  const datasets = unionInOrder(
    askedDatasets,
    found.map((c) => c.dataset),
    STANDARD_DATASETS,
  );
  const methods = unionInOrder(
    askedMethods,
    found.map((c) => c.method),
    Object.keys(METHOD_TITLES) as Method[],
  );
  const sizes = unionSizes(
    askedSizes,
    found.filter((c) => datasets.includes(c.dataset) && methods.includes(c.method as Method)).map((c) => c.k),
    labelSizes(previous?.rows ?? []),
  );
  const cells = datasets.flatMap((d) => sizes.flatMap((k) => methods.flatMap((m) => readCell(f, d, m, k) ?? [])));
  const planned = plannedRows(
    datasets,
    sizes,
    methods,
    (d, m, k) => {
      const c = cells.find((x) => x.dataset === d && x.method === m && x.k === k);
      return c && [...METRICS.map((x) => c[x]), m === 'e2e' ? null : (readProbe(f, d, m)?.auc ?? null)];
    },
    (m) => (m === 'random' || m === 'e2e' ? '' : ` (${f.steps} steps)`),
  );
  const settings = protocolText(f, datasets, methods.includes('e2e'));
  const file = path.join(f.results, `${f.table}.json`);
  const { rows, kept } = mergeRows(planned, previous, settings, file);
  if (rows.length === 0) return [];
  const loads = cells.flatMap((c) => c.load);
  const setting = `${f['mnist-bags']} MNIST bags, ${f.steps} SSL steps, ${f.epochs} AB-MIL epochs`;
  writeReproduction(
    f.results,
    f.table,
    {
      title: `SSL vs no-SSL MIL, extra setting: ${setting}`,
      caption: `Same protocol as results/ssl-bagsize.md except the setting in the title; the same folds and seeds for every row. The last column is the encoder's held-out linear-probe instance AUC (witness vs other patches of the pool, two halves).`,
      columns: ['accuracy', 'F1', 'AUC', 'instance probe AUC'],
      rows,
    },
    {
      command: `scripts/reproduce-ssl.sh --out ${f.out} --table ${f.table} --datasets ${datasets.join(',')} --methods ${methods.join(',')} --bag-sizes ${sizes.join(',')} --steps ${f.steps} --mnist-bags ${f['mnist-bags']}`,
      protocol: `${settings} Pretraining: ${pretrainSummary(f, datasets) || 'none'}. 1-min load average while the cells ran ${loads.length ? `${Math.min(...loads).toFixed(1)}-${Math.max(...loads).toFixed(1)}` : 'n/a'}${cpuNote(cells)}.${keptNote(f, kept, previous)}`,
      backend,
    },
  );
  log(`wrote ${file}`);
  return [file];
}

/** The settings string the finished cells of a method carry under these flags (lets tests write cells). */
export function cellSettingsFor(argv: string[], method: Method): string {
  return cellSettings(parseFlags(argv, spec).flags as unknown as Flags, method);
}

/** Runs the experiments (argv = the command's flags); returns the reproduction files written. */
export async function reproduceSsl(argv: string[]): Promise<string[]> {
  if (argv.includes('--help')) {
    console.log(`Usage: scripts/reproduce-ssl.sh [flags]\n${describeFlags(spec)}`);
    return [];
  }
  const { flags } = parseFlags(argv, spec);
  const f = flags as unknown as Flags;
  const info = await useBackend();
  const datasets = f.datasets.split(',').filter(Boolean);
  const sizes = f['bag-sizes'].split(',').map(Number);
  const methods = f.methods.split(',').filter(Boolean) as Method[];
  for (const m of methods)
    if (!(m in METHOD_TITLES))
      throw new Error(`unknown method "${m}"; known: ${Object.keys(METHOD_TITLES).join(', ')}`);
  for (const d of datasets)
    if (!(d in DATASET_TITLES))
      throw new Error(`unknown data set "${d}"; known: ${Object.keys(DATASET_TITLES).join(', ')}`);
  if (!f['tables-only']) {
    for (const d of datasets) {
      const data =
        d === 'mnist'
          ? mnistExperimentData({
              poolSize: f['mnist-pool'],
              bags: f['mnist-bags'],
              maxWitnesses: f['mnist-witnesses'],
              seed: f.seed,
            })
          : await colonExperimentData({ seed: f.seed });
      log(`${d}: pool of ${data.pool.n} patches of ${data.pool.size} × ${data.pool.size}`);
      await runDataset(f, data, methods, sizes);
    }
  }
  const backend = describeBackend(info);
  return f.table ? assembleExtra(f, datasets, methods, sizes, backend) : assemble(f, sizes, backend);
}

if (require.main === module) {
  reproduceSsl(process.argv.slice(2)).catch((err) => {
    console.error(err instanceof Error ? err.stack : err);
    process.exit(1);
  });
}
