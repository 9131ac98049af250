/**
 * Training checkpoints (`last.ckpt`, `best.ckpt`): everything an exact resume needs — the model's
 * weights, the optimiser's moments and step, the feature standardisation, and the trainer's own
 * state (epoch, position in the epoch, early stopping, history, random streams) — with the run's
 * fingerprint, so a checkpoint of another run is refused with what differs instead of resumed.
 */
import { MilkitDataError } from '../data/errors';
import type { FeatureStats } from '../data/standardize';
import type { MilModel } from '../models/types';
import type { AdamState } from '../train/optimizer';
import { type RunFingerprint, fingerprintDifferences } from './fingerprint';
import { type Checkpoint, type CheckpointTensor, readCheckpoint, writeCheckpoint } from './format';
import { type ModelMeta, assignModel, modelMeta, modelTensors, statsMeta, statsOf, statsTensors } from './model';
import { matchTensors, modelVariables, namesOf } from './variables';

interface TrainingMeta<S> extends ModelMeta {
  /** The trainer's state (JSON). */
  state: S;
  optimizerStep: number;
  standardize: { count: number } | null;
}

export interface TrainingState<S> {
  model: MilModel;
  /** The optimiser's state, one moment pair per trainable variable in `trainableVariables()` order. */
  optimizer: AdamState;
  stats?: FeatureStats;
  state: S;
  fingerprint: RunFingerprint;
}

const trainableNames = (model: MilModel) =>
  namesOf(modelVariables(model), model.trainableVariables(), `model "${model.name}"`);

export async function saveTrainingState<S>(file: string, t: TrainingState<S>): Promise<void> {
  const names = trainableNames(t.model);
  if (t.optimizer.moments.length !== names.length)
    throw new Error(`optimiser state for ${t.optimizer.moments.length} variables, the model trains ${names.length}`);
  const vars = t.model.trainableVariables();
  const moments: CheckpointTensor[] = t.optimizer.moments.flatMap(({ m, v }, i) => [
    { name: `optimizer/m/${names[i]}`, shape: vars[i].shape, values: m },
    { name: `optimizer/v/${names[i]}`, shape: vars[i].shape, values: v },
  ]);
  const meta: TrainingMeta<S> = {
    ...modelMeta(t.model),
    ...statsMeta(t.stats),
    state: t.state,
    optimizerStep: t.optimizer.step,
  };
  writeCheckpoint(file, {
    kind: 'training-state',
    fingerprint: t.fingerprint,
    meta,
    tensors: [...(await modelTensors(t.model)), ...moments, ...statsTensors(t.stats)],
  });
}

/**
 * Reads a training checkpoint of the run with `fingerprint`; one written by another run (other model,
 * data, settings, seed or split) is refused, naming what differs.
 */
export function readTrainingState<S>(file: string, fingerprint: RunFingerprint): Checkpoint<TrainingMeta<S>> {
  const ck = readCheckpoint<TrainingMeta<S>>(file, 'training-state');
  if (!ck.fingerprint)
    throw new MilkitDataError(
      'cannot resume: the checkpoint records no run fingerprint',
      { file, field: 'fingerprint' },
      'delete it to train this fold from the start, or use a new output folder',
    );
  const diff = fingerprintDifferences(ck.fingerprint, fingerprint);
  if (diff.length)
    throw new MilkitDataError(
      `cannot resume: it was written by a run with another configuration, model, data or split (${diff.join('; ')})`,
      { file, field: 'fingerprint' },
      'resume with the original settings, or use a new output ' +
        'folder (or delete this file to train the fold from the start)',
    );
  return ck;
}

/**
 * Puts a training checkpoint's weights into `model` and returns the optimiser state (in
 * `trainableVariables()` order) and the trainer's state. The standardisation is checked but not
 * returned: the trainer recomputes it from the training fold, as an uninterrupted run does.
 */
export function restoreTrainingState<S>(
  ck: Checkpoint<TrainingMeta<S>>,
  model: MilModel,
): { optimizer: AdamState; state: S } {
  const vars = model.trainableVariables();
  const specs = trainableNames(model).map((n, i): [string, number[]] => [n, vars[i].shape]);
  const owner = `the optimiser of model "${model.name}"`;
  const m = matchTensors(ck.file, ck.tensors, 'optimizer/m/', specs, owner);
  const v = matchTensors(ck.file, ck.tensors, 'optimizer/v/', specs, owner);
  if (!Number.isInteger(ck.meta.optimizerStep) || ck.meta.optimizerStep < 0)
    throw new MilkitDataError('the optimiser step is not a non-negative integer', {
      file: ck.file,
      field: 'meta.optimizerStep',
    });
  statsOf(ck, model.config.inputDim);
  assignModel(model, ck.tensors, ck.file);
  return {
    optimizer: { step: ck.meta.optimizerStep, moments: m.map((mi, i) => ({ m: mi.values, v: v[i].values })) },
    state: ck.meta.state,
  };
}
