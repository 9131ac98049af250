import * as fs from 'node:fs';
import * as path from 'node:path';
import * as A from 'apache-arrow';
import { bf16Available, useBackend, withPrecision } from '../../backend';
import { Cohort } from '../../data/cohort';
import { riskFromHazardLogits } from '../../metrics/survival';
import { applyThreshold } from '../../metrics/threshold';
import { checkCohortFits, findTrainedModels, loadTrainedModel } from '../../persist/model';
import { removeStaleTempFiles, writeFileAtomic } from '../../persist/atomic';
import { predictInstances, softmax } from '../../train';
import { type Command, UsageError, parseArgs, requireFlag } from '../command';
import { describeFlags, type FlagSpec } from '../flags';

const flags: FlagSpec = {
  'model-dir': { type: 'string', help: 'a fold folder with model.ckpt, or a run folder (then pick one with --fold)' },
  fold: { type: 'string', help: 'fold folder inside a run folder, e.g. rep0-fold2' },
  data: { type: 'string', help: 'cohort to predict (x.arrow)' },
  out: {
    type: 'string',
    alias: 'o',
    help:
      'output prefix (writes <out>.bags.{csv,arrow}, ' +
      '<out>.instances.{csv,arrow}) or a folder (<out>/bags.csv, ...)',
  },
  precision: {
    type: 'string',
    choices: ['float32', 'bf16'],
    default: 'float32',
    help:
      'bf16: products by the model weights as split bfloat16 products (AMX or AVX-512 BF16), results ' +
      'within ~1e-5 of float32, ~2× faster projections on AMX CPUs (float32 elsewhere, with a note)',
  },
  json: { type: 'boolean', help: 'print the written files and counts as JSON' },
  quiet: { type: 'boolean', help: 'no progress output' },
};

type Column = { name: string; values: (number | string | null)[] };

function csv(cols: Column[]): string {
  const cell = (v: number | string | null) =>
    v === null ? '' : typeof v === 'string' ? (/[",\n]/.test(v) ? `"${v.replace(/"/g, '""')}"` : v) : String(v);
  const n = cols[0]?.values.length ?? 0;
  const lines = [cols.map((c) => c.name).join(',')];
  for (let r = 0; r < n; r++) lines.push(cols.map((c) => cell(c.values[r])).join(','));
  return `${lines.join('\n')}\n`;
}

/** Whole-number columns, written as int32 (as float64 they would read back as 1.0 in pandas). */
const INT_COLUMNS = new Set([
  'label',
  'predicted',
  'predicted_youden',
  'instance',
  'instance_label',
  'x',
  'y',
  'event',
]);

function arrow(cols: Column[], metadata: Map<string, string>): Uint8Array {
  const vectors = cols.map((c) => {
    const isText = c.values.some((v) => typeof v === 'string');
    if (isText)
      return A.vectorFromArray(
        c.values.map((v) => (v === null ? null : String(v))),
        new A.Utf8(),
      );
    const type = INT_COLUMNS.has(c.name) ? new A.Int32() : new A.Float64();
    return A.vectorFromArray(c.values as (number | null)[], type);
  });
  const fields = cols.map((c, i) => new A.Field(c.name, vectors[i].type, vectors[i].nullCount > 0));
  const schema = new A.Schema(fields, metadata);
  const n = cols[0]?.values.length ?? 0;
  const data = A.makeData({ type: new A.Struct(fields), length: n, children: vectors.map((v) => v.data[0]) });
  return A.tableToIPC(new A.Table([new A.RecordBatch(schema, data)]), 'file');
}

function writeBoth(prefix: string, cols: Column[], metadata: Map<string, string>): string[] {
  writeFileAtomic(`${prefix}.csv`, [Buffer.from(csv(cols))]);
  writeFileAtomic(`${prefix}.arrow`, [arrow(cols, metadata)]);
  return [`${prefix}.csv`, `${prefix}.arrow`];
}

/** `--out preds/` (or an existing folder) → preds/bags.*, preds/instances.*; `--out x` → x.bags.*, x.instances.*. */
export function outputPrefixes(out: string): { dir: string; bags: string; instances: string } {
  const isDir = /[\\/]$/.test(out) || (fs.existsSync(out) && fs.statSync(out).isDirectory());
  if (isDir) return { dir: path.resolve(out), bags: path.join(out, 'bags'), instances: path.join(out, 'instances') };
  return { dir: path.dirname(path.resolve(out)), bags: `${out}.bags`, instances: `${out}.instances` };
}

export const predict: Command = {
  name: 'predict',
  summary: 'per-bag predictions and per-instance scores (attention, instance probabilities) to CSV and Arrow',
  usage:
    `milkit predict --model-dir DIR [--fold rep0-fold0] --data ` +
    `cohort.arrow --out PREFIX [--json]\n\n${describeFlags(flags)}`,
  async run(argv, ctx) {
    const { flags: f } = parseArgs(argv, flags, []);
    const dir = requireFlag(f, 'model-dir');
    const out = requireFlag(f, 'out');
    const files = f.fold ? findTrainedModels(path.join(dir, f.fold as string)) : findTrainedModels(dir);
    if (files.length > 1) {
      throw new UsageError(
        `${dir} holds ${files.length} fold models; choose one with --fold ` +
          `(${files.map((x) => path.basename(path.dirname(x))).join(', ')})`,
      );
    }
    await useBackend();
    const trained = loadTrainedModel(files[0]);
    let cohort: Cohort;
    try {
      cohort = await Cohort.open(requireFlag(f, 'data'));
      checkCohortFits(trained, cohort);
    } catch (err) {
      trained.model.dispose();
      throw err;
    }
    try {
      const { model, stats, threshold, task } = trained;
      const C = task.kind === 'class' ? task.numClasses : task.numBins;
      const bagCols: Column[] = [{ name: 'bag_id', values: [] }];
      const instCols: Column[] = [
        { name: 'bag_id', values: [] },
        { name: 'instance', values: [] },
      ];
      const col = (cols: Column[], name: string) =>
        cols.find((c) => c.name === name) ??
        (cols.push({ name, values: new Array(cols[0].values.length).fill(null) }), cols[cols.length - 1]);
      const precision = f.precision === 'bf16' && bf16Available() ? 'bf16' : 'float32';
      if (f.precision === 'bf16' && precision !== 'bf16')
        ctx.warn(
          '--precision bf16: no bf16 products here (needs the native addon and AVX-512 BF16); predicting in float32',
        );
      const bar = ctx.progress('predict', cohort.size, !f.quiet);
      for (const [i] of cohort.bags.entries()) {
        const bag = await cohort.bag(i);
        if (i + 1 < cohort.size) cohort.prefetch(i + 1); // read while this bag computes
        const r = await withPrecision(precision, () => predictInstances(model, bag, stats));
        const row = bagCols[0].values.length;
        bagCols.forEach((c) => c.values.push(null));
        bagCols[0].values[row] = bag.id;
        if (bag.label !== undefined) col(bagCols, 'label').values[row] = bag.label;
        if (task.kind === 'class') {
          const p = softmax(r.logits);
          p.forEach((v, c) => (col(bagCols, `prob_${c}`).values[row] = v));
          col(bagCols, 'predicted').values[row] = p.indexOf(Math.max(...p));
          if (C === 2 && threshold && Number.isFinite(threshold.threshold))
            col(bagCols, 'predicted_youden').values[row] = applyThreshold([p[1]], threshold)[0];
        } else {
          if (bag.time !== undefined) col(bagCols, 'time').values[row] = bag.time;
          if (bag.event !== undefined) col(bagCols, 'event').values[row] = bag.event;
          col(bagCols, 'risk').values[row] = riskFromHazardLogits(r.logits);
          Array.from(r.logits).forEach((v, k) => (col(bagCols, `hazard_logit_${k}`).values[row] = v));
        }
        for (let n = 0; n < bag.numInstances; n++) {
          const irow = instCols[0].values.length;
          instCols.forEach((c) => c.values.push(null));
          instCols[0].values[irow] = bag.id;
          instCols[1].values[irow] = n;
          if (bag.coords) {
            col(instCols, 'x').values[irow] = bag.coords[2 * n];
            col(instCols, 'y').values[irow] = bag.coords[2 * n + 1];
          }
          if (bag.instanceLabels) col(instCols, 'instance_label').values[irow] = bag.instanceLabels[n];
          if (r.attention) col(instCols, 'attention').values[irow] = r.attention[n];
          if (r.instanceProbs)
            for (let c = 0; c < C; c++) col(instCols, `instance_prob_${c}`).values[irow] = r.instanceProbs[n * C + c];
        }
        bar.update(i + 1);
      }
      bar.done();
      const target = outputPrefixes(out);
      fs.mkdirSync(target.dir, { recursive: true });
      removeStaleTempFiles(target.dir); // leftovers of a killed earlier predict
      const metadata = new Map([
        ['milkit.source', cohort.path],
        ['milkit.model', trained.source],
      ]);
      if (cohort.classes) metadata.set('milkit.classes', JSON.stringify(cohort.classes));
      const written = [
        ...writeBoth(target.bags, bagCols, metadata),
        ...writeBoth(target.instances, instCols, metadata),
      ];
      const result = {
        model: trained.source,
        bags: bagCols[0].values.length,
        instances: instCols[0].values.length,
        files: written,
        bagColumns: bagCols.map((c) => c.name),
        instanceColumns: instCols.map((c) => c.name),
      };
      if (f.json) ctx.json(result);
      else
        ctx.print(
          `wrote ${result.bags} bag predictions and ${result.instances} instance scores: ${written.join(', ')}`,
        );
      return 0;
    } finally {
      trained.model.dispose();
      await cohort.close();
    }
  },
};
