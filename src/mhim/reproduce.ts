/**
 * MHIM vs its baseline on one cohort, same splits and seeds (an experiment command, not a test):
 *   1. the baseline (e.g. AB-MIL in MHIM's ReLU form), saving each fold's model;
 *   2. MHIM-v2 around it, teacher = copy of the student's random init (the v2 code default);
 *   3. MHIM-v2 with each fold's teacher initialised from that fold's trained baseline (the paper's
 *      best setting, `--teacher_init`).
 *
 *   node dist/mhim/reproduce.js --data musk1.arrow --splits musk1.splits.json --repeats 1 \
 *     [--model abmil] [--model-config JSON] [--mhim-config JSON] [--epochs 20] [--lr 5e-4] [--standardize] --out DIR
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { useBackend } from '../backend';
import { Cohort } from '../data/cohort';
import { parseSplitFile } from '../data/splits';
import { foldSeed, type TrainConfig } from '../train/config';
import { loadTrainedModel } from '../train/saved';
import { Trainer, type RunResult } from '../train';
import { mhimModel, MHIM_BASE_VARIANTS } from './choice';
import type { MhimOverrides } from './config';

export interface CompareOptions {
  data: string;
  splits: string;
  repeats?: number;
  model: string;
  modelConfig: Record<string, unknown>;
  mhim: MhimOverrides;
  train: Partial<TrainConfig>;
  out: string;
}

export async function compareMhim(o: CompareOptions): Promise<Record<string, RunResult>> {
  const cohort = await Cohort.open(o.data);
  try {
    let splits = parseSplitFile(JSON.parse(fs.readFileSync(o.splits, 'utf8')), cohort.bags, o.splits);
    if (o.repeats) splits = splits.slice(0, o.repeats);
    const base = { name: o.model, config: { ...MHIM_BASE_VARIANTS[o.model], ...o.modelConfig } };
    const runs: Record<string, RunResult> = {};
    const baselineDir = path.join(o.out, 'baseline');
    runs.baseline = await new Trainer({ model: base, config: o.train }).crossValidate(cohort, splits, { outDir: baselineDir });
    runs['mhim-v2'] = await new Trainer({ model: mhimModel(base, 'v2', o.mhim), config: o.train }).crossValidate(cohort, splits);

    // The trainer gives each fold its own seed; map it back to the fold's baseline model.
    const seed = runs.baseline.config.seed;
    const foldOfSeed = new Map<number, string>();
    splits.forEach((rep, r) => rep.forEach((_, f) => foldOfSeed.set(foldSeed(seed, r, f), path.join(baselineDir, `rep${r}-fold${f}`, 'model.ckpt'))));
    const build = mhimModel(base, 'v2', o.mhim);
    runs['mhim-v2+teacher-init'] = await new Trainer({
      model: (init) => {
        const m = build(init);
        const file = foldOfSeed.get(init.seed);
        // Unknown seeds are the trainer's probe for the run's model description: no teacher needed.
        if (file) {
          const trained = loadTrainedModel(file);
          m.initTeacherFrom(trained.model);
          trained.model.dispose();
        }
        return m;
      },
      config: o.train,
    }).crossValidate(cohort, splits);
    return runs;
  } finally {
    await cohort.close();
  }
}

function flag(args: string[], name: string): string | undefined {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
}

async function main(args: string[]): Promise<void> {
  const need = (n: string) => flag(args, n) ?? (() => { throw new Error(`${n} is required`); })();
  await useBackend();
  const runs = await compareMhim({
    data: need('--data'),
    splits: need('--splits'),
    repeats: flag(args, '--repeats') ? Number(flag(args, '--repeats')) : undefined,
    model: flag(args, '--model') ?? 'abmil',
    modelConfig: JSON.parse(flag(args, '--model-config') ?? '{}'),
    mhim: JSON.parse(flag(args, '--mhim-config') ?? '{}'),
    train: {
      epochs: Number(flag(args, '--epochs') ?? 20),
      lr: Number(flag(args, '--lr') ?? 2e-4),
      standardize: args.includes('--standardize'),
      selectOn: 'last',
      seed: Number(flag(args, '--seed') ?? 2021),
    },
    out: need('--out'),
  });
  const rows = Object.entries(runs).map(([name, r]) => ({
    name,
    ...Object.fromEntries(['accuracy', 'auc', 'f1'].map((k) => [k, `${r.summary[k].mean.toFixed(3)} ± ${r.summary[k].sd.toFixed(3)}`])),
  }));
  fs.writeFileSync(path.join(need('--out'), 'comparison.json'), JSON.stringify(rows, null, 2));
  console.table(rows);
}

if (require.main === module) {
  main(process.argv.slice(2)).catch((err) => {
    console.error(err instanceof Error ? err.message : err);
    process.exit(1);
  });
}
