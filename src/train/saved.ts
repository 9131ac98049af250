/**
 * Trained models on disk, as the trainer leaves them: `<run>/rep<r>-fold<f>/model.ckpt` holds the
 * kept weights, the model's registry name and full config, the feature standardisation and the
 * binary threshold fitted during training (so eval/predict never refit anything on new data).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import type { FeatureStats } from '../data/standardize';
import type { BinaryThreshold } from '../metrics/threshold';
import { createModel } from '../registry';
import type { MilModel } from '../models/types';
import { loadCheckpoint } from './checkpoint';
import { statsFromCheckpoint } from './fold';
import type { Task } from './targets';

export interface TrainedModel {
  /** The fold folder (or the file) it came from. */
  source: string;
  model: MilModel;
  stats?: FeatureStats;
  threshold?: BinaryThreshold;
  task: Task;
}

interface ModelHeader {
  kind: 'milkit-model';
  model: { name: string; config: Record<string, unknown> };
  threshold: (BinaryThreshold & { fittedOn: string }) | null;
  task: Task;
}

/** The `model.ckpt` files of a fold folder, or of every fold of a run folder (sorted). */
export function findTrainedModels(dir: string): string[] {
  const direct = path.join(dir, 'model.ckpt');
  if (fs.existsSync(direct)) return [direct];
  if (!fs.existsSync(dir)) throw new Error(`model folder not found: ${dir}`);
  const folds = fs
    .readdirSync(dir)
    .filter((d) => /^rep\d+-fold\d+$/.test(d) && fs.existsSync(path.join(dir, d, 'model.ckpt')));
  if (folds.length === 0)
    throw new Error(
      `${dir} holds no trained model (expected model.ckpt, or rep<r>-fold<f>/model.ckpt folders from milkit train)`,
    );
  const key = (d: string) => d.match(/\d+/g)!.map(Number);
  folds.sort((a, b) => key(a)[0] - key(b)[0] || key(a)[1] - key(b)[1]);
  return folds.map((d) => path.join(dir, d, 'model.ckpt'));
}

/** Recreates a trained model from its `model.ckpt` through the model registry. */
export function loadTrainedModel(file: string): TrainedModel {
  const ck = loadCheckpoint<ModelHeader>(file);
  if (ck.header.kind !== 'milkit-model')
    throw new Error(`${file} is a ${ck.header.kind} checkpoint, not a trained model (model.ckpt)`);
  const model = createModel(ck.header.model.name, ck.header.model.config);
  const vars = model.variables();
  const saved = ck.tensors.filter((t) => t.name.startsWith('model/'));
  if (saved.length !== vars.length) {
    model.dispose();
    throw new Error(`${file}: ${saved.length} saved variables, model "${ck.header.model.name}" has ${vars.length}`);
  }
  vars.forEach((v, i) => tf.tidy(() => v.assign(tf.tensor(saved[i].values, v.shape))));
  return {
    source: path.dirname(file),
    model,
    stats: statsFromCheckpoint(ck.tensors),
    threshold: ck.header.threshold ?? undefined,
    task: ck.header.task,
  };
}
