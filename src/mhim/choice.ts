/**
 * MHIM as a trainer model choice: `new Trainer({ model: mhimModel({ name: 'abmil' }, 'v2') })` trains
 * MHIM-v2(AB-MIL) through the trainer's `trainStep` path (the CLI's `--mhim v2`). Equivalent to the
 * registry choice `{ name: 'mhim', config: { base: 'abmil', baseConfig, mhim: { version: 'v2' } } }`.
 */
import { createModel } from '../registry';
import { MHIM_MODEL_DEFAULTS, type MhimOverrides } from './config';
import type { MhimModel } from './mhim';

export interface BaseModelChoice {
  /** Registered model name ('abmil', 'transmil', 'dsmil', ...). */
  name: string;
  /** The model's own typed options (for AB-MIL, MHIM's internal variant is `{ attention: 'relu' }`). */
  config?: Record<string, unknown>;
}

/** What the trainer passes to a model builder for each fold. */
export interface FoldModelInit {
  inputDim: number;
  numClasses: number;
  seed: number;
}

/**
 * The variant of a base model that MHIM-MIL's code wraps, where it differs from the standalone
 * model (mhim-reference.md §2): its AB-MIL has ReLU attention without biases. Explicit options win.
 */
export const MHIM_BASE_VARIANTS: Readonly<Record<string, Record<string, unknown>>> = {
  abmil: { attention: 'relu' },
};

/** A builder `(init) => MhimModel` wrapping a registered model (teacher seed = seed + 1). */
export function mhimModel(
  base: BaseModelChoice,
  preset: 'v1' | 'v2' = 'v2',
  overrides: MhimOverrides = {},
): (init: FoldModelInit) => MhimModel {
  const baseConfig = { ...MHIM_BASE_VARIANTS[base.name], ...base.config };
  return (init) =>
    createModel('mhim', {
      ...MHIM_MODEL_DEFAULTS,
      ...init,
      base: base.name,
      baseConfig,
      mhim: { ...overrides, version: preset },
    }) as MhimModel;
}
