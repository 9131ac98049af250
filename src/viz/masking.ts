/**
 * Masking preview: a bag's teacher scores plus the MHIM masking settings. The payload carries no
 * mask: every reader (the kernel's static fallback, the JupyterLab sliders) recomputes it from
 * `scores` + `settings` with the library's own masking code, so a preview never disagrees with
 * what training does on the same (rounded) scores.
 */
import { DEFAULT_MASK, type MaskConfig, cosineSchedule, selectMask, splitForRecycle } from '../mhim/masking';
import { Rng } from '../random';
import { type BagRef, type InstanceLayout, VIZ_VERSIONS, VizSchemaError, instanceLayout, roundedArray } from './schema';

/**
 * HSM: mask the top βh; RHSM: mask a random r of the top βh/r; LSM: mask the lowest; RSM: mask at
 * random; combined: every ratio as given (MHIM-v1 style, applied random → low → high like the library).
 */
export const MASK_STRATEGIES = ['hsm', 'rhsm', 'lsm', 'rsm', 'combined'] as const;
export type MaskStrategy = (typeof MASK_STRATEGIES)[number];

/** What a preview shows per instance. */
export const MASK_STATUS = { kept: 0, high: 1, random: 2, low: 3, recycled: 4 } as const;
export type MaskStatus = (typeof MASK_STATUS)[keyof typeof MASK_STATUS];
export const MASK_STATUS_NAMES: Record<MaskStatus, string> = {
  0: 'kept',
  1: 'masked (high score, easy)',
  2: 'masked (random)',
  3: 'masked (low score)',
  4: 'recycled (global recycle network)',
};

/** The knobs a preview exposes (ratios as in the library's MaskConfig; the authors' flags in brackets). */
export interface MaskingSettings extends MaskConfig {
  strategy: MaskStrategy;
  /** βh, fraction of the bag masked as easy [--mask_ratio_h]. */
  highRatio: number;
  /** RHSM r: candidates are the top βh/r, of which a random r fraction is masked [--mask_ratio_hr]; 1 = plain HSM. */
  highRandomRatio: number;
  /** LSM: fraction of lowest-score instances masked [--mask_ratio_l]. */
  lowRatio: number;
  /** RSM: fraction masked uniformly at random [--mask_ratio]. */
  randomRatio: number;
  /** Cosine decay of βh over training [--mrh_sche]: βh(t) = ½·βh·(1 + cos(π·progress)). */
  decay: boolean;
  /** Training progress t/T in [0, 1] (used by the decay). */
  progress: number;
  /**
   * Global Recycle Network: fraction of the kept instances the student sees directly; the rest are recycled
   * [--merge_ratio]. Absent = no GRN.
   */
  recycleKeepRatio?: number;
  /**
   * Seed of the preview's random choices. Counts always equal training's; which instances a random
   * strategy picks is one seeded draw (training draws from its own stream each step).
   */
  seed: number;
}

export const DEFAULT_MASKING_SETTINGS: MaskingSettings = {
  ...DEFAULT_MASK,
  strategy: 'rhsm',
  decay: false,
  progress: 0,
  seed: 2021,
};

export interface MaskingPayload extends InstanceLayout {
  version: 1;
  kind: 'masking';
  title?: string;
  /** Teacher scores, rounded (the masking input). */
  scores: number[];
  scoreKind: 'attention' | 'probability';
  settings: MaskingSettings;
}

export interface MaskingOptions {
  title?: string;
  scoreKind?: 'attention' | 'probability';
}

/** Builds a masking preview; settings not given take DEFAULT_MASKING_SETTINGS. */
export function maskingView(
  bag: BagRef,
  teacherScores: ArrayLike<number>,
  settings: Partial<MaskingSettings> = {},
  opts: MaskingOptions = {},
): MaskingPayload {
  const merged = checkMaskingSettings({ ...DEFAULT_MASKING_SETTINGS, ...settings });
  const payload: MaskingPayload = {
    version: VIZ_VERSIONS.masking[VIZ_VERSIONS.masking.length - 1] as 1,
    kind: 'masking',
    ...instanceLayout('masking', bag, teacherScores.length),
    scores: roundedArray(teacherScores),
    scoreKind: opts.scoreKind ?? 'probability',
    settings: merged,
  };
  if (opts.title) payload.title = opts.title;
  return payload;
}

/** Checks every setting's range; returns the settings unchanged. */
export function checkMaskingSettings(s: MaskingSettings): MaskingSettings {
  if (!(MASK_STRATEGIES as readonly string[]).includes(s.strategy)) {
    throw new VizSchemaError(
      'masking',
      `unknown strategy "${s.strategy}" (expected ${MASK_STRATEGIES.join(', ')})`,
      'settings.strategy',
    );
  }
  const unit = (name: keyof MaskingSettings, v: unknown, openZero = false) => {
    if (typeof v !== 'number' || !(v >= 0 && v <= 1) || (openZero && v === 0)) {
      throw new VizSchemaError(
        'masking',
        `must be a number in ${openZero ? '(0' : '[0'}, 1], got ${v}`,
        `settings.${name}`,
      );
    }
  };
  unit('highRatio', s.highRatio);
  unit('highRandomRatio', s.highRandomRatio, true);
  unit('lowRatio', s.lowRatio);
  unit('randomRatio', s.randomRatio);
  unit('progress', s.progress);
  if (s.recycleKeepRatio !== undefined) unit('recycleKeepRatio', s.recycleKeepRatio);
  if (typeof s.decay !== 'boolean')
    throw new VizSchemaError('masking', `must be true or false, got ${s.decay}`, 'settings.decay');
  if (!Number.isInteger(s.seed))
    throw new VizSchemaError('masking', `must be an integer, got ${s.seed}`, 'settings.seed');
  return s;
}

/** The library MaskConfig a preview's strategy selects, with βh decayed to `progress` when `decay` is on. */
export function effectiveMaskConfig(s: MaskingSettings): MaskConfig {
  const highRatio = s.decay ? cosineSchedule(s.highRatio, 0, s.progress, 1) : s.highRatio;
  const none: MaskConfig = { highRatio: 0, highRandomRatio: 1, lowRatio: 0, randomRatio: 0 };
  switch (s.strategy) {
    case 'hsm':
      return { ...none, highRatio };
    case 'rhsm':
      return { ...none, highRatio, highRandomRatio: s.highRandomRatio };
    case 'lsm':
      return { ...none, lowRatio: s.lowRatio };
    case 'rsm':
      return { ...none, randomRatio: s.randomRatio };
    case 'combined':
      return { highRatio, highRandomRatio: s.highRandomRatio, lowRatio: s.lowRatio, randomRatio: s.randomRatio };
  }
}

export interface MaskPreview {
  /** Per instance, a MASK_STATUS code. */
  status: Uint8Array;
  counts: Record<keyof typeof MASK_STATUS, number>;
  /** The library config that was applied (βh after decay). */
  config: MaskConfig;
}

/**
 * Runs the library's masking (selectMask, then the GRN split when recycleKeepRatio is set) on a
 * preview's scores. The kernel's static fallback and the JupyterLab sliders both call this.
 */
export function previewMask(scores: ArrayLike<number>, settings: MaskingSettings): MaskPreview {
  const config = effectiveMaskConfig(checkMaskingSettings(settings));
  const rng = new Rng(settings.seed);
  const mask = selectMask(scores, config, rng);
  const status = new Uint8Array(scores.length);
  const mark = (idx: Int32Array, code: MaskStatus) => idx.forEach((i) => (status[i] = code));
  mark(mask.maskedHigh, MASK_STATUS.high);
  mark(mask.maskedLow, MASK_STATUS.low);
  mark(mask.maskedRandom, MASK_STATUS.random);
  if (settings.recycleKeepRatio !== undefined && settings.recycleKeepRatio > 0) {
    mark(splitForRecycle(mask.kept, settings.recycleKeepRatio, rng).recycled, MASK_STATUS.recycled);
  }
  const counts = { kept: 0, high: 0, random: 0, low: 0, recycled: 0 };
  const names = Object.keys(MASK_STATUS) as (keyof typeof MASK_STATUS)[];
  status.forEach((code) => counts[names[code]]++);
  return { status, counts, config };
}

/**
 * The settings in words ("RHSM · βh 0.1 → 0.05 (cosine decay at 50 %) · r 0.5 · GRN keeps 0.8 ·
 * seed 3"): titles are built from it so they always describe what is drawn.
 */
export function maskingSettingsLabel(s: MaskingSettings): string {
  const f = (x: number) => String(Number(x.toPrecision(3)));
  const usesHigh = s.strategy === 'hsm' || s.strategy === 'rhsm' || s.strategy === 'combined';
  const parts = [s.strategy.toUpperCase()];
  if (usesHigh) {
    const decayed = s.decay ? cosineSchedule(s.highRatio, 0, s.progress, 1) : s.highRatio;
    parts.push(
      `βh ${f(s.highRatio)}` +
        `${s.decay ? ` → ${f(decayed)} (cosine decay at ${Math.round(100 * s.progress)} % of training)` : ''}`,
    );
  }
  if (s.strategy === 'rhsm' || s.strategy === 'combined') parts.push(`r ${f(s.highRandomRatio)}`);
  if (s.strategy === 'lsm' || s.strategy === 'combined') parts.push(`βl ${f(s.lowRatio)}`);
  if (s.strategy === 'rsm' || s.strategy === 'combined') parts.push(`random ${f(s.randomRatio)}`);
  if (s.recycleKeepRatio !== undefined) parts.push(`GRN keeps ${f(s.recycleKeepRatio)}`);
  parts.push(`seed ${s.seed}`);
  return parts.join(' · ');
}

/** βh over training progress (the cosine decay curve), `points` evenly spaced samples from 0 to 1. */
export function highRatioCurve(
  s: Pick<MaskingSettings, 'highRatio' | 'decay'>,
  points = 41,
): { x: number[]; y: number[] } {
  const x = Array.from({ length: points }, (_, k) => k / (points - 1));
  return { x, y: x.map((t) => (s.decay ? cosineSchedule(s.highRatio, 0, t, 1) : s.highRatio)) };
}
