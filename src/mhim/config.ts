/**
 * Every MHIM-MIL hyperparameter in one typed config, with the published defaults. Sources: the
 * authors' code (github DearCaat/MHIM-MIL; master = v2, IJCV 2025; branch v1 = ICCV 2023) and its
 * READMEs. Where the paper and the code differ, the default is the code's and the comment says so.
 */
import { DEFAULT_MASK, type MaskConfig } from './masking';
import { DEFAULT_GRN, type GrnConfig } from './grn';
import type { ScoreKind } from './scoring';
import type { BaseModelConfig } from '../models/types';
import type { MhimInit } from './baselineInit';

export interface MhimConfig {
  /** Label only ('v1' = ICCV 2023, 'v2' = IJCV 2025). */
  version: 'v1' | 'v2';
  /** Easy-instance scores: 'attention' (v1) or 'class-aware' instance probability (v2, `--attn2score`). */
  score: ScoreKind;
  /**
   * Masking ratios (see masking.ts): βh `--mask_ratio_h`, r `--mask_ratio_hr`, βl `--mask_ratio_l`, random
   * `--mask_ratio`.
   */
  mask: MaskConfig;
  /** Cosine decay of βh to 0 over all training iterations (`--mrh_sche`; off in v2, on in the v1 READMEs). */
  decayHighRatio: boolean;
  /** α, weight of the consistency loss (`--aux_alpha` 0.5 in v2; `--cl_alpha` 0.1–0.5 in v1). */
  consistencyWeight: number;
  /** Weight of the classification / survival loss (1.0 in the code). */
  classWeight: number;
  /** τ, teacher temperature of the consistency loss (`--temp_t` 0.1). */
  temperature: number;
  /** Student temperature of the consistency loss (1 in the code). */
  studentTemperature: number;
  /** Teacher EMA momentum (`--mm`: code default 0.9997; the paper says 0.9999, the v1 default). */
  teacherMomentum: number;
  /** Cosine schedule of the momentum to 1 over training (`--mm_sche`, v1 TCGA settings). */
  momentumSchedule: boolean;
  /** Run the teacher with dropout on, as the code does (it calls `model_ema.train()`). */
  teacherDropout: boolean;
  /** Global Recycle Network (v2, `--merge_enable`), or null for none (v1). */
  grn: GrnConfig | null;
  /** Training iterations in the whole run (epochs × bags); needed by the two cosine schedules. */
  totalIterations?: number;
  /** Seed of the masking and GRN random streams (the code's global seed is 2021). */
  seed: number;
}

/**
 * v2 (IJCV 2025 README): `--attn2score --merge_enable --merge_mm 0.9999 --aux_alpha 0.5` with the
 * grid `mask_ratio_h ∈ {0.01, 0.03, 0.05}`, `merge_ratio ∈ {0.8, 0.9}`, `merge_k ∈ {1, 5, 10}`; the
 * repo has no per-data-set table, so the preset takes the middle/first grid values.
 */
export const MHIM_V2: Readonly<MhimConfig> = {
  version: 'v2',
  score: 'class-aware',
  mask: { ...DEFAULT_MASK, highRatio: 0.03, highRandomRatio: 1 },
  decayHighRatio: false,
  consistencyWeight: 0.5,
  classWeight: 1,
  temperature: 0.1,
  studentTemperature: 1,
  teacherMomentum: 0.9997,
  momentumSchedule: false,
  teacherDropout: true,
  grn: { ...DEFAULT_GRN },
  seed: 2021,
};

/**
 * v1 (ICCV 2023 README, Camelyon16 AB-MIL line): `cl_alpha 0.1, mask_ratio_h 0.01, mask_ratio_hr 0.5,
 * mrh_sche, mask_ratio 0.5`, attention scores, no GRN, `mm` 0.9999. Its `init_stu_type fc` student
 * init needs a trained baseline, so it is an option, not part of the preset: `init.student` with
 * `studentLayers: 'projection'` (baselineInit.ts).
 */
export const MHIM_V1: Readonly<MhimConfig> = {
  ...MHIM_V2,
  version: 'v1',
  score: 'attention',
  mask: { highRatio: 0.01, highRandomRatio: 0.5, lowRatio: 0, randomRatio: 0.5 },
  decayHighRatio: true,
  consistencyWeight: 0.1,
  teacherMomentum: 0.9999,
  grn: null,
};

export const MHIM_PRESETS = { 'mhim-v1': MHIM_V1, 'mhim-v2': MHIM_V2 } as const;
export type MhimPreset = keyof typeof MHIM_PRESETS;

/** A preset (`'mhim-v2'`, or `'v2'`) with overrides; nested `mask` / `grn` merge field by field. */
export function mhimConfig(preset: MhimPreset | 'v1' | 'v2' = 'mhim-v2', overrides: MhimOverrides = {}): MhimConfig {
  const key = (preset.startsWith('mhim-') ? preset : `mhim-${preset}`) as MhimPreset;
  const base = MHIM_PRESETS[key];
  if (!base) throw new Error(`unknown MHIM preset "${preset}" (expected ${Object.keys(MHIM_PRESETS).join(', ')})`);
  const grn =
    overrides.grn === null
      ? null
      : overrides.grn || base.grn
        ? { ...DEFAULT_GRN, ...base.grn, ...overrides.grn }
        : null;
  return { ...base, ...overrides, mask: { ...base.mask, ...overrides.mask }, grn };
}

export type MhimOverrides = Partial<Omit<MhimConfig, 'mask' | 'grn'>> & {
  mask?: Partial<MaskConfig>;
  grn?: Partial<GrnConfig> | null;
};

/** `createModel('mhim', config)`: the wrapped model by table name, its options and the MHIM settings. */
export interface MhimModelConfig extends BaseModelConfig {
  /** Table name of the wrapped attention model ('abmil', 'gabmil', 'transmil', 'dsmil', ...). */
  base: string;
  /** The wrapped model's own options (inputDim, numClasses and seed come from this config). */
  baseConfig: Record<string, unknown>;
  /** MHIM settings: a preset by `version` ('v1' | 'v2') plus overrides (see `mhimConfig`). */
  mhim: MhimOverrides;
  /** Teacher / student init from a trained baseline run, fold by fold (default none: the code's v2 default). */
  init?: MhimInit;
}

/**
 * The variant of a base model that MHIM-MIL's code wraps, where it differs from the standalone
 * model: its AB-MIL scores with ReLU attention without biases (`models/abmil.py` of the authors'
 * repository). `createModel('mhim')` applies it under the explicit `baseConfig`.
 */
export const MHIM_BASE_VARIANTS: Readonly<Record<string, Record<string, unknown>>> = {
  abmil: { attention: 'relu' },
};

export const MHIM_MODEL_DEFAULTS: MhimModelConfig = {
  inputDim: 1024,
  numClasses: 2,
  seed: 0,
  base: 'abmil',
  // The AB-MIL inside MHIM-MIL's code: ReLU attention without biases.
  baseConfig: { attention: 'relu' },
  mhim: { version: 'v2' },
};
