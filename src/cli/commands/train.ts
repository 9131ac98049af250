import * as path from 'node:path';
import { useBackend } from '../../backend';
import { Cohort } from '../../data/cohort';
import { MilkitDataError } from '../../data/errors';
import { readSplitFile } from '../../data/splitFile';
import { type Split, carveValidation, repeatedKFold } from '../../data/splits';
import { type RunResult, type TrainConfig, Trainer, listProtocols, withProtocol } from '../../train';
import { closest } from '../../didYouMean';
import { type Command, UsageError, parseArgs, requireFlag } from '../command';
import { describeFlags, type FlagSpec, parseFlags } from '../flags';
import { MHIM_FLAGS, mhimFromFlags } from '../mhimFlags';
import type { Progress } from '../progress';

const flags: FlagSpec = {
  model: { type: 'string', help: 'model name from the registry (abmil, gabmil, transmil, dsmil, clam-sb, ...)' },
  protocol: {
    type: 'string',
    help:
      "a paper's training protocol (model options, optimiser, " +
      'epochs, preprocessing; listed below); flags given override it',
  },
  'model-config': { type: 'string', help: 'JSON object of model options, e.g. \'{"dropout":0}\'' },
  data: { type: 'string', help: 'cohort (x.arrow)' },
  folds: {
    type: 'number',
    integer: true,
    min: 2,
    default: 5,
    help: 'k of stratified patient-level k-fold (ignored with --splits)',
  },
  splits: { type: 'string', help: 'split file (milkit JSON or MUSK-style fold masks), e.g. x.splits.json' },
  repeats: {
    type: 'number',
    integer: true,
    min: 1,
    help: 'repetitions: of k-fold (default 1), or the first R of the split file (default all)',
  },
  'val-fraction': {
    type: 'number',
    min: 0,
    below: 1,
    default: 0,
    help: 'move this fraction of each training fold to a validation set (model selection, early stopping, threshold)',
  },
  select: {
    type: 'string',
    choices: ['val', 'last', 'test'],
    default: 'val',
    help: 'weights kept: val (best on validation; last when none), last, or test (MHIM protocol, optimistic)',
  },
  monitor: { type: 'string', help: 'metric for selection/early stopping (default auc, balancedAccuracy or cIndex)' },
  patience: {
    type: 'number',
    integer: true,
    min: 1,
    help: 'early stopping: epochs without improvement (needs a validation set)',
  },
  'min-epochs': {
    type: 'number',
    integer: true,
    min: 0,
    default: 0,
    help: 'early stopping never fires before this many epochs',
  },
  epochs: { type: 'number', integer: true, min: 1, default: 50, help: 'epochs per fold' },
  lr: {
    type: 'number',
    min: 0,
    exclusiveMin: true,
    default: 2e-4,
    help: 'peak learning rate (cosine schedule to 1e-7)',
  },
  'weight-decay': { type: 'number', min: 0, default: 1e-5, help: 'Adam weight decay (L2, as torch Adam)' },
  adamw: { type: 'boolean', help: 'decoupled weight decay (AdamW) instead of L2' },
  warmup: { type: 'number', min: 0, default: 0, help: 'linear warm-up epochs' },
  accumulate: {
    type: 'number',
    integer: true,
    min: 1,
    default: 1,
    help: 'bags per optimiser step (gradient accumulation)',
  },
  standardize: { type: 'boolean', help: 'standardise features with training-fold statistics (MUSK1 needs it)' },
  bootstrap: {
    type: 'number',
    integer: true,
    min: 0,
    default: 0,
    help: "bootstrap resamples of each fold's test metrics (e.g. 1000)",
  },
  seed: {
    type: 'number',
    integer: true,
    min: 0,
    default: 2021,
    help: 'seed (splits, initialisation, bag order, dropout)',
  },
  out: {
    type: 'string',
    alias: 'o',
    help: 'run folder for checkpoints and results (default runs/<cohort>-<model>-<time>)',
  },
  resume: {
    type: 'boolean',
    help: 'continue the run in --out: skip finished folds, resume the interrupted one (refused if any setting differs)',
  },
  overwrite: { type: 'boolean', help: 'discard the run already in --out (finished or not) and start afresh' },
  json: { type: 'boolean', help: 'print the run summary as JSON (summary.<metric>.mean / .sd)' },
  quiet: { type: 'boolean', help: 'no progress output' },
  verbose: { type: 'boolean', help: 'a line per epoch on stderr (loss, monitored metric, throughput)' },
  ...MHIM_FLAGS,
};

/** Splits from a file (first R repetitions) or a seeded stratified (repeated) k-fold; optional validation carve-out. */
export function resolveSplits(cohort: Cohort, f: Record<string, unknown>): Split[][] {
  let splits: Split[][];
  if (typeof f.splits === 'string') {
    splits = readSplitFile(f.splits, cohort.bags);
    if (f.repeats !== undefined) {
      if ((f.repeats as number) > splits.length)
        throw new MilkitDataError(
          `--repeats ${f.repeats} asks for more repetitions than the split file holds (${splits.length})`,
          { file: f.splits, field: 'splits' },
          `use --repeats ${splits.length} or fewer, or a split file with more repetitions`,
        );
      splits = splits.slice(0, f.repeats as number);
    }
  } else {
    splits = repeatedKFold(cohort.bags, {
      k: f.folds as number,
      repeats: (f.repeats as number | undefined) ?? 1,
      seed: f.seed as number,
    });
  }
  const vf = f['val-fraction'] as number;
  if (vf > 0) {
    splits = splits.map((rep, r) =>
      rep.map((s, k) =>
        s.val ? s : { ...s, ...carveValidation(cohort.bags, s.train, vf, (f.seed as number) * 1000 + r * 100 + k) },
      ),
    );
  }
  return splits;
}

/** Metrics a run can select on (classification, survival). */
const MONITORS = ['auc', 'accuracy', 'balancedAccuracy', 'f1', 'precision', 'recall', 'kappa', 'cIndex', 'loss'];

/** --monitor and --patience need a selection set; without one they would silently do nothing. */
function checkSelection(f: Record<string, unknown>, splits: Split[][]): void {
  const monitor = f.monitor as string | undefined;
  if (monitor !== undefined && !MONITORS.includes(monitor)) {
    const hint = closest(monitor, MONITORS);
    throw new UsageError(
      `--monitor must be one of ${MONITORS.join(', ')}, got "${monitor}"`,
      hint ? `did you mean --monitor ${hint}?` : undefined,
    );
  }
  const noVal = f.select === 'val' && splits.some((rep) => rep.some((s) => !s.val?.length));
  const uses = f.patience !== undefined ? '--patience' : monitor !== undefined ? '--monitor' : undefined;
  if ((uses && noVal) || (uses && f.select === 'last'))
    throw new UsageError(
      `${uses} needs a set to select on, ` +
        (`and ` +
          `${f.select === 'last' ? '--select last keeps the last epoch' : 'the splits have no validation bags'}`),
      'add --val-fraction 0.2 (or a split file with "val" sets), or --select test (optimistic)',
    );
}

function parseModelConfig(text: unknown): Record<string, unknown> {
  if (text === undefined) return {};
  try {
    const v = JSON.parse(String(text));
    if (v && typeof v === 'object' && !Array.isArray(v)) return v;
  } catch {
    // fall through
  }
  throw new UsageError(
    `--model-config must be a JSON object, got ${text}`,
    `quote it for the shell with double quotes inside, e.g. --model-config '{"dropout":0}'`,
  );
}

/** The training-config key each flag sets (what a flag given with --protocol overrides). */
const CONFIG_FLAGS: Record<string, keyof TrainConfig> = {
  epochs: 'epochs',
  lr: 'lr',
  'weight-decay': 'weightDecay',
  adamw: 'weightDecayMode',
  warmup: 'warmupEpochs',
  accumulate: 'accumulate',
  seed: 'seed',
  standardize: 'standardize',
  select: 'selectOn',
  monitor: 'monitor',
  patience: 'earlyStopping',
  'min-epochs': 'earlyStopping',
  bootstrap: 'bootstrap',
};

function withoutDefaults(spec: FlagSpec): FlagSpec {
  return Object.fromEntries(Object.entries(spec).map(([k, { default: _, ...d }]) => [k, d]));
}

/** The default model of a protocol (its first). */
function protocolModel(protocol: string): string {
  try {
    return withProtocol(protocol).model.name;
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
}

const protocolList = listProtocols()
  .map((p) => `  ${p.name.padEnd(16)} ${p.title} (models: ${p.models.join(', ')})`)
  .join('\n');

const fmt = (v: number) => (Number.isFinite(v) ? v.toFixed(4) : 'n/a');

/** Compact run summary for --json (no per-epoch history). */
export function runSummary(r: RunResult, outDir?: string) {
  return {
    model: r.model,
    data: r.data,
    task: r.task.kind,
    outDir,
    config: r.config,
    folds: r.folds.map(({ repeat, fold, metrics, bestEpoch, epochsRun, selection, threshold }) => ({
      repeat,
      fold,
      metrics,
      bestEpoch,
      epochsRun,
      selection,
      threshold,
    })),
    summary: r.summary,
    ...(r.repeatSummary ? { repeatSummary: r.repeatSummary } : {}),
    interrupted: r.interrupted,
  };
}

export const train: Command = {
  name: 'train',
  summary: 'cross-validate a MIL model on a cohort: checkpoints, resume, results JSON + CSV',
  usage:
    `milkit train --model abmil [--mhim v2] --data cohort.arrow [--folds 5 | --splits ` +
    `FILE [--repeats R]] [--epochs E] [--lr LR] [--seed S] [--out DIR] [--json]\n       ` +
    `milkit train --protocol ilse2018 [--model gabmil] --data musk1.arrow --splits ` +
    `musk1.splits.json\n\n${describeFlags(flags)}\n\nProtocols (--protocol NAME):\n${protocolList}`,
  async run(argv, ctx) {
    const { flags: f } = parseArgs(argv, flags, []);
    const protocolName = f.protocol as string | undefined;
    // A protocol names its default model.
    const modelName = protocolName
      ? ((f.model as string | undefined) ?? protocolModel(protocolName))
      : requireFlag(f, 'model');
    const data = requireFlag(f, 'data');
    const select = f.select as string;
    await useBackend();
    const cohort = await Cohort.open(data);
    try {
      const splits = resolveSplits(cohort, f);
      checkSelection(f, splits);
      const flagConfig: Partial<TrainConfig> = {
        epochs: f.epochs as number,
        lr: f.lr as number,
        weightDecay: f['weight-decay'] as number,
        weightDecayMode: f.adamw ? 'decoupled' : 'l2',
        warmupEpochs: f.warmup as number,
        accumulate: f.accumulate as number,
        seed: f.seed as number,
        standardize: Boolean(f.standardize),
        selectOn: select as TrainConfig['selectOn'],
        monitor: f.monitor as string | undefined,
        earlyStopping:
          f.patience !== undefined
            ? { patience: f.patience as number, minEpochs: f['min-epochs'] as number }
            : undefined,
        bootstrap: f.bootstrap as number,
      };
      let config = flagConfig;
      let modelConfig = parseModelConfig(f['model-config']);
      if (protocolName) {
        // The protocol fixes the setting; only the flags given on the command line override it.
        const given = parseFlags(argv, withoutDefaults(flags)).flags;
        const overrides = Object.fromEntries(
          Object.entries(CONFIG_FLAGS)
            .filter(([flag]) => given[flag] !== undefined)
            .map(([, key]) => [key, flagConfig[key]]),
        );
        try {
          ({
            config,
            model: { config: modelConfig },
          } = withProtocol(protocolName, modelName, {
            modelConfig,
            train: overrides,
          }));
        } catch (err) {
          throw new UsageError((err as Error).message);
        }
      }
      const mhim = mhimFromFlags(f);
      // MHIM through the model table ("mhim" wrapping the named model), so its checkpoints reload by name.
      const init = mhim?.init && {
        ...mhim.init,
        ...(mhim.init.teacher ? { teacher: path.resolve(mhim.init.teacher) } : {}),
        ...(mhim.init.student ? { student: path.resolve(mhim.init.student) } : {}),
      };
      const model = mhim
        ? {
            name: 'mhim',
            config: { base: modelName, baseConfig: modelConfig, mhim: mhim.mhim, ...(init ? { init } : {}) },
          }
        : { name: modelName, config: modelConfig };
      const trainer = new Trainer({ model, config });
      const stamp = new Date().toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15);
      const outDir =
        (f.out as string | undefined) ??
        path.join('runs', `${path.basename(cohort.path).replace(/\.arrow$/, '')}-${modelName}-${stamp}`);
      if (f.resume && f.overwrite)
        throw new UsageError('--resume and --overwrite contradict each other', 'choose one of them');

      // Ctrl-C: finish the current step, checkpoint, stop; a second Ctrl-C quits at once.
      const ctl = new AbortController();
      const onSigint = () => {
        if (ctl.signal.aborted) process.exit(130);
        ctx.warn(
          '\nmilkit train: interrupted: finishing the current step and writing a checkpoint (Ctrl-C again to quit now)',
        );
        ctl.abort();
      };
      process.on('SIGINT', onSigint);
      // One progress bar per fold (epochs × bags); --verbose adds a line per epoch.
      let bar: Progress | undefined;
      let done = 0;
      let rate = 0;
      const folds = splits.length * (splits[0]?.length ?? 0);
      const where = (r: number, k: number) => `rep ${r + 1}/${splits.length} fold ${k + 1}/${splits[r].length}`;
      // The whole run's ETA, live: seconds per training step so far in this invocation × the
      // steps left (this fold's, and every later fold's at this fold's size; early stopping only
      // shortens it). A 50-fold run would otherwise show only the current fold's ETA.
      let runStart = 0;
      let stepsRun = 0;
      let foldSteps = 0;
      let foldsAfter = 0;
      const runEta = () => {
        if (folds < 2 || stepsRun === 0) return '';
        const s = ((Date.now() - runStart) / 1000 / stepsRun) * (foldSteps - done + foldsAfter * foldSteps);
        const eta =
          s < 60 ? `${s.toFixed(0)} s` : s < 3600 ? `${(s / 60).toFixed(1)} min` : `${(s / 3600).toFixed(1)} h`;
        return `run ETA ${eta}`;
      };
      trainer.events.on((e) => {
        if (e.type === 'fold-start') foldsAfter = folds - 1 - (e.repeat * (splits[0]?.length ?? 0) + e.fold);
        if (e.type === 'epoch-start') {
          if (!bar) {
            foldSteps = e.epochs * e.steps;
            bar = ctx.progress(where(e.repeat, e.fold), foldSteps, !f.quiet, runEta);
            done = e.epoch * e.steps;
            runStart ||= Date.now();
          }
        } else if (e.type === 'step') {
          stepsRun++;
          bar?.update(++done);
          rate = e.bagsPerSecond;
        } else if (e.type === 'epoch-end' && f.verbose) {
          ctx.warn(
            `${where(e.repeat, e.fold)} epoch ${e.epoch + 1}: loss ${e.trainLoss.toFixed(4)}` +
              (Number.isFinite(e.monitor) ? `  ${e.metric} ${e.monitor.toFixed(4)}${e.improved ? ' *' : ''}` : '') +
              `  ${rate.toFixed(1)} bags/s${e.stop ? '  early stop' : ''}`,
          );
        } else if (e.type === 'fold-end') {
          bar?.done(
            e.interrupted
              ? 'interrupted'
              : `${e.epochsRun} epochs, kept epoch ${e.bestEpoch + 1}, ${rate.toFixed(1)} bags/s`,
          );
          bar = undefined;
          if (!e.interrupted && !f.json) {
            ctx.print(
              `${where(e.repeat, e.fold)}: ${Object.entries(e.metrics)
                .filter(([k]) => k !== 'loss')
                .map(([k, v]) => `${k} ${fmt(v)}`)
                .join('  ')}`,
            );
          }
        }
      });
      if (!f.quiet)
        ctx.warn(
          `milkit train: ${modelName} on ${cohort.path} (${cohort.size} ` +
            `bags), ${folds} fold${folds > 1 ? 's' : ''} → ${outDir}`,
        );
      let result: RunResult;
      try {
        result = await trainer.crossValidate(cohort, splits, {
          outDir,
          resume: Boolean(f.resume),
          overwrite: Boolean(f.overwrite),
          signal: ctl.signal,
        });
      } finally {
        process.off('SIGINT', onSigint);
      }
      if (f.json) ctx.json(runSummary(result, outDir));
      else {
        ctx.print(
          `\n${result.interrupted ? 'partial ' : ''}summary ` +
            `over ${result.folds.filter((x) => !x.interrupted).length} folds (mean ± sd):`,
        );
        for (const [k, s] of Object.entries(result.summary))
          ctx.print(`  ${k.padEnd(18)} ${fmt(s.mean)} ± ${fmt(s.sd)}`);
        ctx.print(`results: ${path.join(outDir, 'results.json')} and results.csv`);
      }
      if (result.interrupted) {
        ctx.warn(
          `milkit train: stopped early; continue with: milkit ` +
            `train ${argv.join(' ')}${f.resume ? '' : ' --resume'}${f.out ? '' : ` --out ${outDir}`}`,
        );
        return 130;
      }
      return 0;
    } finally {
      await cohort.close();
    }
  },
};
