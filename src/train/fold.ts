/**
 * Trains one model on one split (a fold), one bag per step, with checkpoints and resume.
 *
 * Per epoch: set the cosine learning rate, visit the training bags in a seeded order (the order of
 * epoch e depends only on the fold seed and e, so a resumed run replays it), evaluate the selection
 * set, update early stopping, keep the best weights, write `last.ckpt` (and `best.ckpt`) atomically.
 * An abort (SIGINT) is honoured after the current optimiser step: the position inside the epoch is
 * checkpointed and a resumed run continues from the next bag, reaching the same weights.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import type { Cohort } from '../data/cohort';
import { featureStats, standardize } from '../data/standardize';
import type { Split } from '../data/splits';
import type { BinaryThreshold } from '../metrics/threshold';
import type { MilModel, Target } from '../models/types';
import { removeStaleTempFiles } from '../persist/atomic';
import { type RunFingerprint, dataFingerprint, fileContentSample, runFingerprint } from '../persist/fingerprint';
import type { CheckpointTensor } from '../persist/format';
import { assignModel, loadTrainedModel, modelTensors, saveTrainedModel } from '../persist/model';
import { readTrainingState, restoreTrainingState, saveTrainingState } from '../persist/training';
import { Rng } from '../random';
import { type TrainConfig, foldSeed } from './config';
import { type EarlyStoppingState, initialStoppingState, observeEpoch } from './earlyStopping';
import type { FoldRef, TrainEventStream } from './events';
import { Adam } from './optimizer';
import { fitThresholdOn, predictSet, setMetrics, softmax } from './predict';
import { captureRandomState, restoreRandomState } from './randomState';
import { learningRateAt } from './schedule';
import { computeStep } from './step';
import { type Task, defaultMonitor } from './targets';

/** Creates a fresh model for a fold: the trainer passes the fold's seed. */
export type ModelFactory = (seed: number) => MilModel;

export interface FoldContext extends FoldRef {
  cohort: Cohort;
  split: Split;
  task: Task;
  targets: Target[];
  config: TrainConfig;
  createModel: ModelFactory;
  events: TrainEventStream;
  /** Folder for this fold's checkpoints and result (none: nothing is written). */
  dir?: string;
  /** Continue from `dir/last.ckpt` when it exists. */
  resume?: boolean;
  /** Abort after the current optimiser step (checkpointing first). */
  signal?: AbortSignal;
}

export interface FoldResult extends FoldRef {
  /** Test metrics of the kept model (plus `loss`). */
  metrics: Record<string, number>;
  /** Bootstrap of the test metrics (when configured). */
  bootstrap?: Record<string, { mean: number; sd: number; lower: number; upper: number }>;
  /** How the kept weights were chosen: 'val', 'last' or 'test' (optimistic, MHIM protocol). */
  selection: 'val' | 'last' | 'test';
  bestEpoch: number;
  epochsRun: number;
  /** Binary: the Youden threshold, fitted on `thresholdFittedOn`, applied to the test fold. */
  threshold?: BinaryThreshold & { fittedOn: 'val' | 'train' };
  history: EpochRecord[];
  interrupted: boolean;
  sizes: { train: number; val: number; test: number };
  /**
   * Classification: the kept model's class probabilities per test bag (for ROC curves, confusion matrices, reports).
   */
  predictions?: BagPredictions;
  /**
   * The fold's fingerprint hash (model, data, settings, seed, split): a resume reuses the result only if it matches.
   */
  fingerprint?: string;
}

/** Test-set predictions in a fold result: bag ids, labels and class probabilities (4 significant digits). */
export interface BagPredictions {
  bagIds: string[];
  labels: number[];
  probabilities: number[][];
}

function bagPredictions(cohort: Cohort, p: { indices: number[]; logits: Float32Array[] }): BagPredictions {
  return {
    bagIds: p.indices.map((i) => cohort.bags[i].id),
    labels: p.indices.map((i) => cohort.bags[i].label!),
    probabilities: p.logits.map((z) => softmax(z).map((v) => Number(v.toPrecision(4)))),
  };
}

export interface EpochRecord {
  epoch: number;
  lr: number;
  trainLoss: number;
  /** Mean of each named loss term over the epoch's steps (their sum is `trainLoss`). */
  trainTerms?: Record<string, number>;
  /** Metrics on the selection set, when there is one. */
  select?: Record<string, number>;
}

/** Trainer state stored in the training checkpoint. */
interface FoldState {
  /** Epoch to run next, and bags of it already done. */
  epoch: number;
  stepInEpoch: number;
  epochLossSum: number;
  /** Sums of the named loss terms over the epoch's steps so far. */
  epochTermSums: Record<string, number>;
  stopping: EarlyStoppingState;
  history: EpochRecord[];
  finished: boolean;
  randomState?: unknown;
}

const contentSamples = new WeakMap<Cohort, string>();

/** The data part of run and fold fingerprints (the content sample is read once per opened cohort). */
export function cohortFingerprint(cohort: Cohort): ReturnType<typeof dataFingerprint> {
  let content = contentSamples.get(cohort);
  if (content === undefined) {
    content = fileContentSample(cohort.path);
    contentSamples.set(cohort, content);
  }
  return dataFingerprint(cohort.bags, cohort.dim, content);
}

/** What a resume must match: a checkpoint or result of another model, data, setting, seed or split is refused. */
export function foldFingerprint(
  model: MilModel,
  cohort: Cohort,
  config: TrainConfig,
  seed: number,
  split: Split,
): RunFingerprint {
  return runFingerprint({
    model: { name: model.name, config: model.config },
    data: cohortFingerprint(cohort),
    training: config,
    seed,
    split,
  });
}

export async function trainFold(ctx: FoldContext): Promise<FoldResult> {
  const { cohort, split, task, targets, config, events, repeat, fold } = ctx;
  const ref: FoldRef = { repeat, fold };
  const seed = foldSeed(config.seed, repeat, fold);
  const selection: FoldResult['selection'] =
    config.selectOn === 'test' ? 'test' : config.selectOn === 'val' && split.val?.length ? 'val' : 'last';
  const selectSet = selection === 'val' ? split.val! : selection === 'test' ? split.test : [];
  const monitor = config.monitor ?? defaultMonitor(task);
  const mode = monitor === 'loss' ? 'min' : 'max';
  const lastFile = ctx.dir && path.join(ctx.dir, 'last.ckpt');
  const bestFile = ctx.dir && path.join(ctx.dir, 'best.ckpt');

  // Training-fold statistics only. Bags are read one after another (one file reader); this holds the
  // training bags in memory once, which suits the small feature sets that need standardising (MUSK).
  const trainBags = [];
  if (config.standardize) for (const i of split.train) trainBags.push(await cohort.bag(i));
  const stats = config.standardize ? featureStats(trainBags, cohort.dim) : undefined;
  trainBags.length = 0;
  const model = ctx.createModel(seed);
  try {
    model.prepareFold?.({
      ...ref,
      split,
      data: cohortFingerprint(cohort),
      standardize: config.standardize,
      loadTrainedModel,
    });
  } catch (err) {
    model.dispose();
    throw err;
  }
  // Schedules over global iterations (MHIM's βh decay, momentum) need the run length up front.
  model.setTotalIterations?.(config.epochs * split.train.length);
  const fingerprint = foldFingerprint(model, cohort, config, seed, split);
  const optimizer = new Adam(model.trainableVariables(), {
    lr: config.lr,
    weightDecay: config.weightDecay,
    weightDecayMode: config.weightDecayMode,
  });
  let state: FoldState = {
    epoch: 0,
    stepInEpoch: 0,
    epochLossSum: 0,
    epochTermSums: {},
    stopping: initialStoppingState(),
    history: [],
    finished: false,
  };
  let bestWeights: CheckpointTensor[] | undefined;

  try {
    // Temp files of a killed earlier attempt (a crash mid-write) are removed; a live writer's stay.
    if (ctx.dir) removeStaleTempFiles(ctx.dir);
    if (ctx.resume && lastFile && fs.existsSync(lastFile)) {
      const restored = restoreTrainingState<FoldState>(readTrainingState(lastFile, fingerprint), model);
      optimizer.setState(restored.optimizer);
      // Checkpoints written before the loss had named terms carry no term sums.
      state = { ...restored.state, epochTermSums: restored.state.epochTermSums ?? {} };
      if (state.randomState !== undefined) restoreRandomState(model, state.randomState);
      if (bestFile && fs.existsSync(bestFile))
        bestWeights = readTrainingState(bestFile, fingerprint).tensors.filter((t) => t.name.startsWith('model/'));
    }
    events.emit({
      type: 'fold-start',
      ...ref,
      trainBags: split.train.length,
      valBags: selection === 'val' ? selectSet.length : 0,
      testBags: split.test.length,
      resumedFromEpoch: state.epoch > 0 || state.stepInEpoch > 0 ? state.epoch : undefined,
    });

    const checkpoint = async (file: string, kind: 'last' | 'best', s: FoldState) => {
      await saveTrainingState(file, { model, optimizer: await optimizer.getState(), stats, state: s, fingerprint });
      events.emit({ type: 'checkpoint', ...ref, kind, path: file, epoch: s.epoch });
    };

    const vars = model.trainableVariables();
    let interrupted = false;
    while (!state.finished && state.epoch < config.epochs) {
      const epoch = state.epoch;
      const lr = learningRateAt(epoch, {
        kind: config.schedule,
        lr: config.lr,
        minLr: config.minLr,
        epochs: config.epochs,
        warmupEpochs: config.warmupEpochs,
      });
      optimizer.learningRate = lr;
      const order = new Rng(seed ^ Math.imul(epoch + 1, 0x9e3779b1)).shuffle([...split.train]);
      events.emit({ type: 'epoch-start', ...ref, epoch, epochs: config.epochs, lr, steps: order.length });
      const t0 = performance.now();
      let instancesSeen = 0;
      let pending: Map<string, tf.Tensor> | undefined;
      let pendingCount = 0;
      for (let k = state.stepInEpoch; k < order.length; k++) {
        const bag = await cohort.bag(order[k]);
        if (k + 1 < order.length) cohort.prefetch(order[k + 1]); // read while this step computes
        const target = targets[order[k]];
        const features = stats ? standardize(bag.features, stats) : bag.features;
        const step = await computeStep(
          model,
          { id: bag.id, features, numInstances: bag.numInstances, dim: bag.dim, coords: bag.coords },
          target,
          vars,
        );
        if (pending) {
          for (const [name, g] of Object.entries(step.grads)) {
            const prev = pending.get(name);
            pending.set(name, prev ? tf.tidy(() => tf.add(prev, g)) : tf.keep(g.clone()));
            prev?.dispose();
          }
          tf.dispose(Object.values(step.grads));
        } else pending = new Map(Object.entries(step.grads));
        pendingCount++;
        const update = pendingCount === config.accumulate || k === order.length - 1;
        if (update) {
          const n = pendingCount;
          const averaged =
            n === 1
              ? Object.fromEntries(pending)
              : tf.tidy(() => Object.fromEntries([...pending!].map(([name, g]) => [name, tf.div(g, n)])));
          optimizer.applyGradients(averaged);
          tf.dispose([...pending.values(), ...(n === 1 ? [] : Object.values(averaged))]);
          pending = undefined;
          pendingCount = 0;
        }
        const { loss: lossValue, terms } = await step.finish(update);
        for (const [name, v] of Object.entries(terms)) state.epochTermSums[name] = (state.epochTermSums[name] ?? 0) + v;
        state.epochLossSum += lossValue;
        state.stepInEpoch = k + 1;
        instancesSeen += bag.numInstances;
        const secs = (performance.now() - t0) / 1000;
        events.emit({
          type: 'step',
          ...ref,
          epoch,
          step: k + 1,
          steps: order.length,
          loss: lossValue,
          terms,
          instances: bag.numInstances,
          bagsPerSecond: (k + 1 - 0) / Math.max(secs, 1e-9),
          instancesPerSecond: instancesSeen / Math.max(secs, 1e-9),
        });
        // Cached bags and small reads resolve as microtasks, which would starve the event loop for a whole
        // epoch: yield one macrotask turn per step so SIGINT handlers and notebook displays run.
        await new Promise<void>((resolve) => setImmediate(resolve));
        if (ctx.signal?.aborted && pendingCount === 0 && k < order.length - 1) {
          interrupted = true;
          break;
        }
      }
      if (interrupted) break;

      const trainLoss = state.epochLossSum / order.length;
      const trainTerms = Object.fromEntries(
        Object.entries(state.epochTermSums).map(([name, sum]) => [name, sum / order.length]),
      );
      const record: EpochRecord = { epoch, lr, trainLoss, trainTerms };
      let improved = false;
      let stop = false;
      let monitored = NaN;
      if (selection !== 'last') {
        const p = await predictSet(model, cohort, selectSet, targets, stats);
        record.select = setMetrics(task, cohort.bags, p).metrics;
        monitored = record.select[monitor];
        if (monitored === undefined)
          throw new Error(
            `monitor "${monitor}" is not a metric of this task; available: ${Object.keys(record.select).join(', ')}`,
          );
        events.emit({
          type: 'eval',
          ...ref,
          epoch,
          split: selection === 'val' ? 'val' : 'test',
          loss: record.select.loss,
          metrics: record.select,
        });
        const es = {
          patience: config.earlyStopping?.patience ?? Infinity,
          minEpochs: config.earlyStopping?.minEpochs,
          mode,
        } as const;
        const o = observeEpoch(state.stopping, epoch, monitored, es);
        ({ improved, stop } = o);
        state.stopping = o.state;
        if (improved) bestWeights = await modelTensors(model);
      }
      state = {
        ...state,
        epoch: epoch + 1,
        stepInEpoch: 0,
        epochLossSum: 0,
        epochTermSums: {},
        history: [...state.history, record],
      };
      state.finished = stop || state.epoch >= config.epochs;
      state.randomState = captureRandomState(model);
      if (improved && bestFile) await checkpoint(bestFile, 'best', state);
      if (lastFile) await checkpoint(lastFile, 'last', state);
      events.emit({
        type: 'epoch-end',
        ...ref,
        epoch,
        trainLoss,
        trainTerms,
        seconds: (performance.now() - t0) / 1000,
        monitor: monitored,
        metric: monitor,
        improved,
        stop,
      });
      if (ctx.signal?.aborted) {
        interrupted = !state.finished;
        break;
      }
    }
    if (interrupted) {
      state.randomState = captureRandomState(model);
      if (lastFile) await checkpoint(lastFile, 'last', state);
      const result = emptyResult(ref, selection, state, split);
      events.emit({
        type: 'fold-end',
        ...ref,
        metrics: {},
        bestEpoch: state.stopping.bestEpoch,
        epochsRun: state.epoch,
        interrupted: true,
      });
      return result;
    }

    // Keep the selected weights, fit the binary threshold away from the test fold, then test.
    if (selection !== 'last' && bestWeights) assignModel(model, bestWeights, bestFile ?? 'best weights');
    let threshold: FoldResult['threshold'];
    if (task.kind === 'class' && task.numClasses === 2) {
      const fittedOn = selection === 'val' ? 'val' : 'train';
      threshold = {
        ...fitThresholdOn(
          await predictSet(model, cohort, fittedOn === 'val' ? split.val! : split.train, targets, stats),
          cohort.bags,
        ),
        fittedOn,
      };
    }
    const testPredictions = await predictSet(model, cohort, split.test, targets, stats);
    const test = setMetrics(task, cohort.bags, testPredictions, {
      threshold,
      bootstrap: config.bootstrap,
      bootstrapSeed: seed,
    });
    events.emit({
      type: 'eval',
      ...ref,
      epoch: state.epoch - 1,
      split: 'test',
      loss: test.metrics.loss,
      metrics: test.metrics,
    });
    // With no defined monitored value (e.g. AUC of a one-class validation set) the last weights stay.
    const bestEpoch = selection === 'last' || !bestWeights ? state.epoch - 1 : state.stopping.bestEpoch;
    const result: FoldResult = {
      ...ref,
      metrics: test.metrics,
      ...(test.bootstrap ? { bootstrap: test.bootstrap } : {}),
      selection,
      bestEpoch,
      epochsRun: state.epoch,
      ...(threshold ? { threshold } : {}),
      history: state.history,
      interrupted: false,
      sizes: { train: split.train.length, val: split.val?.length ?? 0, test: split.test.length },
      ...(task.kind === 'class' ? { predictions: bagPredictions(cohort, testPredictions) } : {}),
      fingerprint: fingerprint.hash,
    };
    // The model eval/predict reload: the kept weights (best or last) with the standardisation.
    if (ctx.dir)
      await saveTrainedModel(path.join(ctx.dir, 'model.ckpt'), { model, stats, threshold, task, fingerprint });
    events.emit({
      type: 'fold-end',
      ...ref,
      metrics: result.metrics,
      bestEpoch,
      epochsRun: state.epoch,
      interrupted: false,
    });
    return result;
  } finally {
    optimizer.dispose();
    model.dispose();
  }
}

function emptyResult(ref: FoldRef, selection: FoldResult['selection'], state: FoldState, split: Split): FoldResult {
  return {
    ...ref,
    metrics: {},
    selection,
    bestEpoch: state.stopping.bestEpoch,
    epochsRun: state.epoch,
    history: state.history,
    interrupted: true,
    sizes: { train: split.train.length, val: split.val?.length ?? 0, test: split.test.length },
  };
}
