/**
 * Training configuration: one typed object with MHIM-MIL's defaults (the training options of Tang et al.'s `main.py`),
 * except the epoch count (MHIM: up to 200) and early stopping, which stay opt-in.
 */
export interface TrainConfig {
  /** Epochs per fold. */
  epochs: number;
  /** Peak learning rate (MHIM 2e-4). */
  lr: number;
  /** Floor of the cosine schedule (MHIM 1e-7). */
  minLr: number;
  /** Linear warm-up epochs from minLr to lr (0 = none). */
  warmupEpochs: number;
  schedule: 'cosine' | 'constant';
  /** Adam weight decay (MHIM 1e-5). */
  weightDecay: number;
  /** 'l2' = torch Adam(weight_decay) as MHIM; 'decoupled' = AdamW. */
  weightDecayMode: 'l2' | 'decoupled';
  /** Bags per optimiser step (gradient accumulation; 1 = MHIM's batch size 1). */
  accumulate: number;
  /** Base seed; every fold derives its own (`foldSeed`), so the same seed gives the same run. */
  seed: number;
  /** Standardise features with the training fold's per-feature mean and sd (MUSK1 needs it). */
  standardize: boolean;
  /**
   * Which set chooses the epoch whose weights are kept and drives early stopping:
   * 'val' (the split's validation bags; falls back to 'last' when a split has none),
   * 'last' (no selection: the weights after the last epoch), or
   * 'test' (MHIM v2's protocol: val = the test fold; optimistic, and recorded as such).
   */
  selectOn: 'val' | 'last' | 'test';
  /** Metric to monitor ('auc', 'balancedAccuracy', 'cIndex', 'loss', ...); default by task. */
  monitor?: string;
  /**
   * Early stopping (needs a selection set): stop after `patience` epochs without improvement, never before `minEpochs`.
   */
  earlyStopping?: { patience: number; minEpochs?: number };
  /** Bootstrap resamples of each fold's test metrics (0 = off; MHIM uses 1000). */
  bootstrap: number;
  /** Survival: number of discrete-time bins (MHIM 4). */
  survivalBins: number;
  /** The named protocol this config came from (`withProtocol`, `--protocol`); recorded, not read. */
  protocol?: string;
}

export const DEFAULT_TRAIN_CONFIG: TrainConfig = {
  epochs: 50,
  lr: 2e-4,
  minLr: 1e-7,
  warmupEpochs: 0,
  schedule: 'cosine',
  weightDecay: 1e-5,
  weightDecayMode: 'l2',
  accumulate: 1,
  seed: 2021,
  standardize: false,
  selectOn: 'val',
  bootstrap: 0,
  survivalBins: 4,
};

export function resolveTrainConfig(partial: Partial<TrainConfig> = {}): TrainConfig {
  const c: TrainConfig = {
    ...DEFAULT_TRAIN_CONFIG,
    ...Object.fromEntries(Object.entries(partial).filter(([, v]) => v !== undefined)),
  };
  const positiveInt = (k: keyof TrainConfig) => {
    if (!Number.isInteger(c[k]) || (c[k] as number) < 1)
      throw new RangeError(`train config: ${k} must be a positive integer, got ${c[k]}`);
  };
  positiveInt('epochs');
  positiveInt('accumulate');
  positiveInt('survivalBins');
  if (!(c.lr > 0)) throw new RangeError(`train config: lr must be > 0, got ${c.lr}`);
  if (c.earlyStopping && !(c.earlyStopping.patience >= 1))
    throw new RangeError('train config: earlyStopping.patience must be ≥ 1');
  return c;
}

/** Seed of one fold: distinct per (repeat, fold), fixed by the base seed. */
export function foldSeed(seed: number, repeat: number, fold: number): number {
  return (Math.imul(seed | 0, 1000003) + repeat * 7919 + fold * 104729) >>> 0;
}
