/**
 * The Trainer: k-fold / repeated k-fold cross-validation of any MilModel on a Cohort.
 *
 * ```ts
 * const trainer = new Trainer({ model: { name: 'abmil', config: { gated: true } }, config: { epochs: 40, standardize:
 * true } });
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
import { writeFileAtomic } from '../persist/atomic';
import { runFingerprint } from '../persist/fingerprint';
import { type TrainConfig, foldSeed, resolveTrainConfig } from './config';
import { type FoldRef, TrainEventStream } from './events';
import { type FoldResult, cohortFingerprint, foldFingerprint, trainFold } from './fold';
import { type RunResult, summarise, writeResults } from './results';
import { type OpenRun, openRunFolder, readFoldResult } from './runFolder';
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
  /** Run folder (runFolder.ts): locked while the run writes it; run.json records the run's fingerprint. */
  outDir?: string;
  /** Continue the run in `outDir`; refused (naming what differs) when it was started with other settings. */
  resume?: boolean;
  /** Discard a run already in `outDir` instead of refusing to touch it. */
  overwrite?: boolean;
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
    const { task, targets } = taskOf(cohort.bags, this.config.survivalBins, cohort.classes);
    const createModel = this.builder({ inputDim: cohort.dim, numClasses: outputsOf(task) });
    const probe = createModel(0);
    const modelInfo = { name: probe.name, config: { ...(probe.config as unknown as Record<string, unknown>) } };
    probe.dispose();
    delete modelInfo.config.seed;
    // Everything that changes the results; a resume must match it, and results.json carries it.
    const fingerprint = runFingerprint({
      model: modelInfo,
      data: cohortFingerprint(cohort),
      training: this.config,
      splits: todo,
    });
    let folder: OpenRun | undefined;
    if (run.outDir) folder = openRunFolder(run.outDir, fingerprint, { resume: run.resume, overwrite: run.overwrite });
    try {
      const folds: FoldResult[] = [];
      let interrupted = false;
      this.events.emit({ type: 'run-start', ...shape, epochs: this.config.epochs, outDir: run.outDir });
      for (const { repeat, fold, split } of todo) {
        const dir = run.outDir && path.join(run.outDir, `rep${repeat}-fold${fold}`);
        const done = dir && path.join(dir, 'result.json');
        if (folder?.resumed && done && fs.existsSync(done)) {
          // A finished fold is reused only if it is this run's: same model, data, settings, seed, split.
          const seed = foldSeed(this.config.seed, repeat, fold);
          const m = createModel(seed);
          const expected = foldFingerprint(m, cohort, this.config, seed, split);
          m.dispose();
          folds.push(readFoldResult<FoldResult>(done, expected));
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
          resume: folder?.resumed,
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
      const result: RunResult = {
        format: 'milkit-results',
        version: 1,
        createdAt: new Date().toISOString(),
        model: modelInfo,
        data: { path: cohort.path, bags: cohort.size, dim: cohort.dim },
        task,
        config: this.config,
        fingerprint: fingerprint.hash,
        folds,
        ...summarise(folds),
        interrupted,
      };
      const resultsPath = run.outDir ? writeResults(run.outDir, result) : undefined;
      if (!interrupted) folder?.finish();
      this.events.emit({ type: 'run-end', summary: result.summary, interrupted, resultsPath });
      return result;
    } finally {
      folder?.close();
    }
  }
}
