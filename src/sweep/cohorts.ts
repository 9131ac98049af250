/**
 * The cohorts of a sweep plan: `cohort` (one file) or `cohorts` (a list of files or entries with
 * their own splits, seeds and trainer options), checked and resolved; and the cohorts a model entry
 * names. Every problem names its field (`cohorts[1].path`, `models[3].cohorts[0]`).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { closest } from '../didYouMean';
import { DEFAULT_TRAIN_CONFIG, type TrainConfig } from '../train/config';
import { TRAIN_KEYS, isObject, show, trainOptions, unknownKey } from './fields';
import type { SweepPlan } from './plan';

/** One entry of `cohorts`: a cohort file, or a map with its own splits, seeds and trainer options. */
export interface PlanCohort {
  path: string;
  /** Its name in the table (default: the file name without `.arrow`); a shared name pools repetitions. */
  name?: string;
  splits?: string;
  folds?: number;
  repeats?: number;
  valFraction?: number;
  seeds?: number[];
  /** Trainer options on this cohort (over the plan's, under a model entry's). */
  [trainOption: string]: unknown;
}

/** One cohort of a resolved plan: its file and how its units split and train. */
export interface ResolvedCohort {
  name: string;
  path: string;
  splits?: string;
  folds: number;
  repeats?: number;
  valFraction: number;
  seeds: number[];
  /** Trainer options set on this cohort. */
  train: Partial<TrainConfig>;
}

/** What a plan and each of its cohorts may set about splitting and seeding. */
export const SPLIT_KEYS = ['splits', 'folds', 'repeats', 'valFraction', 'seeds'];
const COHORT_KEYS = ['path', 'name', ...SPLIT_KEYS];

/** How a cohort is split and seeded: set on the plan (every cohort) or on one cohort. */
interface Splitting {
  splits?: string;
  folds?: number;
  repeats?: number;
  valFraction?: number;
  seeds?: number[];
}

/** The splitting set on `where` (the plan, or one cohort entry), checked; problems name `at` + field. */
function splitting(where: Record<string, unknown>, at: string, baseDir: string, problems: string[]): Splitting {
  const out: Splitting = {};
  if (where.splits !== undefined) out.splits = existingFile(where.splits, `${at}splits`, baseDir, problems);
  for (const [key, min] of [
    ['folds', 2],
    ['repeats', 1],
  ] as const) {
    const v = where[key];
    if (v === undefined) continue;
    if (!Number.isInteger(v) || (v as number) < min)
      problems.push(`${at}${key}: must be an integer ≥ ${min}, got ${show(v)}`);
    out[key] = v as number;
  }
  if (where.splits !== undefined && where.folds !== undefined)
    problems.push(`${at}folds: the split file fixes the folds; remove "folds"`);
  const valFraction = where.valFraction;
  if (valFraction !== undefined) {
    if (typeof valFraction !== 'number' || valFraction < 0 || valFraction >= 1)
      problems.push(`${at}valFraction: must be in [0, 1), got ${show(valFraction)}`);
    out.valFraction = valFraction as number;
  }
  const seeds = where.seeds;
  if (seeds !== undefined) {
    if (!Array.isArray(seeds) || seeds.length === 0) problems.push(`${at}seeds: must be a non-empty list of integers`);
    else {
      seeds.forEach((x, i) => {
        if (!Number.isInteger(x) || x < 0)
          problems.push(`${at}seeds[${i}]: must be a non-negative integer, got ${show(x)}`);
      });
      if (new Set(seeds).size !== seeds.length) problems.push(`${at}seeds: a seed appears twice`);
    }
    out.seeds = seeds as number[];
  }
  return out;
}

/** The absolute path of file `v` (relative to `baseDir`); a missing or malformed one is a problem of `field`. */
function existingFile(v: unknown, field: string, baseDir: string, problems: string[]): string | undefined {
  if (typeof v !== 'string' || !v) {
    problems.push(`${field}: must be a file path, got ${show(v)}`);
    return undefined;
  }
  const abs = path.resolve(baseDir, v);
  if (!fs.existsSync(abs)) problems.push(`${field}: file not found: ${abs}`);
  return abs;
}

/**
 * The plan's cohorts: `cohort` (one file) or `cohorts` (a list of files or { path, ... } entries),
 * each split and seeded as it says, else as the plan says. Problems name their field (`cohorts[1].path`).
 */
export function resolveCohorts(plan: SweepPlan, baseDir: string, problems: string[]): ResolvedCohort[] {
  const shared = splitting(plan, '', baseDir, problems);
  let entries: [unknown, string][];
  if (plan.cohort !== undefined && plan.cohorts !== undefined) {
    problems.push('cohorts: give either cohort (one file) or cohorts (a list), not both');
    return [];
  } else if (plan.cohorts !== undefined) {
    if (!Array.isArray(plan.cohorts) || plan.cohorts.length === 0) {
      problems.push('cohorts: must be a non-empty list of cohort files or { path: ... } entries');
      return [];
    }
    entries = plan.cohorts.map((c, i) => [typeof c === 'string' ? { path: c } : c, `cohorts[${i}]`]);
  } else if (plan.cohort !== undefined) {
    entries = [[{ path: plan.cohort }, 'cohort']];
  } else {
    problems.push('cohort: missing (the cohort file, e.g. cohort: musk1.arrow)');
    return [];
  }
  const cohorts: ResolvedCohort[] = [];
  for (const [entry, at] of entries) {
    if (!isObject(entry)) {
      problems.push(`${at}: must be a file path or a map like { path: musk1.arrow }, got ${show(entry)}`);
      continue;
    }
    const listed = at !== 'cohort';
    if (listed)
      for (const key of Object.keys(entry))
        if (!COHORT_KEYS.includes(key) && !TRAIN_KEYS.includes(key))
          problems.push(unknownKey(key, [...COHORT_KEYS, ...TRAIN_KEYS], `${at}.`));
    const file = existingFile(entry.path, listed ? `${at}.path` : at, baseDir, problems);
    if (entry.name !== undefined && (typeof entry.name !== 'string' || !/^[\w.-]+$/.test(entry.name)))
      problems.push(`${at}.name: letters, digits, "-", "_" and "." only, got ${show(entry.name)}`);
    const own = listed ? splitting(entry, `${at}.`, baseDir, problems) : {};
    const train = listed ? trainOptions(entry, `${at}.`, problems) : {};
    if (!file) continue;
    const twin = cohorts.find((k) => k.path === file);
    if (twin) problems.push(`${at}.path: the same file as cohort "${twin.name}" before it; list each file once`);
    // A cohort's own split file replaces the plan's folds, and its own folds the plan's split file.
    const merged: Splitting = { ...shared, ...own };
    if (own.splits !== undefined) delete merged.folds;
    else if (own.folds !== undefined) delete merged.splits;
    cohorts.push({
      name: typeof entry.name === 'string' ? entry.name : path.basename(file).replace(/(\.bags)?\.arrow$/, ''),
      path: file,
      ...(merged.splits ? { splits: merged.splits } : {}),
      folds: merged.folds ?? 5,
      ...(merged.repeats !== undefined ? { repeats: merged.repeats } : {}),
      valFraction: merged.valFraction ?? 0,
      seeds: merged.seeds ?? [DEFAULT_TRAIN_CONFIG.seed],
      train,
    });
  }
  return cohorts;
}

/** The cohort names a model entry's `cohorts` lists (undefined: every cohort); problems are pushed. */
export function entryCohorts(
  v: unknown,
  cohorts: ResolvedCohort[],
  at: string,
  problems: string[],
): string[] | undefined {
  if (v === undefined) return undefined;
  const names = [...new Set(cohorts.map((k) => k.name))];
  if (!Array.isArray(v) || v.length === 0) {
    problems.push(`${at}: must be a non-empty list of cohort names (${names.join(', ')})`);
    return undefined;
  }
  v.forEach((name, i) => {
    if (typeof name === 'string' && names.includes(name)) return;
    const hint = typeof name === 'string' ? closest(name, names) : undefined;
    problems.push(
      `${at}[${i}]: unknown cohort ${show(name)}${hint ? ` (did you mean "${hint}"?)` : ''}; ` +
        `the plan's cohorts: ${names.join(', ')}`,
    );
  });
  return v as string[];
}
