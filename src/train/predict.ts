/**
 * Runs a model over bags in inference mode and turns its outputs into metrics.
 * One host read for the whole set (each bag's logits and loss stay on the device until the end).
 */
import * as tf from '@tensorflow/tfjs';
import type { Bag, BagInfo } from '../data/bag';
import type { Cohort } from '../data/cohort';
import { type FeatureStats, standardize } from '../data/standardize';
import { bootstrapRecord } from '../metrics/bootstrap';
import { classificationMetrics } from '../metrics/evaluate';
import { concordanceIndex, riskFromHazardLogits } from '../metrics/survival';
import { type BinaryThreshold, fitYoudenThreshold } from '../metrics/threshold';
import { totalLoss } from '../models/losses';
import type { ForwardOptions, MilModel, MilOutput, StepBag, Target } from '../models/types';
import { uploadBag } from '../models/upload';
import type { Task } from './targets';

/** A bag as a model receives it from host memory, standardised with training statistics when given. */
export function stepBagOf(bag: Bag, stats?: FeatureStats): StepBag {
  const features = stats ? standardize(bag.features, stats) : bag.features;
  return { id: bag.id, features, numInstances: bag.numInstances, dim: bag.dim, coords: bag.coords };
}

/** A bag's features as a tensor `[N, D]` (standardised with training statistics when given), for notebooks. */
export function bagTensor(bag: Bag, stats?: FeatureStats): tf.Tensor2D {
  return uploadBag(stepBagOf(bag, stats));
}

/** Inference on one bag: streamed by models that pool huge bags in blocks, else uploaded whole. */
export function forwardBag(model: MilModel, bag: StepBag, opts: ForwardOptions): MilOutput {
  if (model.forwardBag) return model.forwardBag(bag, opts);
  const x = uploadBag(bag);
  try {
    return model.forward(x, opts);
  } finally {
    x.dispose();
  }
}

export interface SetPredictions {
  /** Cohort positions of the bags. */
  indices: number[];
  /** Bag logits, one array of C values per bag. */
  logits: Float32Array[];
  /** Loss of each bag against its target. */
  losses: Float32Array;
}

/** Logits and losses of the bags at `indices` (inference mode: no dropout). */
export async function predictSet(
  model: MilModel,
  cohort: Cohort,
  indices: number[],
  targets: Target[],
  stats?: FeatureStats,
): Promise<SetPredictions> {
  const rows: tf.Tensor1D[] = [];
  try {
    for (const [k, i] of indices.entries()) {
      const bag = await cohort.bag(i);
      if (k + 1 < indices.length) cohort.prefetch(indices[k + 1]); // read while this bag computes
      rows.push(
        tf.tidy(() => {
          const opts = { training: false, coords: bag.coords, target: targets[i] };
          const out = forwardBag(model, stepBagOf(bag, stats), opts);
          return tf.concat([out.logits, tf.reshape(totalLoss(model.loss(out, targets[i])), [1])]);
        }),
      );
    }
    if (rows.length === 0) return { indices, logits: [], losses: new Float32Array(0) };
    const all = tf.stack(rows);
    const values = (await all.data()) as Float32Array;
    all.dispose();
    const width = rows[0].shape[0];
    return {
      indices,
      logits: indices.map((_, r) => values.slice(r * width, r * width + width - 1)),
      losses: Float32Array.from(indices, (_, r) => values[r * width + width - 1]),
    };
  } finally {
    tf.dispose(rows);
  }
}

export function softmax(logits: ArrayLike<number>): number[] {
  const m = Math.max(...Array.from(logits));
  const e = Array.from(logits, (z) => Math.exp(z - m));
  const s = e.reduce((a, b) => a + b, 0);
  return e.map((x) => x / s);
}

/** Binary score used for thresholds: p(class 1). */
export function positiveScores(p: SetPredictions): number[] {
  return p.logits.map((z) => softmax(z)[1]);
}

/** Fits the Youden threshold on a set's predictions (call it on train/val predictions only). */
export function fitThresholdOn(p: SetPredictions, bags: readonly BagInfo[]): BinaryThreshold {
  return fitYoudenThreshold(
    p.indices.map((i) => bags[i].label!),
    positiveScores(p),
  );
}

export interface SetMetricsOptions {
  /** Binary: threshold fitted on other data (train/val), adds accuracyYouden etc. */
  threshold?: BinaryThreshold;
  /** Bootstrap resamples (0 = none) and seed. */
  bootstrap?: number;
  bootstrapSeed?: number;
}

export interface SetMetrics {
  metrics: Record<string, number>;
  bootstrap?: Record<string, { mean: number; sd: number; lower: number; upper: number }>;
}

/** Metrics of a set: the task's metrics plus the mean loss; optionally bootstrapped. */
export function setMetrics(
  task: Task,
  bags: readonly BagInfo[],
  p: SetPredictions,
  opts: SetMetricsOptions = {},
): SetMetrics {
  const n = p.indices.length;
  const metricsOf = (rows: number[]): Record<string, number> => {
    const loss = rows.reduce((s, r) => s + p.losses[r], 0) / rows.length;
    if (task.kind === 'survival') {
      const info = rows.map((r) => bags[p.indices[r]]);
      const c = concordanceIndex(
        info.map((b) => b.time!),
        info.map((b) => b.event!),
        rows.map((r) => riskFromHazardLogits(p.logits[r])),
      );
      return { cIndex: c.cIndex, loss };
    }
    const labels = rows.map((r) => bags[p.indices[r]].label!);
    const m = classificationMetrics(
      labels,
      rows.map((r) => softmax(p.logits[r])),
      task.numClasses,
      { threshold: opts.threshold },
    );
    return { ...(m as unknown as Record<string, number>), loss };
  };
  const all = Array.from({ length: n }, (_, r) => r);
  const result: SetMetrics = { metrics: metricsOf(all) };
  if (opts.bootstrap && n > 0) {
    result.bootstrap = bootstrapRecord(n, metricsOf, { resamples: opts.bootstrap, seed: opts.bootstrapSeed ?? 0 });
  }
  return result;
}

/** Per-instance outputs of one bag for `predict`: attention weights and/or instance class probabilities. */
export async function predictInstances(
  model: MilModel,
  bag: Bag,
  stats?: FeatureStats,
): Promise<{ logits: Float32Array; attention?: Float32Array; instanceProbs?: Float32Array }> {
  const out = tf.tidy(() => {
    const o = forwardBag(model, stepBagOf(bag, stats), { training: false, coords: bag.coords });
    return {
      logits: o.logits,
      attention: o.attention,
      instanceProbs: o.instanceLogits ? tf.softmax(o.instanceLogits) : undefined,
    };
  });
  try {
    return {
      logits: (await out.logits.data()) as Float32Array,
      attention: out.attention ? ((await out.attention.data()) as Float32Array) : undefined,
      instanceProbs: out.instanceProbs ? ((await out.instanceProbs.data()) as Float32Array) : undefined,
    };
  } finally {
    tf.dispose([
      out.logits,
      ...(out.attention ? [out.attention] : []),
      ...(out.instanceProbs ? [out.instanceProbs] : []),
    ]);
  }
}
