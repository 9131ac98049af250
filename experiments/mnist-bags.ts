/**
 * MNIST-bags (Ilse, Tomczak & Welling, ICML 2018, the mean-bag-size-10 experiment): test AUC on 1000
 * test bags after training on 50 / 100 / 150 / 200 bags, for attention and gated-attention MIL with
 * the paper's LeNet-5 instance encoder trained end to end (model `image-mil`) → results/mnist-bags.{json,md}.
 *
 *   npm run reproduce:mnist-bags [-- --epochs 20 --reps 3 --sizes 50,100 --only attention/50 --jobs 2]
 *
 * Setting (Ilse et al.'s code): bag size trunc(N(10, 2)), target digit 9, training bags from MNIST
 * train and 1000 test bags from MNIST test (new bags for every repetition r = 1..reps, which is also
 * the training seed); conv5-20, ReLU, pool, conv5-50, ReLU, pool, fc-500 + ReLU (the MIL model's
 * projection), attention 500 → 128 → 1 (tanh; gated: tanh ⊙ sigmoid), no dropout; Adam lr 5e-4
 * (cosine decay), weight decay 1e-4, batch 1 bag, the weights after the last epoch (no selection on
 * the test bags). A cell lists the repetitions finished so far.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Cohort, Trainer, listModels, mnistBags, parseSplitFile, useBackend } from 'milkit';
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

const MODELS = {
  attention: { mil: 'abmil', milConfig: { attentionDim: 128 } },
  gated: { mil: 'gabmil', milConfig: { attentionDim: 128, attentionDropout: 0 } },
} as const;
type Row = keyof typeof MODELS;

const settings = {
  sizes: { type: 'string', default: '50,100,150,200', help: 'numbers of training bags (the columns)' },
  reps: { type: 'number', default: 3, help: 'repetitions: data-set seed and training seed r = 1..reps' },
  epochs: { type: 'number', default: 25, help: 'epochs per run' },
} as const;
type Ctx = Context<typeof settings>;

const sizesOf = (ctx: Ctx) => ctx.settings.sizes.split(',').map(Number);
const dataFile = (ctx: Ctx, n: number, r: number) => path.join(ctx.out, 'data', `mb${n}-r${r}.arrow`);
const runDir = (ctx: Ctx, m: Row, n: number, r: number) => path.join(ctx.out, `${m}-${n}-r${r}`);
const foldResult = (ctx: Ctx, m: Row, n: number, r: number) =>
  path.join(runDir(ctx, m, n, r), 'rep0-fold0', 'result.json');

/** Test AUC of a finished run (one train/test split: its only fold). */
function aucOf(ctx: Ctx, m: Row, n: number, r: number): number | undefined {
  const file = foldResult(ctx, m, n, r);
  if (!fs.existsSync(file)) return undefined;
  const result = JSON.parse(fs.readFileSync(file, 'utf8')) as { interrupted?: boolean; metrics: { auc: number } };
  return result.interrupted ? undefined : result.metrics.auc;
}

async function buildData(ctx: Ctx, n: number, r: number): Promise<void> {
  await mnistBags.build({ out: dataFile(ctx, n, r), trainBags: n, testBags: 1000, seed: r });
}

async function train(ctx: Ctx, m: Row, n: number, r: number): Promise<void> {
  await useBackend();
  const t0 = Date.now();
  const file = dataFile(ctx, n, r);
  const cohort = await Cohort.open(file);
  try {
    const splitsPath = file.replace(/\.arrow$/, '.splits.json');
    const splits = parseSplitFile(JSON.parse(fs.readFileSync(splitsPath, 'utf8')), cohort.bags, splitsPath);
    const trainer = new Trainer({
      model: { name: 'image-mil', config: MODELS[m] },
      config: { epochs: ctx.settings.epochs, lr: 5e-4, weightDecay: 1e-4, selectOn: 'last', seed: r },
    });
    const run = await trainer.crossValidate(cohort, splits, {
      outDir: runDir(ctx, m, n, r),
      resume: true,
      signal: ctx.signal,
    });
    if (run.interrupted) return;
    const secondsFile = path.join(runDir(ctx, m, n, r), 'seconds.json');
    fs.writeFileSync(secondsFile, JSON.stringify({ seconds: (Date.now() - t0) / 1000 }));
    ctx.log(`${m} ${n} bags r${r}: test AUC ${aucOf(ctx, m, n, r)?.toFixed(3)}`);
  } finally {
    await cohort.close();
  }
}

function jobs(ctx: Ctx): Job[] {
  const out: Job[] = [];
  for (let r = 1; r <= ctx.settings.reps; r++) {
    for (const n of sizesOf(ctx)) {
      const data = `data/${n}/r${r}`;
      out.push({
        id: data,
        done: () => fs.existsSync(dataFile(ctx, n, r).replace(/\.arrow$/, '.splits.json')),
        run: () => buildData(ctx, n, r),
      });
      for (const m of Object.keys(MODELS) as Row[])
        out.push({
          id: `${m}/${n}/r${r}`,
          needs: [data],
          done: () => aucOf(ctx, m, n, r) !== undefined,
          run: () => train(ctx, m, n, r),
        });
    }
  }
  return out;
}

async function assemble(ctx: Ctx): Promise<string[]> {
  const { reps, epochs } = ctx.settings;
  const sizes = sizesOf(ctx);
  const columns = sizes.map((n) => `${n} bags`);
  const repsOf = (m: Row, n: number) =>
    Array.from({ length: reps }, (_, i) => aucOf(ctx, m, n, i + 1)).filter((a): a is number => a !== undefined);
  const planned: PlannedRow[] = (Object.keys(MODELS) as Row[]).map((m) => ({
    id: m,
    label: m,
    cells: sizes.map((n) => (repsOf(m, n).length ? repsOf(m, n) : undefined)),
  }));
  const protocol =
    `Ilse et al. 2018 MNIST-bags: target 9, bag size trunc(N(10, 2)), train bags from MNIST train, 1000 test ` +
    `bags from MNIST test; model image-mil (conv5-20/pool/conv5-50/pool, fc-500 ReLU, attention 128, no ` +
    `dropout), Adam lr 5e-4 cosine, weight decay 1e-4, ${epochs} epochs, last-epoch weights; ${reps} repetitions`;
  const merged = mergeRows(
    planned,
    readTable(ctx.results, 'mnist-bags'),
    protocol,
    columns,
    path.join(ctx.results, 'mnist-bags.json'),
  );
  if (!merged.fresh) return [];
  // Repetitions behind each column: the fewest over the rows.
  const count = (j: number) =>
    Math.min(...merged.rows.map((row) => (row.cells[j] ? (row.cells[j] as ArrayLike<number>).length : 0)));
  const seconds = sizes
    .flatMap((n) =>
      (Object.keys(MODELS) as Row[]).flatMap((m) => Array.from({ length: reps }, (_, i) => runDir(ctx, m, n, i + 1))),
    )
    .map((d) => path.join(d, 'seconds.json'))
    .filter((f) => fs.existsSync(f))
    .reduce((s, f) => s + (JSON.parse(fs.readFileSync(f, 'utf8')) as { seconds: number }).seconds, 0);
  const backend = await useBackend();
  // Ilse et al.'s attention pooling, as the model table records it.
  const published = listModels().find((m) => m.name === 'abmil')?.published?.mnistBagsAuc ?? {};
  const file = writeTable(
    ctx.results,
    'mnist-bags',
    {
      title: 'MNIST-bags (mean bag size 10): test AUC by number of training bags',
      caption:
        `LeNet-5 instance encoder trained end to end; mean ± sd over the repetitions finished ` +
        `(up to ${reps}; new training and test bags and a new seed each; a cell without ± is one ` +
        `repetition): ${columns.map((c, j) => `${c} ${count(j)}`).join(', ')}; 1000 test bags`,
      columns,
      rows: merged.rows,
    },
    {
      command: ctx.command,
      protocol: protocol + keptNote(merged, ctx.out),
      published: {
        source: 'Ilse, Tomczak & Welling, ICML 2018 (attention; test AUC as in the model table, src/registry/table.ts)',
        values: {
          attention: Object.fromEntries(
            sizes.flatMap((n, j) => (published[n] === undefined ? [] : [[columns[j], published[n]]])),
          ),
        },
      },
      ...(seconds > 0 ? { seconds: Math.round(seconds) } : {}),
      backend: backend.name,
    },
  );
  return [file];
}

export const experiment: Experiment<typeof settings> = {
  name: 'mnist-bags',
  title: 'MNIST-bags (Ilse et al. 2018): test AUC by number of training bags → results/mnist-bags.{json,md}',
  out: 'runs/mnist-bags-reproduce',
  settings,
  tables: () => ['mnist-bags'],
  jobs,
  assemble,
};

main(experiment, module);
