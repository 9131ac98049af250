/**
 * Models by name, from the one table (table.ts): `createModel(name, partialConfig)` fills in the
 * published defaults, rejects unknown options (a typo must not silently train a different model)
 * and builds the model; `listModels()` describes every entry. The config type of each name comes
 * from its table entry, so `createModel('abmil', { gated: true })` is checked against `AbmilConfig`.
 */
import { didYouMean } from '../didYouMean';
import type { BaseModelConfig, MilModel } from '../models/types';
import { MODELS, type ModelBuilder, type ModelEntry, type PublishedResults } from './table';

export { MODELS, type ModelBuilder, type ModelEntry, type PublishedResults } from './table';

export type ModelName = keyof typeof MODELS;
/** The config type of a table entry. */
export type ModelConfigOf<K extends ModelName> = (typeof MODELS)[K] extends ModelEntry<infer C> ? C : never;
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

const table = MODELS as unknown as Record<string, ModelEntry>;

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
export function modelSpec(name: string): ModelEntry & { name: string } {
  const spec = Object.hasOwn(table, name) ? table[name] : undefined;
  if (spec) return { name, ...spec };
  const known = Object.keys(table);
  throw new Error(`unknown model "${name}"${didYouMean(name, known)}; known models: ${known.join(', ')}`);
}

const builder: ModelBuilder = {
  create: (name, config) => createModel(name, config),
  defaults: (name) => modelSpec(name).defaults as unknown as Record<string, unknown>,
};

/** Builds a model by name; `config` overrides the published defaults. */
export function createModel<K extends ModelName>(
  name: K,
  config?: Partial<ModelConfigOf<K>>,
): MilModel<ModelConfigOf<K> & BaseModelConfig>;
export function createModel(name: string, config?: Partial<BaseModelConfig> & Record<string, unknown>): MilModel;
export function createModel(name: string, config: Record<string, unknown> = {}): MilModel {
  const spec = modelSpec(name);
  const allowed = [...Object.keys(spec.defaults), ...(spec.optional ?? [])];
  for (const key of Object.keys(config)) {
    if (!allowed.includes(key))
      throw new Error(
        `unknown option "${key}" for model "${name}"${didYouMean(key, allowed)}; options: ${allowed.join(', ')}`,
      );
  }
  const full = { ...spec.defaults, ...stripUndefined(config) } as BaseModelConfig;
  for (const key of ['inputDim', 'numClasses'] as const) {
    if (!Number.isInteger(full[key]) || full[key] < 1)
      throw new Error(`model "${name}": ${key} must be a positive integer, got ${full[key]}`);
  }
  return spec.create(full, builder);
}

function stripUndefined(o: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined));
}
