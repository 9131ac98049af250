/**
 * The one training-step path: the model prepares a step on a bag (`MilModel.trainingStep`), the
 * gradient of the sum of its named loss terms is recorded, the optimiser applies it (at once, or
 * averaged over `accumulate` bags by the fold loop), then the model finishes the step (MHIM's
 * teacher EMA, IBMIL's dictionary). The terms are read back with the total in one host read.
 */
import * as tf from '@tensorflow/tfjs';
import { totalLoss } from '../models/losses';
import type { MilModel, StepBag, Target } from '../models/types';

export interface StepResult {
  /** Total loss of the step (the sum of the terms). */
  loss: number;
  /** The named terms, e.g. `{ cls, instance }` or `{ cls, consistency }`. */
  terms: Record<string, number>;
  /** Instances the model encoded in this step (MHIM: kept + global tokens). */
  seqLen: number;
}

export interface ComputedStep {
  /** Gradients by variable name, not yet applied. */
  grads: tf.NamedTensorMap;
  /**
   * Reads the loss and its terms (one host read) and finishes the step; call after applying `grads`,
   * with `updated` false when they were only accumulated (no optimiser update after this bag).
   */
  finish(updated: boolean): Promise<StepResult>;
}

/** Loss terms and gradients of one step on one bag, w.r.t. `variables` (the optimiser's). */
export async function computeStep(
  model: MilModel,
  bag: StepBag,
  target: Target,
  variables: tf.Variable[],
): Promise<ComputedStep> {
  const step = await model.trainingStep(bag, target);
  let names: string[] = [];
  let values: tf.Tensor1D | undefined;
  let grads: tf.NamedTensorMap;
  try {
    const r = tf.variableGrads(() => {
      const terms = step.loss();
      names = Object.keys(terms);
      const total = totalLoss(terms);
      values = tf.keep(tf.stack([total, ...Object.values(terms)]) as tf.Tensor1D);
      return total;
    }, variables);
    r.value.dispose();
    grads = r.grads;
  } catch (err) {
    step.finish(false);
    values?.dispose();
    throw err;
  }
  return {
    grads,
    async finish(updated: boolean) {
      step.finish(updated);
      const data = await values!.data(); // the step's one host read
      values!.dispose();
      return {
        loss: data[0],
        terms: Object.fromEntries(names.map((n, i) => [n, data[i + 1]])),
        seqLen: step.seqLen ?? bag.numInstances,
      };
    },
  };
}

/** One complete step: gradients, the optimiser update, then the model's own follow-up. */
export async function trainStep(
  model: MilModel,
  bag: StepBag,
  target: Target,
  optimizer: tf.Optimizer,
  variables = model.trainableVariables(),
): Promise<StepResult> {
  const { grads, finish } = await computeStep(model, bag, target, variables);
  optimizer.applyGradients(grads);
  tf.dispose(Object.values(grads));
  return finish(true);
}
