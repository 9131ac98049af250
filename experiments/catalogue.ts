/**
 * The catalogue table: every registered model on MUSK1 (standard 5 × 10-fold protocol, accuracy)
 * and on MNIST-bags (Ilse et al.: target 9, bag size N(10, 2), 100 training and 1000 test bags,
 * test AUC, a few repetitions with fresh bags and seeds) → results/catalogue.{json,md}, with the
 * published numbers beside ours.
 *
 * The protocol is one sweep plan, experiments/catalogue.plan.yaml (models, settings, cohorts). This
 * runner builds the cohorts it names into --out, plans the sweep in --out/sweep and runs each
 * model's units as one job, then assembles the table from the units' results. A cluster runs the
 * same plan as a Slurm array into that folder; this runner then only assembles the table:
 *
 *   npm run reproduce:catalogue [-- --only abmil,dsmil] [--jobs 2]
 *   npm run reproduce:catalogue -- --only data      # the cohorts, into runs/catalogue/
 *   milkit sweep experiments/catalogue.plan.yaml --out runs/catalogue/sweep --executor slurm ...
 *
 * One setting for every model (reproduce:musk1's): each model's registered defaults, except `embedDim`
 * 64 where the model has one and every dropout option at 0 (tiny cohorts); Adam lr 5e-4 with cosine
 * decay, weight decay 1e-5, batch 1 bag, the weights after the last epoch (no selection on the test
 * fold), seed 2021 (MNIST-bags: bag seed r + 1, training seed 2021 + r for repetition r). MUSK1
 * features are standardised with each training fold's statistics; MNIST-bags are raw pixels in [0, 1].
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import {
  type ModelInfo,
  type PlanCohort,
  SweepFolder,
  type SweepPlan,
  type TrainManifest,
  type UnitResult,
  dataRoot,
  listModels,
  mnistBags,
  musk1,
  planSweep,
  readPlan,
  resolvePlan,
  runUnit,
  useBackend,
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

const COLUMNS = ['MUSK1 accuracy', 'MNIST-bags AUC (100 bags)'];
const NAME = 'catalogue';

const settings = {
  plan: {
    type: 'string',
    default: 'experiments/catalogue.plan.yaml',
    help: 'the sweep plan (models, settings, cohorts); its cohorts are built into --out',
  },
} as const;
type Ctx = Context<typeof settings>;

/** The one small-data setting: embedDim 64 where present, every dropout option 0. */
export function catalogueModelConfig(info: ModelInfo): Record<string, unknown> {
  const cfg: Record<string, unknown> = {};
  for (const key of Object.keys(info.defaults)) {
    if (key === 'embedDim') cfg[key] = 64;
    if (/dropout/i.test(key) && typeof info.defaults[key] === 'number') cfg[key] = 0;
  }
  return cfg;
}

/**
 * Image models (a convolutional encoder over `imageShape`) have no MUSK1 cell: its instances are 166
 * numbers, not images. The plan runs them on MNIST-bags only.
 */
export const takesImages = (info: ModelInfo) => 'imageShape' in info.defaults;

const splitsOf = (file: string) => file.replace(/\.arrow$/, '.splits.json');
const entries = (plan: SweepPlan): PlanCohort[] =>
  (plan.cohorts ?? []).map((c) => (typeof c === 'string' ? { path: c } : c));

/** The plan in `file` with its cohort and split files in `out`, where this runner builds them. */
export function catalogueSweepPlan(file: string, out: string): SweepPlan {
  const plan = readPlan(file);
  const inOut = (p: string) => path.resolve(out, path.basename(p));
  return {
    ...plan,
    cohorts: entries(plan).map((c, i) => {
      if (typeof c?.path !== 'string')
        throw new Error(`${file}: cohorts[${i}].path: must be a cohort file name, got ${JSON.stringify(c?.path)}`);
      return { ...c, path: inOut(c.path), ...(typeof c.splits === 'string' ? { splits: inOut(c.splits) } : {}) };
    }),
  };
}

/**
 * Builds the cohorts `plan` names that are not there yet, each with its split file: `musk1.arrow`
 * from `musk1Source`, and `mnist-bags-100-seed<s>.arrow`, MNIST-bags drawn with bag seed s.
 */
export async function buildCohorts(plan: SweepPlan, musk1Source: string): Promise<void> {
  for (const { path: file } of entries(plan)) {
    if (fs.existsSync(splitsOf(file))) continue;
    fs.mkdirSync(path.dirname(file), { recursive: true });
    const mnist = /^mnist-bags-100-seed(\d+)\.arrow$/.exec(path.basename(file));
    if (path.basename(file) === 'musk1.arrow') await musk1.build({ out: file, source: musk1Source });
    else if (mnist) {
      const seed = Number(mnist[1]);
      await mnistBags.build({
        out: file,
        trainBags: 100,
        testBags: 1000,
        meanBagSize: 10,
        sdBagSize: 2,
        target: 9,
        seed,
      });
    } else throw new Error(`${file}: the catalogue builds musk1.arrow and mnist-bags-100-seed<s>.arrow only`);
  }
}

const sweepDir = (ctx: Ctx) => path.join(ctx.out, 'sweep');
const planOf = (ctx: Ctx) => catalogueSweepPlan(ctx.settings.plan, ctx.out);

/** The sweep in --out/sweep, checked to hold this plan; undefined before it is planned. */
function sweepOf(ctx: Ctx): { folder: SweepFolder; manifest: TrainManifest } | undefined {
  const folder = new SweepFolder(sweepDir(ctx));
  if (!folder.exists()) return undefined;
  const manifest = folder.manifest() as TrainManifest;
  const plan = resolvePlan(planOf(ctx), { baseDir: ctx.out, models: listModels().map((m) => m.name) });
  if (JSON.stringify(manifest.plan) !== JSON.stringify(plan))
    throw new Error(`${folder.dir} holds a sweep of another plan than ${ctx.settings.plan}: move it away`);
  return { folder, manifest };
}

/** Plans the sweep, unless it is there (planned, and maybe run, by `milkit sweep` on a cluster). */
async function planIt(ctx: Ctx): Promise<void> {
  if (sweepOf(ctx)) return;
  await useBackend();
  await planSweep(planOf(ctx), sweepDir(ctx));
}

const configOf = (m: TrainManifest, model: string) => m.plan.configs.find((c) => c.model.name === model);

function resultOf(folder: SweepFolder, u: TrainManifest['units'][number]): UnitResult | undefined {
  const file = folder.resultPath(u);
  if (!fs.existsSync(file)) return undefined;
  return JSON.parse(fs.readFileSync(file, 'utf8'), (_, v) => (v === null ? NaN : v)) as UnitResult;
}

/** The model's two cells when all its units are done; undefined otherwise. */
function cellsOf(ctx: Ctx, info: ModelInfo): (number[] | null)[] | undefined {
  const sweep = sweepOf(ctx);
  const config = sweep && configOf(sweep.manifest, info.name);
  if (!sweep || !config) return undefined;
  const results = sweep.manifest.units.filter((u) => u.config === config.id).map((u) => resultOf(sweep.folder, u));
  if (results.some((r) => !r)) return undefined;
  const on = (name: string) => (results as UnitResult[]).filter((r) => r.cohort === name);
  const musk = on('musk1');
  // Several repetitions: mean over them ± sd across them (each = the mean of its 10 folds), as the
  // papers report; one repetition: mean ± sd over its 10 folds.
  const repeats = [...new Set(musk.map((r) => r.unit.repeat))];
  const accuracy =
    repeats.length === 1
      ? musk.map((r) => r.metrics.accuracy)
      : repeats.map((rep) => mean(musk.filter((r) => r.unit.repeat === rep).map((r) => r.metrics.accuracy)));
  return [musk.length ? accuracy : null, on('mnist-bags').map((r) => r.metrics.auc)];
}

/** Runs (or resumes) the model's units of the sweep, one after the other. */
async function measure(ctx: Ctx, info: ModelInfo): Promise<void> {
  await useBackend();
  const sweep = sweepOf(ctx);
  const config = sweep && configOf(sweep.manifest, info.name);
  if (!sweep || !config) throw new Error(`${info.name}: no entry in ${ctx.settings.plan}`);
  const t0 = Date.now();
  for (const u of sweep.manifest.units.filter((x) => x.config === config.id)) {
    if (ctx.signal.aborted) return;
    const outcome = await runUnit(sweep.folder, u.index, { signal: ctx.signal, log: () => undefined });
    if (outcome === 'failed') {
      const error = JSON.parse(fs.readFileSync(sweep.folder.errorPath(u), 'utf8')) as { message: string };
      throw new Error(`${info.name}: unit ${u.id} failed: ${error.message}`);
    }
  }
  const cells = cellsOf(ctx, info);
  if (cells)
    ctx.log(
      `${info.name}: MUSK1 accuracy ${cells[0] ? fmt(cells[0]) : 'n/a (image model)'}, ` +
        `MNIST-bags AUC ${fmt(cells[1]!)} (${((Date.now() - t0) / 60000).toFixed(1)} min)`,
    );
}

/** The protocol of the table, read from the plan (MUSK1 repetitions and epochs, MNIST-bags epochs and draws). */
export function catalogueProtocol(file: string): string {
  const plan = readPlan(file);
  const cohorts = entries(plan);
  const musk = cohorts.find((c) => path.basename(c.path) === 'musk1.arrow');
  const mnist = cohorts.filter((c) => c.name === 'mnist-bags');
  const reps = mnist.length === 1 ? 'one repetition' : `${mnist.length} repetitions`;
  return (
    "each model's registered defaults except embedDim 64 (where present; TransMIL's head width " +
    'and landmarks follow it as in the reference, 64/8 and 64/2) and all dropout 0; Adam lr ' +
    '5e-4, cosine decay, weight decay 1e-5 (L2), batch 1 bag, last-epoch weights, seed 2021. ' +
    `MUSK1: ${musk?.repeats ?? 1} × 10-fold standard splits ` +
    `(musk1.folds.json), ${musk?.epochs ?? plan.epochs} epochs, features standardised per training fold. ` +
    'MNIST-bags: target 9, bag size N(10, 2), 100 training bags (MNIST train) / ' +
    "1000 test bags (MNIST test), raw 784 pixels through each model's own first layer " +
    `(no convolutional encoder, unlike the papers), ${mnist[0]?.epochs ?? plan.epochs} epochs, ${reps}.`
  );
}

async function assemble(ctx: Ctx): Promise<string[]> {
  const plan = entries(readPlan(ctx.settings.plan));
  const muskRepeats = plan.find((c) => path.basename(c.path) === 'musk1.arrow')?.repeats ?? 1;
  const mnistReps = plan.filter((c) => c.name === 'mnist-bags').length;
  const all = listModels();
  const planned: PlannedRow[] = all.map((info) => ({
    id: info.name,
    label: info.name,
    cells: cellsOf(ctx, info) ?? COLUMNS.map(() => undefined),
  }));
  const values: Record<string, Record<string, number>> = {};
  const sources = new Set<string>();
  for (const info of all) {
    const pub = info.published;
    if (!pub) continue;
    const v: Record<string, number> = {};
    if (pub.musk1Accuracy !== undefined) v[COLUMNS[0]] = pub.musk1Accuracy;
    if (pub.mnistBagsAuc?.[100] !== undefined) v[COLUMNS[1]] = pub.mnistBagsAuc[100];
    values[info.name] = v;
    sources.add(`${info.name}: ${pub.source}`);
  }
  const protocol = catalogueProtocol(ctx.settings.plan);
  const merged = mergeRows(
    planned,
    readTable(ctx.results, NAME),
    protocol,
    COLUMNS,
    path.join(ctx.results, `${NAME}.json`),
    true,
  );
  if (!merged.fresh) return [];
  const levels = all.map((m) => `${m.name} (${m.level ?? 'core'})`).join(', ');
  const images = all.filter(takesImages).map((m) => m.name);
  const muskCaption =
    muskRepeats === 1
      ? 'the first repetition of the 10-fold protocol, mean ± sd over its 10 folds'
      : `mean over the ${muskRepeats} repetitions of the 10-fold protocol ± sd across repetitions`;
  const mnistCaption =
    mnistReps === 1 ? 'one repetition' : `mean ± sd over ${mnistReps} repetitions (fresh bags and seeds)`;
  const notApplicable = images.length ? ` (MUSK1 of ${images.join(', ')}: not applicable, the model takes images)` : '';
  const backend = await useBackend();
  const file = writeTable(
    ctx.results,
    NAME,
    {
      title: 'The deep-MIL catalogue: MUSK1 and MNIST-bags',
      caption:
        `Every registered model. MUSK1: ${muskCaption}. MNIST-bags: test AUC, ${mnistCaption}. ` +
        `Empty cells: not measured yet${notApplicable}. Models (survey level): ${levels}.`,
      columns: COLUMNS,
      rows: merged.rows,
    },
    {
      command: ctx.command,
      protocol: protocol + keptNote(merged, ctx.out),
      published: { source: [...sources].join('; '), values },
      // No wall time: the command resumes finished units, so one invocation's time says nothing about the table's.
      backend: backend.name,
    },
  );
  return [file];
}

const mean = (v: number[]) => v.reduce((a, b) => a + b, 0) / v.length;
const fmt = (v: number[]) => `${mean(v).toFixed(3)} (n = ${v.length})`;

export const experiment: Experiment<typeof settings> = {
  name: 'catalogue',
  title: 'Every registered model on MUSK1 and MNIST-bags, one sweep plan → results/catalogue.{json,md}',
  out: 'runs/catalogue',
  settings,
  tables: () => [NAME],
  jobs: (ctx) => [
    {
      id: 'data',
      done: () => entries(planOf(ctx)).every((c) => fs.existsSync(splitsOf(c.path))),
      run: () => buildCohorts(planOf(ctx), path.join(dataRoot(), 'musk1')),
    },
    { id: 'plan', needs: ['data'], done: () => sweepOf(ctx) !== undefined, run: () => planIt(ctx) },
    ...listModels().map((info): Job => ({
      id: info.name,
      needs: ['plan'],
      done: () => cellsOf(ctx, info) !== undefined,
      run: () => measure(ctx, info),
    })),
  ],
  assemble,
};

main(experiment, module);
