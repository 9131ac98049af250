/**
 * Models by name, from the one table (table.ts): `createModel(name, partialConfig)` fills in the
 * published defaults, rejects unknown options (a typo must not silently train a different model)
 * and builds the model; `listModels()` describes every entry. The config type of each name comes
 * from its table entry, so `createModel('abmil', { gated: true })` is checked against `AbmilConfig`.
 */
import { didYouMean } from '../didYouMean';
import type { BaseModelConfig, InstanceEncoder, MilModel, StagedMilModel } from '../models/types';
import { MODELS, type ModelBuilder, type ModelEntry, type PublishedResults } from './table';
import { validateModelConfig } from './validate';

export { MODELS, type ModelBuilder, type ModelEntry, type PublishedResults } from './table';

export type ModelName = keyof typeof MODELS;
/** The config type of a table entry. */
export type ModelConfigOf<K extends ModelName> = (typeof MODELS)[K] extends ModelEntry<infer C, infer _M> ? C : never;
/** The model class a table entry builds (`MhimModel` for 'mhim', `MilModel<Config>` otherwise). */
export type ModelOf<K extends ModelName> = ReturnType<(typeof MODELS)[K]['create']>;
/** name → config type, for every model in the table. */
export type ModelConfigMap = { [K in ModelName]: ModelConfigOf<K> };

export interface ModelInfo {
  name: string;
  description: string;
  paper: string;
  level?: 'instance' | 'bag';
  published?: PublishedResults;
  defaults: Readonly<BaseModelConfig & Record<string, unknown>>;
}

const table = MODELS as unknown as Record<string, ModelEntry<BaseModelConfig, MilModel>>;

export function listModels(): ModelInfo[] {
  return Object.entries(table).map(([name, { description, paper, level, published, defaults }]) => ({
    name,
    description,
    paper,
    ...(level ? { level } : {}),
    ...(published ? { published } : {}),
    defaults: defaults as ModelInfo['defaults'],
  }));
}

/** The table entry of a model (with its name); unknown names throw with the known names and a suggestion. */
export function modelSpec(name: string): ModelEntry<BaseModelConfig, MilModel> & { name: string } {
  const spec = Object.hasOwn(table, name) ? table[name] : undefined;
  if (spec) return { name, ...spec };
  const known = Object.keys(table);
  throw new Error(`unknown model "${name}"${didYouMean(name, known)}. Fix: use a known model: ${known.join(', ')}`);
}

const builder = {
  create: (name: string, config: Record<string, unknown>, encoder?: InstanceEncoder) =>
    createModel(name, config, encoder),
} as ModelBuilder;

/** Builds a model by name; `config` overrides the published defaults. */
export function createModel<K extends ModelName>(
  name: K,
  config: Partial<ModelConfigOf<K>>,
  encoder: InstanceEncoder,
): StagedMilModel<ModelConfigOf<K>>;
export function createModel<K extends ModelName>(name: K, config?: Partial<ModelConfigOf<K>>): ModelOf<K>;
export function createModel(
  name: string,
  config?: Partial<BaseModelConfig> & Record<string, unknown>,
  encoder?: InstanceEncoder,
): MilModel;
/**
 * With `encoder` (torchmil's `feat_ext`), a staged model embeds the encoder's features with its
 * projection; `config.inputDim` is then the encoder's output width.
 */
export function createModel(name: string, config: Record<string, unknown> = {}, encoder?: InstanceEncoder): MilModel {
  const spec = modelSpec(name);
  if (encoder && !spec.staged) {
    const staged = Object.keys(table).filter((n) => table[n].staged);
    throw new Error(
      `model "${name}" is not built in stages, so it takes no instance encoder; staged models: ${staged.join(', ')}`,
    );
  }
  const allowed = [...Object.keys(spec.defaults), ...(spec.optional ?? [])];
  for (const key of Object.keys(config)) {
    if (!allowed.includes(key))
      throw new Error(
        `unknown option "${key}" for model "${name}"${didYouMean(key, allowed)}. ` +
          `Fix: use the model's options: ${allowed.join(', ')}`,
      );
  }
  validateModelConfig(name, spec.defaults as unknown as Record<string, unknown>, config);
  const full = { ...spec.defaults, ...stripUndefined(config) } as BaseModelConfig;
  for (const key of ['inputDim', 'numClasses'] as const) {
    if (!Number.isInteger(full[key]) || full[key] < 1)
      throw new Error(`model "${name}": ${key} must be a positive integer, got ${full[key]}`);
  }
  return spec.create(full, builder, encoder);
}

function stripUndefined(o: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined));
}
