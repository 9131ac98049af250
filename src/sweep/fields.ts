/**
 * Checking the fields of a sweep plan (plan.ts) and of its cohorts (cohorts.ts): each problem is one
 * line naming its field, with the values it may take.
 */
import { closest } from '../didYouMean';
import { DEFAULT_TRAIN_CONFIG, type TrainConfig } from '../train/config';

/** Trainer options a plan may set: every TrainConfig field except the seed (the sweep's own axis). */
export const TRAIN_KEYS = [
  ...Object.keys(DEFAULT_TRAIN_CONFIG).filter((k) => k !== 'seed'),
  'monitor',
  'earlyStopping',
];
const ENUMS: Record<string, readonly string[]> = {
  schedule: ['cosine', 'constant'],
  weightDecayMode: ['l2', 'decoupled'],
  selectOn: ['val', 'last', 'test'],
};

/** The problem with trainer option `key` = `v`, or undefined when it is fine. */
export function trainOptionProblem(key: string, v: unknown): string | undefined {
  if (ENUMS[key]) return ENUMS[key].includes(v as string) ? undefined : `must be one of ${ENUMS[key].join(', ')}`;
  if (key === 'monitor') return typeof v === 'string' && v ? undefined : 'must be a metric name';
  if (key === 'earlyStopping') {
    const e = v as { patience?: unknown; minEpochs?: unknown };
    const ok = e && typeof e === 'object' && Number.isInteger(e.patience) && (e.patience as number) >= 1;
    return ok && (e.minEpochs === undefined || Number.isInteger(e.minEpochs))
      ? undefined
      : 'must be { patience: ≥ 1, minEpochs?: integer }';
  }
  const def = DEFAULT_TRAIN_CONFIG[key as keyof TrainConfig];
  if (typeof def === 'boolean') return typeof v === 'boolean' ? undefined : 'must be true or false';
  if (typeof v !== 'number' || !Number.isFinite(v)) return 'must be a number';
  const ints = ['epochs', 'accumulate', 'survivalBins', 'warmupEpochs', 'bootstrap'];
  if (ints.includes(key) && !(Number.isInteger(v) && v >= (key === 'warmupEpochs' || key === 'bootstrap' ? 0 : 1)))
    return `must be a ${key === 'warmupEpochs' || key === 'bootstrap' ? 'non-negative' : 'positive'} integer`;
  if (['lr', 'minLr'].includes(key) && !(v > 0)) return 'must be > 0';
  if (key === 'weightDecay' && v < 0) return 'must be ≥ 0';
  return undefined;
}

export const show = (v: unknown) => JSON.stringify(v) ?? String(v);
export const isObject = (v: unknown): v is Record<string, unknown> => !!v && typeof v === 'object' && !Array.isArray(v);

export function unknownKey(key: string, known: string[], at: string): string {
  const hint = closest(key, known);
  return `${at}${key}: unknown field${hint ? ` (did you mean "${hint}"?)` : ''}`;
}

/** The trainer options set on `where` (the plan, a cohort or a model entry); problems are pushed. */
export function trainOptions(where: Record<string, unknown>, at: string, problems: string[]): Partial<TrainConfig> {
  const options: Record<string, unknown> = {};
  for (const key of TRAIN_KEYS) {
    if (where[key] === undefined) continue;
    const p = trainOptionProblem(key, where[key]);
    if (p) problems.push(`${at}${key}: ${p}, got ${show(where[key])}`);
    options[key] = where[key];
  }
  return options as Partial<TrainConfig>;
}
