/**
 * MHIM as a trainer model choice: `new Trainer({ model: mhimModel({ name: 'abmil' }, 'v2') })` trains
 * MHIM-v2(AB-MIL) through the trainer's `trainStep` path (the CLI's `--mhim v2`).
 */
import type { MilModel } from '../models/types';
import type { MhimOverrides } from './config';
import { MhimModel } from './mhim';

export interface BaseModelChoice {
  /** Registered model name ('abmil', 'transmil', 'dsmil', ...). */
  name: string;
  /** The model's own typed options. */
  config?: Record<string, unknown>;
}

/** What the trainer passes to a model builder for each fold. */
export interface FoldModelInit {
  inputDim: number;
  numClasses: number;
  seed: number;
}

/** A builder `(init) => MhimModel` wrapping a registered model; the teacher gets seed + 1 for independent dropout. */
export function mhimModel(base: BaseModelChoice, preset: 'v1' | 'v2' = 'v2', overrides: MhimOverrides = {}): (init: FoldModelInit) => MhimModel {
  // Lazy require: the registry loads every model file, which mhim/ must not force at import time.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { createModel } = require('../models/registry') as { createModel(name: string, config: Record<string, unknown>): MilModel };
  return (init) =>
    new MhimModel(
      (role) => createModel(base.name, { ...(base.config ?? {}), inputDim: init.inputDim, numClasses: init.numClasses, seed: role === 'teacher' ? init.seed + 1 : init.seed }),
      { ...overrides, version: preset, seed: overrides.seed ?? init.seed },
    );
}
