/**
 * Learning-rate schedules stepped once per epoch (pure).
 *
 * Cosine, as timm's `CosineLRScheduler` used by MHIM-MIL (t = epoch, T = epochs):
 * `lr(t) = minLr + ½(lr − minLr)(1 + cos(π t / T))`. With `warmupEpochs = W > 0` the first W epochs
 * rise linearly from `minLr` to `lr` (`minLr + t(lr − minLr)/W`), and the cosine keeps counting t
 * from 0 (timm's default `warmup_prefix=False`).
 */
export interface ScheduleOptions {
  kind: 'cosine' | 'constant';
  lr: number;
  /** Floor of the cosine (MHIM: 1e-7). */
  minLr?: number;
  epochs: number;
  warmupEpochs?: number;
}

export function learningRateAt(epoch: number, s: ScheduleOptions): number {
  const minLr = s.minLr ?? 0;
  const warm = s.warmupEpochs ?? 0;
  if (epoch < warm) return minLr + (epoch * (s.lr - minLr)) / warm;
  if (s.kind === 'constant') return s.lr;
  return minLr + 0.5 * (s.lr - minLr) * (1 + Math.cos((Math.PI * epoch) / s.epochs));
}
