/**
 * Models on disk: `saveModel`/`loadModel` for any registry model (weights + name + full config), and
 * the trained fold model the trainer leaves in `<run>/rep<r>-fold<f>/model.ckpt`, which adds the
 * feature standardisation and the binary threshold fitted during training (so eval/predict never
 * refit anything on new data) and the task.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { MilkitDataError } from '../data/errors';
import type { FeatureStats } from '../data/standardize';
import type { BinaryThreshold } from '../metrics/threshold';
import { createModel } from '../registry';
import type { MilModel } from '../models/types';
import type { Task } from '../train/targets';
import type { RunFingerprint } from './fingerprint';
import { type Checkpoint, type CheckpointKind, type CheckpointTensor, readCheckpoint, writeCheckpoint } from './format';
import { assignTensors, matchTensors, modelVariables, variableTensors } from './variables';

/** The model part of a checkpoint's header: enough to rebuild it through the registry. */
export interface ModelMeta {
  model: { name: string; config: Record<string, unknown> };
}

export const modelMeta = (model: MilModel): ModelMeta => ({
  model: { name: model.name, config: { ...(model.config as unknown as Record<string, unknown>) } },
});

/** Every kind that holds a MIL model; `loadModel` reads the model out of any of them. */
const MODEL_KINDS: CheckpointKind[] = ['model', 'trained-model', 'training-state'];

/** The model's weights as checkpoint tensors (`model/<name>`), e.g. to keep the best epoch's in memory. */
export const modelTensors = (model: MilModel): Promise<CheckpointTensor[]> =>
  variableTensors('model/', modelVariables(model));

/** Puts `model/<name>` tensors (from a checkpoint or `modelTensors`) into `model`, checking names and shapes. */
export function assignModel(model: MilModel, tensors: readonly CheckpointTensor[], source: string, fix?: string): void {
  assignTensors(source, tensors, 'model/', modelVariables(model), `model "${model.name}"`, fix);
}

function refuseFolder(file: string): void {
  if (fs.existsSync(file) && fs.statSync(file).isDirectory())
    throw new MilkitDataError('is a folder (a model saved by milkit 0.1?); a model is one file: give a file name', {
      file,
    });
}

/** Saves a model as one file (atomic: a crash leaves the previous file or the new one). */
export async function saveModel(model: MilModel, file: string): Promise<void> {
  refuseFolder(file);
  writeCheckpoint(file, { kind: 'model', meta: modelMeta(model), tensors: await modelTensors(model) });
}

/** Rebuilds the checkpoint's model through the registry and loads its weights. */
function modelOf(ck: Checkpoint<Partial<ModelMeta>>): MilModel {
  const m = ck.meta?.model;
  if (!m || typeof m.name !== 'string' || m.config === null || typeof m.config !== 'object')
    throw new MilkitDataError(
      'the header names no model (name and config)',
      { file: ck.file, field: 'meta.model' },
      'the file is damaged or not a milkit model: use an intact copy, or train again',
    );
  let model: MilModel;
  try {
    model = createModel(m.name, m.config);
  } catch (err) {
    const e = err as Error & { fix?: string };
    throw new MilkitDataError(
      `cannot rebuild model "${m.name}": ${e.message.replace(/\. Fix: .*$/, '')}`,
      { file: ck.file, field: 'meta.model' },
      e.fix ?? 'read it with the milkit version that wrote it, or train it again with this one',
    );
  }
  try {
    // The model was built from the file's own header, so a mismatch is damage or changed model code.
    assignModel(
      model,
      ck.tensors,
      ck.file,
      `the weights do not fit the model the header describes: the file is damaged, or the ` +
        `milkit ${ck.milkit} that wrote it built "${m.name}" differently; train again with this milkit`,
    );
  } catch (err) {
    model.dispose();
    throw err;
  }
  return model;
}

/**
 * Loads the model of a saved model, a trained fold model or a training checkpoint (the caller
 * disposes it). For a trained model's standardisation and threshold use `loadTrainedModel`.
 */
export function loadModel(file: string): MilModel {
  return modelOf(readCheckpoint<Partial<ModelMeta>>(file, MODEL_KINDS));
}

interface StandardizeMeta {
  /** Instances the statistics came from; null: the model takes raw features. */
  standardize: { count: number } | null;
}

/** Feature statistics as tensors, so eval/predict standardise like training did. */
export function statsTensors(stats?: FeatureStats): CheckpointTensor[] {
  return stats
    ? [
        { name: 'standardize/mean', shape: [stats.dim], values: stats.mean },
        { name: 'standardize/std', shape: [stats.dim], values: stats.std },
      ]
    : [];
}

export const statsMeta = (stats?: FeatureStats): StandardizeMeta => ({
  standardize: stats ? { count: stats.count } : null,
});

/** The standardisation a checkpoint holds, checked against the model's input width. */
export function statsOf(ck: Checkpoint<Partial<StandardizeMeta>>, inputDim: number): FeatureStats | undefined {
  const s = ck.meta?.standardize;
  if (!s) {
    matchTensors(ck.file, ck.tensors, 'standardize/', [], 'a model trained on raw features');
    return undefined;
  }
  const [mean, std] = matchTensors(
    ck.file,
    ck.tensors,
    'standardize/',
    [
      ['mean', [inputDim]],
      ['std', [inputDim]],
    ],
    `the standardisation of a model with ${inputDim} input features`,
  );
  return { dim: inputDim, mean: mean.values, std: std.values, count: s.count };
}

export interface TrainedModel {
  /** The fold folder it came from. */
  source: string;
  file: string;
  model: MilModel;
  /** Training-fold feature statistics (when the run standardised). */
  stats?: FeatureStats;
  /** The binary threshold fitted during training, and on which set. */
  threshold?: BinaryThreshold & { fittedOn: string };
  task: Task;
  /** The run that trained it. */
  fingerprint?: RunFingerprint;
}

interface TrainedMeta extends ModelMeta, StandardizeMeta {
  task: Task;
  threshold: (BinaryThreshold & { fittedOn: string }) | null;
}

/** Writes a trained fold model (what `loadTrainedModel`, eval and predict read). */
export async function saveTrainedModel(file: string, t: Omit<TrainedModel, 'source' | 'file'>): Promise<void> {
  const meta: TrainedMeta = {
    ...modelMeta(t.model),
    ...statsMeta(t.stats),
    task: t.task,
    threshold: t.threshold ?? null,
  };
  writeCheckpoint(file, {
    kind: 'trained-model',
    fingerprint: t.fingerprint,
    meta,
    tensors: [...(await modelTensors(t.model)), ...statsTensors(t.stats)],
  });
}

/** Recreates a trained fold model from its `model.ckpt` (the caller disposes `model`). */
export function loadTrainedModel(file: string): TrainedModel {
  const ck = readCheckpoint<Partial<TrainedMeta>>(file, 'trained-model');
  const task = ck.meta?.task;
  if (!task || (task.kind !== 'class' && task.kind !== 'survival'))
    throw new MilkitDataError(
      'the header has no task (class or survival)',
      { file, field: 'meta.task' },
      'the file is damaged or not a trained fold model: use an intact model.ckpt, or train again',
    );
  const model = modelOf(ck);
  try {
    const stats = statsOf(ck, model.config.inputDim);
    return {
      source: path.dirname(file),
      file,
      model,
      ...(stats ? { stats } : {}),
      ...(ck.meta?.threshold ? { threshold: ck.meta.threshold } : {}),
      task,
      ...(ck.fingerprint ? { fingerprint: ck.fingerprint } : {}),
    };
  } catch (err) {
    model.dispose();
    throw err;
  }
}

/** Refuses a cohort whose feature width is not the one the model was trained on (before any bag is read). */
export function checkCohortFits(t: TrainedModel, cohort: { path: string; dim: number }): void {
  const dim = t.model.config.inputDim;
  if (cohort.dim !== dim)
    throw new MilkitDataError(
      `the cohort has ${cohort.dim} features per instance, the model in ${t.file} was trained on ${dim}`,
      { file: cohort.path, field: 'features' },
      'use a cohort made with the same feature extractor (and settings) as the training cohort',
    );
}

/** The `model.ckpt` files of a fold folder, or of every fold of a run folder (sorted by repeat, fold). */
export function findTrainedModels(dir: string): string[] {
  const direct = path.join(dir, 'model.ckpt');
  if (fs.existsSync(direct)) return [direct];
  if (!fs.existsSync(dir))
    throw new MilkitDataError(
      'model folder not found',
      { file: dir },
      'check the path (a run folder of milkit train, or one of its fold folders)',
    );
  const folds = fs
    .readdirSync(dir)
    .filter((d) => /^rep\d+-fold\d+$/.test(d) && fs.existsSync(path.join(dir, d, 'model.ckpt')));
  if (folds.length === 0)
    throw new MilkitDataError(
      'holds no trained model (no model.ckpt, and no rep<r>-fold<f>/model.ckpt folders)',
      { file: dir },
      'give the --out folder of a finished milkit train, or one of its fold folders',
    );
  const key = (d: string) => d.match(/\d+/g)!.map(Number);
  folds.sort((a, b) => key(a)[0] - key(b)[0] || key(a)[1] - key(b)[1]);
  return folds.map((d) => path.join(dir, d, 'model.ckpt'));
}
