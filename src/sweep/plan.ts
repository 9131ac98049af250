/**
 * Sweep plans: what a user writes (YAML or JSON) and its checked, resolved form.
 *
 * ```yaml
 * cohort: musk1.arrow          # relative to the plan file
 * folds: 5                     # or  splits: musk1.splits.json  (+ repeats: R)
 * seeds: [1, 2]
 * epochs: 20                   # trainer options (any TrainConfig field but seed) for every config
 * standardize: true
 * grid: { lr: [5e-4, 1e-3] }   # a product over trainer options and `config.<option>`
 * models:
 *   - model: abmil
 *     config: { embedDim: 64, dropout: 0 }
 *     grid: { config.gated: [false, true] }
 *   - { model: abmil, mhim: v2, name: mhim-abmil }
 * ```
 * A study over several data sets lists them under `cohorts` instead of `cohort`; each entry may set
 * its own splits, seeds and trainer options (over the plan's, under a model entry's), and a model
 * entry may run on some of them only:
 *
 * ```yaml
 * cohorts:
 *   - { path: musk1.arrow, splits: musk1.splits.json, standardize: true }
 *   - { path: mnist-1.arrow, name: mnist-bags, splits: mnist-1.splits.json, seeds: [2021] }
 *   - { path: mnist-2.arrow, name: mnist-bags, splits: mnist-2.splits.json, seeds: [2022] }
 * models:
 *   - { model: abmil }
 *   - { model: image-mil, cohorts: [mnist-bags] }
 * ```
 * Entries with the same `name` are repetitions of one data set (fresh draws): the collected table
 * has one row per name × configuration.
 *
 * Every field is checked before anything runs, and every problem is reported at once, each naming
 * its field (`models[1].model: unknown model "abmill" (did you mean "abmil"?)`).
 */
import * as fs from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { closest } from '../didYouMean';
import { MHIM_BASE_VARIANTS } from '../mhim/config';
import type { TrainConfig } from '../train/config';
import { type PlanCohort, type ResolvedCohort, SPLIT_KEYS, entryCohorts, resolveCohorts } from './cohorts';
import { TRAIN_KEYS, isObject, show, trainOptionProblem, trainOptions, unknownKey } from './fields';

export type { PlanCohort, ResolvedCohort } from './cohorts';

/** One entry of `models`: a registered model, optionally inside MHIM, with its options and grid. */
export interface PlanModel {
  model: string;
  /** Label in the tables (default: the model name and its grid values). */
  name?: string;
  /** Wrap the model in MHIM-MIL (v1, or v2 with the Global Recycle Network). */
  mhim?: 'v1' | 'v2';
  /** The model's own options. */
  config?: Record<string, unknown>;
  /** Grid over trainer options (`lr`) and model options (`config.embedDim`): every combination. */
  grid?: Record<string, unknown[]>;
  /** Names of the plan's cohorts this entry runs on (default: all). */
  cohorts?: string[];
  /** Trainer options for this entry only. */
  [trainOption: string]: unknown;
}

/** A sweep plan as written. Trainer options (`epochs`, `lr`, `standardize`, ...) sit at the top level. */
export interface SweepPlan {
  /** `train` (the default); an `embed` plan is an EmbedPlan (embedUnit.ts). */
  kind?: 'train';
  name?: string;
  /** The cohort file; or `cohorts`, a list of them. */
  cohort?: string;
  cohorts?: (string | PlanCohort)[];
  /** A split file (milkit's, or MUSK-style fold masks); otherwise seeded stratified k-fold. */
  splits?: string;
  folds?: number;
  repeats?: number;
  /** Move this fraction of each training fold to a validation set (as `milkit train --val-fraction`). */
  valFraction?: number;
  /** One unit per seed (default [2021]); a seed fixes the k-fold split, initialisation and bag order. */
  seeds?: number[];
  grid?: Record<string, unknown[]>;
  models: PlanModel[];
  [trainOption: string]: unknown;
}

/** One trainable configuration after grid expansion. */
export interface SweepConfig {
  /** `c0`, `c1`, ... in plan order. */
  id: string;
  label: string;
  /** A registry model choice (`mhim` wrapping the named model when asked). */
  model: { name: string; config: Record<string, unknown> };
  /** Trainer options of the model entry and its grid, over the plan's and the cohort's (the unit gives the seed). */
  train: Partial<TrainConfig>;
  /** The cohorts (names) it runs on; absent: every cohort. */
  cohorts?: string[];
  /** Where it came from in the plan, for error messages. */
  at: string;
}

/** A plan with every path absolute, every default filled in and the grids expanded. */
export interface ResolvedPlan {
  name: string;
  cohorts: ResolvedCohort[];
  /** Trainer options set at the top of the plan, for every unit. */
  train: Partial<TrainConfig>;
  configs: SweepConfig[];
}

/** The trainer options of one unit: the plan's, then its cohort's, then its configuration's. */
export function unitTrainConfig(plan: ResolvedPlan, config: SweepConfig, cohort: ResolvedCohort): Partial<TrainConfig> {
  return { ...plan.train, ...cohort.train, ...config.train };
}

/** The cohorts a configuration runs on. */
export function cohortsOf(plan: ResolvedPlan, config: SweepConfig): ResolvedCohort[] {
  return plan.cohorts.filter((k) => !config.cohorts || config.cohorts.includes(k.name));
}

/** Every problem of a plan, one line each, naming the field. */
export class SweepPlanError extends Error {
  constructor(
    readonly problems: string[],
    readonly file?: string,
  ) {
    super(
      `${file ? `plan ${file}` : 'sweep plan'}: ` +
        `${problems.length === 1 ? problems[0] : `${problems.length} problems:\n  ${problems.join('\n  ')}`}`,
    );
    this.name = 'SweepPlanError';
  }
}

const PLAN_KEYS = ['kind', 'name', 'cohort', 'cohorts', ...SPLIT_KEYS, 'grid', 'models'];
const MODEL_KEYS = ['model', 'name', 'mhim', 'config', 'grid', 'cohorts'];

/** Reads a plan file (.yaml, .yml or .json; YAML is a superset of JSON). */
export function readPlan(file: string): SweepPlan {
  if (!fs.existsSync(file)) throw new SweepPlanError([`file not found`], file);
  let value: unknown;
  try {
    value = parseYaml(fs.readFileSync(file, 'utf8'), { prettyErrors: true });
  } catch (err) {
    throw new SweepPlanError([`not valid ${/\.json$/i.test(file) ? 'JSON' : 'YAML'}: ${(err as Error).message}`], file);
  }
  return value as SweepPlan;
}

/** Checks a grid and returns its axes (key, values); problems are pushed. */
function gridAxes(grid: unknown, at: string, problems: string[]): [string, unknown[]][] {
  if (grid === undefined) return [];
  if (!isObject(grid)) {
    problems.push(`${at}: must be a map from an option to a list of values`);
    return [];
  }
  const axes: [string, unknown[]][] = [];
  for (const [key, values] of Object.entries(grid)) {
    const where = `${at}.${key}`;
    if (!Array.isArray(values) || values.length === 0) {
      problems.push(`${where}: must be a non-empty list of values`);
      continue;
    }
    if (key.startsWith('config.')) {
      if (key.length === 'config.'.length) problems.push(`${where}: name the model option, e.g. config.embedDim`);
    } else if (!TRAIN_KEYS.includes(key)) {
      problems.push(
        key === 'seed' || key === 'seeds'
          ? `${where}: seeds are the plan's own axis: set "seeds" instead`
          : `${unknownKey(key, [...TRAIN_KEYS, 'config.<option>'], `${at}.`)}: ` +
              `a grid varies trainer options or config.<option>`,
      );
      continue;
    } else {
      values.forEach((v, i) => {
        const p = trainOptionProblem(key, v);
        if (p) problems.push(`${where}[${i}]: ${p}, got ${show(v)}`);
      });
    }
    axes.push([key, values]);
  }
  return axes;
}

/** Every combination of the axes' values (the first axis varies slowest). */
function product(axes: [string, unknown[]][]): [string, unknown][][] {
  return axes.reduce<[string, unknown][][]>(
    (acc, [key, values]) => acc.flatMap((combo) => values.map((v) => [...combo, [key, v] as [string, unknown]])),
    [[]],
  );
}

/**
 * Checks a plan and resolves it (paths against `baseDir`, defaults, grids expanded). `models` is the
 * list of registered model names; building each model (to check its options) is the caller's step,
 * since it needs the cohort's dimensions. Throws a SweepPlanError listing every problem.
 */
export function resolvePlan(raw: unknown, opts: { baseDir: string; models: string[]; file?: string }): ResolvedPlan {
  const problems: string[] = [];
  const fail = () => new SweepPlanError(problems, opts.file);
  if (!isObject(raw)) {
    problems.push(`must be a map with at least "cohort" and "models", got ${show(raw)}`);
    throw fail();
  }
  const plan = raw as SweepPlan;
  if (plan.kind !== undefined && plan.kind !== 'train')
    problems.push(`kind: must be train (the default) or embed, got ${show(plan.kind)}`);
  for (const key of Object.keys(plan))
    if (!PLAN_KEYS.includes(key) && !TRAIN_KEYS.includes(key))
      problems.push(unknownKey(key, [...PLAN_KEYS, ...TRAIN_KEYS], ''));

  if (plan.name !== undefined && (typeof plan.name !== 'string' || !/^[\w.-]+$/.test(plan.name)))
    problems.push(`name: letters, digits, "-", "_" and "." only, got ${show(plan.name)}`);
  const cohorts = resolveCohorts(plan, opts.baseDir, problems);

  const shared = trainOptions(plan, '', problems);
  const sharedAxes = gridAxes(plan.grid, 'grid', problems);

  const configs: SweepConfig[] = [];
  if (!Array.isArray(plan.models) || plan.models.length === 0)
    problems.push('models: missing: a list of model entries, e.g. models: [{ model: abmil }]');
  else
    plan.models.forEach((entry, m) => {
      const at = `models[${m}]`;
      if (!isObject(entry)) {
        problems.push(`${at}: must be a map like { model: abmil }, got ${show(entry)}`);
        return;
      }
      for (const key of Object.keys(entry))
        if (!MODEL_KEYS.includes(key) && !TRAIN_KEYS.includes(key))
          problems.push(unknownKey(key, [...MODEL_KEYS, ...TRAIN_KEYS], `${at}.`));
      if (typeof entry.model !== 'string') problems.push(`${at}.model: missing: a registered model name`);
      else if (!opts.models.includes(entry.model)) {
        const hint = closest(entry.model, opts.models);
        problems.push(
          `${at}.model: unknown model ` +
            `"${entry.model}"${hint ? ` (did you mean "${hint}"?)` : ''}; see milkit info --models`,
        );
      }
      if (entry.mhim !== undefined && entry.mhim !== 'v1' && entry.mhim !== 'v2')
        problems.push(`${at}.mhim: must be v1 or v2, got ${show(entry.mhim)}`);
      if (entry.config !== undefined && !isObject(entry.config))
        problems.push(`${at}.config: must be a map of model options, got ${show(entry.config)}`);
      if (entry.name !== undefined && (typeof entry.name !== 'string' || !entry.name))
        problems.push(`${at}.name: must be a non-empty label`);
      const on = entryCohorts(entry.cohorts, cohorts, `${at}.cohorts`, problems);
      const own = trainOptions(entry, `${at}.`, problems);
      const axes = [...sharedAxes, ...gridAxes(entry.grid, `${at}.grid`, problems)];
      for (const combo of product(axes)) {
        const config: Record<string, unknown> = { ...((entry.config as Record<string, unknown>) ?? {}) };
        const train: Record<string, unknown> = { ...own };
        for (const [key, v] of combo) {
          if (key.startsWith('config.')) config[key.slice(7)] = v;
          else train[key] = v;
        }
        const base = entry.mhim ? `mhim-${entry.mhim}(${entry.model})` : String(entry.model);
        const suffix = combo.map(([k, v]) => `${k.replace(/^config\./, '')}=${show(v)}`).join(' ');
        const label = [entry.name ?? base, suffix].filter(Boolean).join(' ');
        configs.push({
          id: `c${configs.length}`,
          label,
          model: entry.mhim
            ? // MHIM's own variant of the base (AB-MIL: ReLU attention), as `milkit train --mhim`.
              {
                name: 'mhim',
                config: {
                  base: entry.model,
                  baseConfig: { ...MHIM_BASE_VARIANTS[entry.model as string], ...config },
                  mhim: { version: entry.mhim },
                },
              }
            : { name: String(entry.model), config },
          train: train as Partial<TrainConfig>,
          ...(on ? { cohorts: on } : {}),
          at: combo.length ? `${at} (${suffix})` : at,
        });
      }
    });
  const seen = new Map<string, string>();
  for (const c of configs) {
    const key = JSON.stringify([c.model, c.train, c.cohorts]);
    if (seen.has(key)) problems.push(`${c.at}: the same model and settings as ${seen.get(key)}`);
    else seen.set(key, c.at);
    if (configs.filter((o) => o.label === c.label).length > 1 && !problems.some((p) => p.includes(`"${c.label}"`)))
      problems.push(`${c.at}: label "${c.label}" is used twice; give the entries distinct "name"s`);
  }
  if (problems.length) throw fail();
  return { name: plan.name ?? cohorts[0].name, cohorts, train: shared, configs };
}
