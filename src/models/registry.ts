/**
 * Models by name: each model file registers itself (`registerModel`) with its complete default
 * config, a one-line description and its paper; `createModel(name, partialConfig)` fills in the
 * defaults, rejects unknown options (a typo must not silently train a different model) and builds it.
 *
 * Typing: each model file adds its config to `ModelConfigMap` by declaration merging, so
 * `createModel('abmil', { gated: true })` is checked against `AbmilConfig`.
 */
import type { BaseModelConfig, MilModel } from './types';

/** name → config type; extended by `declare module` in each model file (and by MHIM). */
// An interface (not a type) because model files extend it by declaration merging.
// eslint-disable-next-line @typescript-eslint/no-empty-object-type
export interface ModelConfigMap {}

export interface ModelSpec<C extends BaseModelConfig = BaseModelConfig> {
  name: string;
  /** One line: what the model does. */
  description: string;
  /** The paper that defines it. */
  paper: string;
  /** The complete published defaults. */
  defaults: C;
  /** Config fields without a fixed default (derived from others when absent). */
  optional?: string[];
  /** How the deep-MIL survey groups it: scores instances then pools them, or pools instance embeddings. */
  level?: 'instance' | 'bag';
  /** Published results to print beside ours in the catalogue table, with their source. */
  published?: PublishedResults;
  create(config: C): MilModel<C>;
}

export interface PublishedResults {
  /** MUSK1 accuracy, 5 × 10-fold (mean). */
  musk1Accuracy?: number;
  /** MNIST-bags test AUC with 100 training bags (Ilse et al.'s protocol). */
  mnistBags100Auc?: number;
  source: string;
}

export interface ModelInfo {
  name: string;
  description: string;
  paper: string;
  level?: 'instance' | 'bag';
  published?: PublishedResults;
  defaults: Readonly<BaseModelConfig & Record<string, unknown>>;
}

const specs = new Map<string, ModelSpec<BaseModelConfig>>();

export function registerModel<C extends BaseModelConfig>(spec: ModelSpec<C>): void {
  if (specs.has(spec.name)) throw new Error(`model "${spec.name}" is registered twice`);
  specs.set(spec.name, spec as unknown as ModelSpec<BaseModelConfig>);
}

/** The built-in model files register on first use; a lazy require avoids an import cycle. */
function loadBuiltins(): void {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  require('./builtin');
}

export function listModels(): ModelInfo[] {
  loadBuiltins();
  return [...specs.values()].map(({ name, description, paper, level, published, defaults }) => ({
    name,
    description,
    paper,
    ...(level ? { level } : {}),
    ...(published ? { published } : {}),
    defaults: defaults as ModelInfo['defaults'],
  }));
}

/** The spec of a registered model; unknown names throw with the known names and a suggestion. */
export function modelSpec(name: string): ModelSpec<BaseModelConfig> {
  loadBuiltins();
  const spec = specs.get(name);
  if (spec) return spec;
  const known = [...specs.keys()];
  const hint = closest(name, known);
  throw new Error(
    `unknown model "${name}"${hint ? ` (did you mean "${hint}"?)` : ''}; known models: ${known.join(', ')}`,
  );
}

/** Builds a model by name; `config` overrides the published defaults. */
export function createModel<K extends keyof ModelConfigMap>(
  name: K,
  config?: Partial<ModelConfigMap[K]>,
): MilModel<ModelConfigMap[K] & BaseModelConfig>;
export function createModel(name: string, config?: Partial<BaseModelConfig> & Record<string, unknown>): MilModel;
export function createModel(name: string, config: Record<string, unknown> = {}): MilModel {
  const spec = modelSpec(name);
  const allowed = [...Object.keys(spec.defaults), ...(spec.optional ?? [])];
  for (const key of Object.keys(config)) {
    if (!allowed.includes(key)) {
      const hint = closest(key, allowed);
      throw new Error(
        `unknown option "${key}" for model "${name}"${hint ? ` (did you mean "${hint}"?)` : ''}; options: ${allowed.join(', ')}`,
      );
    }
  }
  const full = { ...spec.defaults, ...stripUndefined(config) } as BaseModelConfig;
  for (const key of ['inputDim', 'numClasses'] as const) {
    if (!Number.isInteger(full[key]) || full[key] < 1)
      throw new Error(`model "${name}": ${key} must be a positive integer, got ${full[key]}`);
  }
  return spec.create(full);
}

function stripUndefined(o: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined));
}

/** The candidate within edit distance ≤ max(2, |s|/3), if any (for "did you mean"). */
function closest(s: string, candidates: string[]): string | undefined {
  let best: string | undefined;
  let bestD = Math.max(2, Math.floor(s.length / 3)) + 1;
  for (const c of candidates) {
    const d = editDistance(s.toLowerCase(), c.toLowerCase());
    if (d < bestD) [best, bestD] = [c, d];
  }
  return best;
}

function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++)
      cur[j] = Math.min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    prev = cur;
  }
  return prev[b.length];
}
