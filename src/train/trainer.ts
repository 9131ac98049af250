/**
 * The Trainer: k-fold / repeated k-fold cross-validation of any MilModel on a Cohort.
 *
 * ```ts
 * const trainer = new Trainer({ model: { name: 'abmil', config: { gated: true } }, config: { epochs: 40, standardize: true } });
 * trainer.events.on((e) => ...);                          // progress (see events.ts)
 * const run = await trainer.crossValidate(cohort, splits, { outDir: 'runs/musk1' });
 * run.summary.accuracy  // { mean, sd, n }
 * ```
 * With `outDir`, each fold writes `rep<r>-fold<f>/{last,best,model}.ckpt` and `result.json`, and the
 * run writes `results.json` + `results.csv`; `resume: true` skips finished folds and continues an
 * interrupted one from its last checkpoint.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Cohort } from '../data/cohort';
import { checkSplit, type Split } from '../data/splits';
import { createModel } from '../registry';
import type { MilModel } from '../models/types';
import { removeStaleTempFiles, writeFileAtomic } from '../persist/atomic';
import { type TrainConfig, resolveTrainConfig } from './config';
import { type FoldRef, TrainEventStream } from './events';
import { type FoldResult, trainFold } from './fold';
import { type RunResult, summarise, writeResults } from './results';
import { outputsOf, taskOf } from './targets';

/** What the trainer fills into every model config. */
export interface ModelInit {
  inputDim: number;
  numClasses: number;
  seed: number;
}

/** A model by registry name (config = the model's own typed options), or a builder function. */
export type ModelChoice = { name: string; config?: Record<string, unknown> } | ((init: ModelInit) => MilModel);

export interface TrainerOptions {
  model: ModelChoice;
  config?: Partial<TrainConfig>;
}

export interface RunOptions {
  outDir?: string;
  resume?: boolean;
  /** Abort (e.g. on SIGINT): the current fold checkpoints after its current step and the run stops. */
  signal?: AbortSignal;
}

export class Trainer {
  readonly events = new TrainEventStream();
  readonly config: TrainConfig;

  constructor(readonly options: TrainerOptions) {
    this.config = resolveTrainConfig(options.config);
  }

  private builder(init: Omit<ModelInit, 'seed'>): (seed: number) => MilModel {
    const m = this.options.model;
    return typeof m === 'function'
      ? (seed) => m({ ...init, seed })
      : (seed) => createModel(m.name, { ...(m.config ?? {}), ...init, seed });
  }

  /** Trains and tests one fold per split; `splits[rep][fold]`. */
  async crossValidate(cohort: Cohort, splits: Split[][], run: RunOptions = {}): Promise<RunResult> {
    splits.forEach((rep, r) => rep.forEach((s, f) => checkSplit(s, cohort.bags, `split [${r}][${f}]`)));
    const folds = splits.flatMap((rep, repeat) => rep.map((split, fold) => ({ repeat, fold, split })));
    return this.run(cohort, folds, { repeats: splits.length, folds: splits[0]?.length ?? 0 }, run);
  }

  /**
   * Trains on one split (a single fold). `at` names the fold it is within a cross-validation, so it
   * gets that fold's seed and folder: `fit(cohort, splits[r][k], { at: { repeat: r, fold: k } })`
   * reproduces fold (r, k) of `crossValidate(cohort, splits)` exactly (a sweep runs folds this way).
   */
  async fit(cohort: Cohort, split: Split, run: RunOptions & { at?: FoldRef } = {}): Promise<RunResult> {
    checkSplit(split, cohort.bags, 'split');
    const { repeat, fold } = run.at ?? { repeat: 0, fold: 0 };
    return this.run(cohort, [{ repeat, fold, split }], { repeats: 1, folds: 1 }, run);
  }

  private async run(
    cohort: Cohort,
    todo: (FoldRef & { split: Split })[],
    shape: { repeats: number; folds: number },
    run: RunOptions,
  ): Promise<RunResult> {
    const { task, targets } = taskOf(cohort.bags, this.config.survivalBins);
    const createModel = this.builder({ inputDim: cohort.dim, numClasses: outputsOf(task) });
    const folds: FoldResult[] = [];
    let interrupted = false;
    // Leftovers of a killed earlier run (each fold folder is cleaned when its fold starts).
    if (run.outDir) removeStaleTempFiles(run.outDir);
    this.events.emit({ type: 'run-start', ...shape, epochs: this.config.epochs, outDir: run.outDir });
    for (const { repeat, fold, split } of todo) {
      const dir = run.outDir && path.join(run.outDir, `rep${repeat}-fold${fold}`);
      const done = dir && path.join(dir, 'result.json');
      if (run.resume && done && fs.existsSync(done)) {
        folds.push(JSON.parse(fs.readFileSync(done, 'utf8'), (_, v) => (v === null ? NaN : v)) as FoldResult);
        continue;
      }
      const result = await trainFold({
        cohort,
        split,
        task,
        targets,
        config: this.config,
        createModel,
        events: this.events,
        repeat,
        fold,
        dir,
        resume: run.resume,
        signal: run.signal,
      });
      folds.push(result);
      if (result.interrupted) {
        interrupted = true;
        break;
      }
      if (done)
        writeFileAtomic(done, [
          Buffer.from(JSON.stringify(result, (_, v) => (typeof v === 'number' && !Number.isFinite(v) ? null : v))),
        ]);
    }
    const probe = createModel(0);
    const modelInfo = { name: probe.name, config: { ...(probe.config as unknown as Record<string, unknown>) } };
    probe.dispose();
    delete modelInfo.config.seed;
    const result: RunResult = {
      format: 'milkit-results',
      version: 1,
      createdAt: new Date().toISOString(),
      model: modelInfo,
      data: { path: cohort.path, bags: cohort.size, dim: cohort.dim },
      task,
      config: this.config,
      folds,
      ...summarise(folds),
      interrupted,
    };
    const resultsPath = run.outDir ? writeResults(run.outDir, result) : undefined;
    this.events.emit({ type: 'run-end', summary: result.summary, interrupted, resultsPath });
    return result;
  }
}
