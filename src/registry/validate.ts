/**
 * Checks a model config's values before a model is built: each option has the type of its published
 * default, widths and counts are whole numbers ≥ 1, rates lie in [0, 1), weights are ≥ 0 and named
 * choices are among the ones the model implements. Without this a negative width surfaces as a tfjs
 * "Invalid typed array length" and a misspelt choice as an error deep inside a gradient.
 */
import { MilkitDataError } from '../data/errors';
import { closest } from '../didYouMean';
import { IMAGE_ENCODERS } from '../models/imageMil';
import { SELF_ATTENTION_KERNELS } from '../models/saAbmilp';

/** Options whose value is one of a few names (their types in src/models). */
const CHOICES: Record<string, readonly string[]> = {
  activation: ['relu', 'gelu'],
  attention: ['tanh', 'gated', 'relu'],
  pooling: ['mean', 'max'],
  maxOver: ['class', 'instance'],
  form: ['generalized-mean', 'autopool'],
  distill: ['MaxMinS', 'MaxS', 'AFS'],
  kernel: SELF_ATTENTION_KERNELS,
  encoder: Object.keys(IMAGE_ENCODERS),
  weightInit: ['xavier', 'torch'],
};
/** Options that count or size something: whole numbers ≥ 1. */
const COUNT = new RegExp(
  '(Dim|Dims|^k|heads|Heads|Iterations|iterations|Bins|^clusters|^confounders|pseudoBags|Samples|' +
    'regionNum|Side|Kernel|landmarks|inputDim|numClasses)$',
);
/** Probabilities and fractions: in [0, 1). */
const RATE = /(dropout|Dropout|Rate|Fraction)$/;
/** Loss weights and thresholds: ≥ 0. */
const NON_NEGATIVE = /(Weight|weight|epsilon|annealing|Threshold|maxDistance|^seed)$/;

/** Throws a MilkitDataError naming the model, the option and the fix for the first bad value. */
export function validateModelConfig(
  model: string,
  defaults: Record<string, unknown>,
  config: Record<string, unknown>,
): void {
  for (const [key, value] of Object.entries(config)) {
    if (value === undefined) continue;
    const bad = (problem: string, fix: string) => {
      throw new MilkitDataError(
        `model "${model}": ${problem}, got ${JSON.stringify(value)}`,
        { field: `modelConfig.${key}` },
        fix,
      );
    };
    const d = defaults[key];
    const expected =
      d === undefined
        ? COUNT.test(key)
          ? 'number'
          : CHOICES[key]
            ? 'string'
            : undefined
        : Array.isArray(d)
          ? 'array'
          : typeof d;
    if (expected === 'number') {
      if (typeof value !== 'number' || !Number.isFinite(value)) bad(`${key} must be a number`, `give ${key} a number`);
      const n = value as number;
      if (key === 'seed') {
        if (!Number.isInteger(n) || n < 0) bad('seed must be a whole number ≥ 0', 'give seed a whole number ≥ 0');
      } else if (COUNT.test(key)) {
        if (!Number.isInteger(n) || n < 1) bad(`${key} must be a whole number ≥ 1`, `give ${key} a whole number ≥ 1`);
      } else if (RATE.test(key)) {
        if (!(n >= 0 && n < 1)) bad(`${key} must be in [0, 1)`, `give ${key} a value from 0 up to (not including) 1`);
      } else if (NON_NEGATIVE.test(key) && n < 0) bad(`${key} must be ≥ 0`, `give ${key} a value ≥ 0`);
    } else if (expected === 'boolean') {
      if (typeof value !== 'boolean') bad(`${key} must be true or false`, `write ${key}: true or false (no quotes)`);
    } else if (expected === 'string') {
      if (typeof value !== 'string') bad(`${key} must be a string`, `write ${key} as a string in quotes`);
      const choices = CHOICES[key];
      if (choices && !choices.includes(value as string)) {
        const hint = closest(value as string, [...choices]);
        bad(
          `${key} must be one of ${choices.join(', ')}`,
          hint ? `did you mean "${hint}"?` : `use one of ${choices.join(', ')}`,
        );
      }
    } else if (expected === 'array') {
      if (!Array.isArray(value)) bad(`${key} must be a list`, `write ${key} as a JSON list, e.g. ${JSON.stringify(d)}`);
      const items = value as unknown[];
      if (
        Array.isArray(d) &&
        d.every((x) => typeof x === 'number') &&
        !items.every((x) => Number.isInteger(x) && (x as number) >= 1)
      )
        bad(`${key} must list whole numbers ≥ 1`, `write ${key} like ${JSON.stringify(d)}`);
    } else if (expected === 'object') {
      if (value === null || typeof value !== 'object' || Array.isArray(value))
        bad(`${key} must be a JSON object`, `write ${key} as {...}`);
    }
  }
}
