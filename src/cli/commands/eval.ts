import * as path from 'node:path';
import { useBackend } from '../../backend';
import { Cohort } from '../../data/cohort';
import { meanSd } from '../../metrics/util';
import { checkCohortFits, findTrainedModels, loadTrainedModel } from '../../persist/model';
import { type SetMetrics, predictSet, setMetrics, targetsForTask } from '../../train';
import { type Command, parseArgs, requireFlag } from '../command';
import { describeFlags, type FlagSpec } from '../flags';

const flags: FlagSpec = {
  'model-dir': {
    type: 'string',
    help: 'a fold folder with model.ckpt, or a run folder from milkit train (every fold model is evaluated)',
  },
  data: { type: 'string', help: 'cohort to evaluate on (x.arrow)' },
  bootstrap: {
    type: 'number',
    integer: true,
    min: 0,
    default: 0,
    help: 'bootstrap resamples for confidence intervals (e.g. 1000)',
  },
  seed: { type: 'number', integer: true, min: 0, default: 0, help: 'bootstrap seed' },
  json: { type: 'boolean', help: 'print JSON' },
  quiet: { type: 'boolean', help: 'no progress output' },
};

const fmt = (v: number) => (Number.isFinite(v) ? v.toFixed(4) : 'n/a');

export const evalCommand: Command = {
  name: 'eval',
  summary: 'evaluate trained model(s) on a cohort (thresholds and standardisation from training)',
  usage: `milkit eval --model-dir DIR --data cohort.arrow [--bootstrap 1000] [--json]\n\n${describeFlags(flags)}`,
  async run(argv, ctx) {
    const { flags: f } = parseArgs(argv, flags, []);
    const files = findTrainedModels(requireFlag(f, 'model-dir'));
    await useBackend();
    const cohort = await Cohort.open(requireFlag(f, 'data'));
    try {
      const bar = ctx.progress('eval', files.length, !f.quiet && files.length > 1);
      const models: ({ model: string } & SetMetrics)[] = [];
      for (const [i, file] of files.entries()) {
        const t = loadTrainedModel(file);
        try {
          checkCohortFits(t, cohort);
          const targets = targetsForTask(t.task, cohort.bags);
          const all = cohort.bags.map((_, k) => k);
          const preds = await predictSet(t.model, cohort, all, targets, t.stats);
          const m = setMetrics(t.task, cohort.bags, preds, {
            threshold: t.threshold,
            bootstrap: f.bootstrap as number,
            bootstrapSeed: f.seed as number,
          });
          models.push({ model: path.relative(process.cwd(), t.source) || '.', ...m });
          // A fold whose threshold could not be fitted (one class in its validation set) is still evaluated.
          if (t.threshold && !Number.isFinite(t.threshold.threshold))
            ctx.warn(
              `milkit: note: ${models.at(-1)!.model}: evaluated without a decision threshold ` +
                `(${t.threshold.reason ?? 'it could not be fitted'} on ${t.threshold.fittedOn}): ` +
                'the *Youden metrics are n/a',
            );
        } finally {
          t.model.dispose();
        }
        bar.update(i + 1);
      }
      bar.done();
      const names = Object.keys(models[0].metrics);
      const summary = Object.fromEntries(names.map((k) => [k, meanSd(models.map((m) => m.metrics[k]))]));
      if (f.json) ctx.json({ data: cohort.path, bags: cohort.size, models, summary });
      else {
        for (const m of models)
          ctx.print(
            `${m.model}: ${names
              .filter((k) => k !== 'loss')
              .map(
                (k) =>
                  `${k} ${fmt(m.metrics[k])}` +
                  (m.bootstrap?.[k] ? ` [${fmt(m.bootstrap[k].lower)}, ${fmt(m.bootstrap[k].upper)}]` : ''),
              )
              .join('  ')}`,
          );
        if (models.length > 1)
          ctx.print(
            `mean ± sd over ${models.length} ` +
              `models: ${names.map((k) => `${k} ${fmt(summary[k].mean)} ± ${fmt(summary[k].sd)}`).join('  ')}`,
          );
      }
      return 0;
    } finally {
      await cohort.close();
    }
  },
};
