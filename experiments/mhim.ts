/**
 * MHIM-MIL against its baseline, one protocol for four tables → results/mhim-{compare,ablation,
 * teacher-init,sweep}.{json,md}: MHIM-v2(AB-MIL) vs AB-MIL vs MHIM-v1(AB-MIL) on MUSK1, colon and
 * MNIST-bags with large bags; the Table-7 ablation, the teacher initialisation and a βh curve.
 *
 *   npm run reproduce:mhim [-- --only colon/baseline,mnist50 --focus mnist50 --jobs 2]
 *
 * One job per (data set, setting) run, `<out>/<data set>/<setting>/rep<r>-fold<f>`, shared by every
 * table that shows it (the baseline, MHIM-v2 with the baseline teacher). Every setting trains with
 * the same splits and fold seeds (the trainer derives each fold's seed from the base seed), so rows
 * differ only in the method. Teacher initialisation maps each fold to the baseline model trained on
 * the same fold with the same seed (the paper's `--teacher_init`). A table's rows of one data set use
 * the folds every measured row of it has finished (a partial run shortens them all).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import {
  Cohort,
  MHIM_BASE_VARIANTS,
  type MhimOverrides,
  type ModelChoice,
  type ResultsInput,
  type RunResult,
  Trainer,
  useBackend,
} from 'milkit';
import {
  REPRO_DATASETS,
  type ReproDataset,
  type ReproDatasetName,
  describeDataset,
  expectedFolds,
  isBuilt,
  prepareDataset,
} from './common/mhimData';
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

// ---------------------------------------------------------------------------------------------
// Settings: what each table row trains.

export interface ReproSetting {
  /** Run folder name; equal keys are the same run. */
  key: string;
  label: string;
  /** Absent: the plain baseline. */
  preset?: 'v1' | 'v2';
  mhim?: MhimOverrides;
  /**
   * Teacher starts from the fold's trained baseline (the paper's best setting) instead of the student's random init.
   */
  teacherInit?: boolean;
}

const BASELINE: ReproSetting = { key: 'baseline', label: 'AB-MIL' };
const V1: ReproSetting = { key: 'mhim-v1', label: 'MHIM-v1(AB-MIL)', preset: 'v1' };
const V2: ReproSetting = { key: 'mhim-v2', label: 'MHIM-v2(AB-MIL)', preset: 'v2' };
const V2_TEACHER: ReproSetting = {
  key: 'mhim-v2-ti',
  label: 'MHIM-v2(AB-MIL), teacher = trained baseline',
  preset: 'v2',
  teacherInit: true,
};

/** Table-7 rows: RHSM (top 2βh, mask half of them: r = 0.5), teacher from the baseline, GRN / CL toggled. */
const RHSM = { mask: { highRatio: 0.03, highRandomRatio: 0.5 } };
export const ABLATION: ReproSetting[] = [
  BASELINE,
  {
    key: 'abl-rhsm',
    label: '+RHSM',
    preset: 'v2',
    teacherInit: true,
    mhim: { ...RHSM, grn: null, consistencyWeight: 0 },
  },
  { key: 'abl-rhsm-grn', label: '+RHSM+GRN', preset: 'v2', teacherInit: true, mhim: { ...RHSM, consistencyWeight: 0 } },
  { key: 'abl-rhsm-cl', label: '+RHSM+CL', preset: 'v2', teacherInit: true, mhim: { ...RHSM, grn: null } },
  { key: 'abl-full', label: '+RHSM+GRN+CL (full MHIM-v2)', preset: 'v2', teacherInit: true, mhim: { ...RHSM } },
];

/** Figure-6-style curve: βh of MHIM-v2 (preset otherwise, teacher from the baseline). */
export const SWEEP_HIGH_RATIOS = [0.01, 0.03, 0.1, 0.3];
const sweepSetting = (h: number): ReproSetting =>
  h === 0.03
    ? { ...V2_TEACHER, label: `βh = ${h}` }
    : { key: `sweep-h${h}`, label: `βh = ${h}`, preset: 'v2', teacherInit: true, mhim: { mask: { highRatio: h } } };

/** Random-init teacher with a faster EMA, to separate "teacher init" from "teacher never moves". */
const V2_FAST_EMA: ReproSetting = {
  key: 'mhim-v2-m0.99',
  label: 'MHIM-v2, random-init teacher, momentum 0.99',
  preset: 'v2',
  mhim: { teacherMomentum: 0.99 },
};

export const EXPERIMENTS = ['compare', 'ablation', 'teacher-init', 'sweep'] as const;
export type ExperimentName = (typeof EXPERIMENTS)[number];

/** AB-MIL in MHIM-MIL's form, sized for a loaded 2-core machine (see the protocol strings). */
export const BASE_MODEL: { name: string; config: Record<string, unknown> } = {
  name: 'abmil',
  config: { ...MHIM_BASE_VARIANTS.abmil, embedDim: 64, dropout: 0 },
};

// ---------------------------------------------------------------------------------------------
// Running.

export interface ReproContext {
  out: string;
  log?: (line: string) => void;
  /** false: another job trains the baseline; teacher init only loads its finished folds. */
  trainBaseline?: boolean;
  signal?: AbortSignal;
}

/**
 * The trainer's model for a setting; with `teacherInit`, MHIM's own `init.teacher`: fold (r, f)'s
 * teacher starts from `<out>/<ds>/baseline/rep<r>-fold<f>/model.ckpt`, checked to share the fold.
 */
export function modelFor(setting: ReproSetting, ds: ReproDataset, ctx: ReproContext): ModelChoice {
  if (!setting.preset) return BASE_MODEL;
  return {
    name: 'mhim',
    config: {
      base: BASE_MODEL.name,
      baseConfig: BASE_MODEL.config,
      mhim: { ...setting.mhim, version: setting.preset },
      ...(setting.teacherInit ? { init: { teacher: path.join(ctx.out, ds.name, BASELINE.key) } } : {}),
    },
  };
}

/** Trains (or resumes) one setting on one data set; the baseline first when the teacher needs it. */
export async function runSetting(
  setting: ReproSetting,
  ds: ReproDataset,
  cohort: Cohort,
  ctx: ReproContext,
): Promise<RunResult> {
  if (setting.teacherInit && ctx.trainBaseline !== false) await runSetting(BASELINE, ds, cohort, ctx);
  const dir = path.join(ctx.out, ds.name, setting.key);
  const train = ds.train;
  const trainer = new Trainer({ model: modelFor(setting, ds, ctx), config: train });
  const t0 = Date.now();
  let fresh = false;
  trainer.events.on((e) => {
    if (e.type === 'fold-start') fresh = true;
    if (e.type === 'fold-end')
      ctx.log?.(
        `${ds.name} ${setting.key} rep${e.repeat} fold${e.fold}: AUC ${e.metrics.auc?.toFixed(3)} ` +
          `acc ${e.metrics.accuracy?.toFixed(3)} (${((Date.now() - t0) / 1000).toFixed(0)} s)`,
      );
  });
  const run = await trainer.crossValidate(cohort, ds.splits, { outDir: dir, resume: true, signal: ctx.signal });
  // Wall time accumulates over resumed sessions (training only; a fully resumed run adds ~0).
  const timing = path.join(dir, 'seconds.json');
  const before = fs.existsSync(timing)
    ? (JSON.parse(fs.readFileSync(timing, 'utf8')) as { seconds: number }).seconds
    : 0;
  if (fresh) fs.writeFileSync(timing, JSON.stringify({ seconds: before + (Date.now() - t0) / 1000 }));
  if (run.interrupted && !ctx.signal?.aborted) throw new Error(`${ds.name}/${setting.key} was interrupted`);
  return run;
}

function secondsOf(out: string, ds: string, key: string): number {
  const f = path.join(out, ds, key, 'seconds.json');
  return fs.existsSync(f) ? (JSON.parse(fs.readFileSync(f, 'utf8')) as { seconds: number }).seconds : 0;
}

// ---------------------------------------------------------------------------------------------
// Tables.

const METRICS = ['auc', 'accuracy', 'f1'] as const;
const COLUMNS = ['AUC', 'accuracy', 'F1'];

/** Test metrics by fold id (`rep<r>-fold<f>`). */
export type FoldMetrics = Map<string, Record<string, number>>;

const foldId = (f: { repeat: number; fold: number }) => `rep${f.repeat}-fold${f.fold}`;

/** The folds of a run that have finished so far (each writes `rep<r>-fold<f>/result.json` when done). */
export function finishedFolds(runDir: string): FoldMetrics {
  const out: FoldMetrics = new Map();
  if (!fs.existsSync(runDir)) return out;
  for (const d of fs.readdirSync(runDir).sort()) {
    const file = path.join(runDir, d, 'result.json');
    if (!fs.existsSync(file)) continue;
    const r = JSON.parse(fs.readFileSync(file, 'utf8'), (_, v) => (v === null ? NaN : v)) as {
      repeat: number;
      fold: number;
      metrics: Record<string, number>;
    };
    out.set(foldId(r), r.metrics);
  }
  return out;
}

/**
 * Table rows restricted, per data set, to the folds every measured row of that data set has finished,
 * so all rows compare the same splits and seeds (a partial run shortens every row of its data set;
 * a row with no finished fold is left empty).
 */
export function tableRows(items: { ds: string; label: string; folds: FoldMetrics }[]): {
  rows: ResultsInput['rows'];
  common: Map<string, string[]>;
} {
  const common = new Map<string, string[]>();
  for (const ds of new Set(items.map((i) => i.ds))) {
    // Rows with no finished fold stay empty and do not empty the others.
    const sets = items.filter((i) => i.ds === ds && i.folds.size > 0).map((i) => i.folds);
    common.set(ds, sets.length ? [...sets[0].keys()].filter((k) => sets.every((s) => s.has(k))).sort() : []);
  }
  const rows = items.map(({ ds, label, folds }) => {
    const ids = common.get(ds)!;
    return { label, cells: METRICS.map((m) => (ids.length && folds.size ? ids.map((id) => folds.get(id)![m]) : null)) };
  });
  return { rows, common };
}

/** Which (data set, setting) runs each experiment needs. */
export function planOf(
  experiment: ExperimentName,
  datasets: readonly ReproDatasetName[],
  focus: ReproDatasetName,
): { ds: ReproDatasetName; setting: ReproSetting; label: string }[] {
  switch (experiment) {
    case 'compare':
      return datasets.flatMap((ds) =>
        [BASELINE, V1, V2, V2_TEACHER].map((setting) => ({ ds, setting, label: `${ds} · ${setting.label}` })),
      );
    case 'ablation':
      return ABLATION.map((setting) => ({ ds: focus, setting, label: setting.label }));
    case 'teacher-init':
      return [
        ...datasets.flatMap((ds) => [
          { ds, setting: V2, label: `${ds} · random init (student's copy), m = 0.9997` },
          { ds, setting: V2_TEACHER, label: `${ds} · trained baseline, m = 0.9997` },
        ]),
        { ds: focus, setting: V2_FAST_EMA, label: `${focus} · random init, m = 0.99` },
      ];
    case 'sweep':
      return [
        { ds: focus, setting: BASELINE, label: 'βh = 0 (AB-MIL baseline)' },
        ...SWEEP_HIGH_RATIOS.map((h) => ({ ds: focus, setting: sweepSetting(h), label: sweepSetting(h).label })),
      ];
  }
}

const SHARED_PROTOCOL =
  "AB-MIL in MHIM-MIL's form (ReLU attention without biases, 128 hidden) with a 64-wide GELU projection, no dropout; " +
  'Adam lr 5e-4 with cosine decay to 1e-7, weight decay 1e-5 (L2), batch 1 bag, 20 epochs, weights ' +
  'after the last epoch (no selection on the test fold), ' +
  'seed 2021 (every setting sees the same splits and the same fold seeds); accuracy and macro F1 at the ' +
  "argmax (p ≥ 0.5, as MHIM-MIL's code). " +
  'MHIM-v2 preset: class-aware instance scores, HSM βh = 0.03 (r = 1), GRN K = 5 / keep 0.8 / ' +
  'query momentum 0.9999, consistency α = 0.5 at τ = 0.1, teacher momentum 0.9997, teacher dropout ' +
  'on. ' +
  'MHIM-v1 preset: attention scores, βh = 0.01 with r = 0.5 and cosine decay, random masking 0.5, ' +
  'α = 0.1, momentum 0.9999, no GRN. ' +
  ('"teacher = trained baseline": each fold\'s teacher starts from the AB-MIL ' +
    "trained on that fold with that seed (the paper's --teacher_init); otherwise the " +
    "teacher starts as a copy of the student's random init (the v2 code default). ") +
  'MUSK1: mean ± sd over its 50 folds (5 × 10-fold); colon: over the 5 folds; MNIST-bags: over 3 ' +
  'training seeds on one fixed train/test split. ' +
  'Wall time = sum over the runs; most MNIST-bags and colon runs were measured while 8 engineers ' +
  'shared the 2 cores (load average 40–55), about 20–30× an idle machine.';

const META: Record<ExperimentName, { title: string; caption: string }> = {
  compare: {
    title: 'MHIM-v2(AB-MIL) vs AB-MIL vs MHIM-v1(AB-MIL)',
    caption:
      'Published trend (Tang et al., ICCV 2023 / IJCV 2025): MHIM improves AB-MIL by about 1–3 AUC ' +
      'points on CAMELYON16 and TCGA-NSCLC WSIs with ResNet-50/PLIP/UNI features ' +
      '(thousands of patches per bag, large tumour regions).',
  },
  ablation: {
    title: 'MHIM-v2 ablation (Table-7 style)',
    caption:
      'Published trend (IJCV 2025, Table 7): every component adds on top of the baseline, and the ' +
      'full model is best. Here RHSM = top 2βh candidates, half masked (βh = 0.03, r = 0.5); CL = ' +
      "consistency loss (α = 0.5); the teacher starts from each fold's trained baseline in all MHIM rows.",
  },
  'teacher-init': {
    title: 'MHIM-v2 teacher initialisation',
    caption:
      'Published trend (IJCV 2025): initialising the teacher from a trained baseline is the best ' +
      'setting; a random-init EMA teacher at momentum 0.9997 still holds 0.9997^steps of its ' +
      'random weights at the end of training: 63 % after the 1,560 steps of colon (78 bags × 20 ' +
      'epochs), 30 % after the 4,000 of MNIST-bags (200 × 20), 61 % on MUSK1 (83 × 20), so for ' +
      'most of training its scores (and hence the masks) are close to random.',
  },
  sweep: {
    title: 'MHIM-v2: high-score mask ratio βh',
    caption:
      'Published trend (IJCV 2025, Figure 6): performance rises from no masking to a small βh and ' +
      'falls when too many salient instances are masked. Teacher from the trained baseline; βh = 0 ' +
      'is the AB-MIL baseline itself.',
  },
};

// ---------------------------------------------------------------------------------------------
// The experiment.

const settings = {
  // MNIST-bags (50): AB-MIL is far from the ceiling there (colon bags reach AUC ≈ 0.98 without MHIM).
  focus: {
    type: 'string',
    default: 'mnist50',
    help: `data set of the ablation and the βh sweep (${REPRO_DATASETS.join(', ')})`,
  },
} as const;
type Ctx = Context<typeof settings>;

function focusOf(ctx: Ctx): ReproDatasetName {
  const focus = ctx.settings.focus as ReproDatasetName;
  if (!REPRO_DATASETS.includes(focus))
    throw new Error(`--focus: unknown "${focus}" (known: ${REPRO_DATASETS.join(', ')})`);
  return focus;
}

const dataDir = (ctx: Ctx) => path.join(ctx.out, 'data');

/** Every (data set, setting) run of the four tables, once each. */
function runs(ctx: Ctx): { ds: ReproDatasetName; setting: ReproSetting }[] {
  const seen = new Map<string, { ds: ReproDatasetName; setting: ReproSetting }>();
  for (const e of EXPERIMENTS)
    for (const p of planOf(e, REPRO_DATASETS, focusOf(ctx))) seen.set(`${p.ds}/${p.setting.key}`, p);
  return [...seen.values()];
}

function jobs(ctx: Ctx): Job[] {
  const reproCtx: ReproContext = { out: ctx.out, log: ctx.log, trainBaseline: false, signal: ctx.signal };
  return [
    ...REPRO_DATASETS.map((ds): Job => ({
      id: `data/${ds}`,
      done: () => isBuilt(dataDir(ctx), ds),
      run: async () => void (await prepareDataset(ds, dataDir(ctx))),
    })),
    ...runs(ctx).map(({ ds, setting }): Job => ({
      id: `${ds}/${setting.key}`,
      needs: [`data/${ds}`, ...(setting.teacherInit ? [`${ds}/${BASELINE.key}`] : [])],
      done: () => finishedFolds(path.join(ctx.out, ds, setting.key)).size === expectedFolds(ds),
      run: async () => {
        await useBackend();
        const data = await prepareDataset(ds, dataDir(ctx));
        const cohort = await Cohort.open(data.cohortPath);
        try {
          await runSetting(setting, data, cohort, reproCtx);
        } finally {
          await cohort.close();
        }
      },
    })),
  ];
}

async function assemble(ctx: Ctx): Promise<string[]> {
  const backend = await useBackend();
  const focus = focusOf(ctx);
  // Every table is merged (which may refuse) before any is written.
  const tables = EXPERIMENTS.map((experiment) => {
    const plan = planOf(experiment, REPRO_DATASETS, focus);
    const items = plan.map((p) => ({
      ds: p.ds,
      label: p.label,
      folds: finishedFolds(path.join(ctx.out, p.ds, p.setting.key)),
    }));
    const { rows, common } = tableRows(items);
    const planned: PlannedRow[] = rows.map((row, i) => ({
      id: `${plan[i].ds}/${plan[i].setting.key}`,
      label: row.label,
      cells: items[i].folds.size ? row.cells : COLUMNS.map(() => undefined),
    }));
    const used = [...new Set(plan.map((p) => p.ds))];
    const protocol = `${used.map(describeDataset).join('; ')}. ${SHARED_PROTOCOL}`;
    const name = `mhim-${experiment}`;
    const merged = mergeRows(
      planned,
      readTable(ctx.results, name),
      protocol,
      COLUMNS,
      path.join(ctx.results, `${name}.json`),
      true,
    );
    return { experiment, plan, items, common, used, protocol, name, merged };
  });
  const written: string[] = [];
  for (const { experiment, plan, items, common, used, protocol, name, merged } of tables) {
    if (!merged.fresh) continue;
    // Data sets measured here but not in every fold: say so (kept rows carry their own folds).
    const short = used.flatMap((d) => {
      const n = common.get(d)!.length;
      const measured = items.some((item) => item.ds === d && item.folds.size > 0);
      return measured && n < expectedFolds(d)
        ? [
            `${d}: ${n} of ${expectedFolds(d)} ${d.startsWith('mnist') ? 'seeds' : 'folds'} ` +
              `(${common.get(d)!.join(', ') || 'none'}) finished in every row`,
          ]
        : [];
    });
    const empty = merged.missing.map((id) => plan.find((p) => `${p.ds}/${p.setting.key}` === id)!.label);
    if (empty.length) short.push(`not measured in time (empty rows): ${[...new Set(empty)].join('; ')}`);
    const caption =
      META[experiment].caption +
      (short.length
        ? ` Partial (the runs did not all finish in the time available; ` +
          `every row of a data set uses the same folds): ${short.join('; ')}.`
        : '');
    const seconds = [
      ...new Set(plan.filter((p, i) => items[i].folds.size > 0).map((p) => `${p.ds}/${p.setting.key}`)),
    ].reduce((s, id) => s + secondsOf(ctx.out, ...(id.split('/') as [string, string])), 0);
    written.push(
      writeTable(
        ctx.results,
        name,
        { ...META[experiment], caption, columns: COLUMNS, rows: merged.rows },
        { command: ctx.command, protocol: protocol + keptNote(merged, ctx.out), seconds, backend: backend.name },
      ),
    );
  }
  return written;
}

export const experiment: Experiment<typeof settings> = {
  name: 'mhim',
  title: 'MHIM-MIL vs AB-MIL: compare, Table-7 ablation, teacher init, βh sweep → results/mhim-*.{json,md}',
  out: 'runs/mhim',
  settings,
  tables: () => EXPERIMENTS.map((e) => `mhim-${e}`),
  jobs,
  assemble,
};

main(experiment, module);
