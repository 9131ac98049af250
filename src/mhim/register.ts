/**
 * MHIM as a registered model, so runs, checkpoints and saved models rebuild it by name:
 * `createModel('mhim', { base: 'abmil', baseConfig: { attention: 'relu' }, mhim: { version: 'v2' } })`.
 * The teacher gets seed + 1 (independent dropout); the masking stream uses `mhim.seed` or the model seed.
 */
import { createModel, registerModel } from '../models/registry';
import type { BaseModelConfig } from '../models/types';
import type { MhimOverrides } from './config';
import { MhimModel } from './mhim';

export interface MhimModelConfig extends BaseModelConfig {
  /** Registered name of the wrapped attention model ('abmil', 'gabmil', 'transmil', 'dsmil', ...). */
  base: string;
  /** The wrapped model's own options (inputDim, numClasses and seed come from this config). */
  baseConfig: Record<string, unknown>;
  /** MHIM settings: a preset by `version` ('v1' | 'v2') plus overrides (see config.ts). */
  mhim: MhimOverrides;
}

export const MHIM_MODEL_DEFAULTS: MhimModelConfig = {
  inputDim: 1024,
  numClasses: 2,
  seed: 0,
  base: 'abmil',
  // The AB-MIL inside MHIM-MIL: ReLU attention without biases (mhim-reference.md §2).
  baseConfig: { attention: 'relu' },
  mhim: { version: 'v2' },
};

export function createMhim(c: MhimModelConfig): MhimModel {
  const seed = c.seed ?? 0;
  return new MhimModel(
    (role) =>
      createModel(c.base, {
        ...c.baseConfig,
        inputDim: c.inputDim,
        numClasses: c.numClasses,
        seed: role === 'teacher' ? seed + 1 : seed,
      }),
    { ...c.mhim, seed: c.mhim.seed ?? seed },
    { base: c.base, baseConfig: c.baseConfig },
  );
}

declare module '../models/registry' {
  interface ModelConfigMap {
    mhim: MhimModelConfig;
  }
}

registerModel({
  name: 'mhim',
  description:
    'MHIM-MIL: masked hard instance mining with a momentum teacher around any attention model (v1, v2 with the Global Recycle Network)',
  paper:
    'Tang et al., Multiple Instance Learning Framework with Masked Hard Instance Mining for Gigapixel Histopathology Image Analysis, ICCV 2023 / IJCV 2025',
  defaults: MHIM_MODEL_DEFAULTS,
  create: (c) => createMhim(c),
});
