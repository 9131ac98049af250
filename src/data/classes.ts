/**
 * Class labels: the names in `milkit.classes` and the rule every label set follows, so that a
 * stray label (a 5 among 0s and 1s) can never silently turn a binary cohort into a 6-class one.
 *   - with class names: every label is an index into them (gaps allowed: the names say C);
 *   - without: labels within {0, 1} (binary, one class may be absent), or exactly 0..max.
 */
import { MilkitDataError } from './errors';

export const CLASSES_KEY = 'milkit.classes';

/** The class names of `milkit.classes` (a JSON array of strings), or undefined. */
export function parseClasses(value: string | undefined, file?: string): string[] | undefined {
  if (value === undefined) return undefined;
  let names: unknown;
  try {
    names = JSON.parse(value);
  } catch {
    names = undefined;
  }
  if (!Array.isArray(names) || names.length === 0 || !names.every((n) => typeof n === 'string' && n !== ''))
    throw new MilkitDataError(
      `schema metadata ${CLASSES_KEY} must be a JSON array of class names, got ${JSON.stringify(value).slice(0, 80)}`,
      { file, field: CLASSES_KEY },
      `write e.g. ["normal","tumor"] (index = label)`,
    );
  if (new Set(names).size !== names.length)
    throw new MilkitDataError(
      `schema metadata ${CLASSES_KEY} names a class twice`,
      { file, field: CLASSES_KEY },
      'give each class once',
    );
  return names as string[];
}

/** Checks a cohort's class labels against its class names (see the rules above). */
export function checkLabelSet(
  bags: readonly { id: string; label?: number | null }[],
  classes: readonly string[] | undefined,
  file?: string,
): void {
  const labelled = bags.filter((b) => b.label !== undefined && b.label !== null) as { id: string; label: number }[];
  if (classes) {
    const bad = labelled.find((b) => b.label >= classes.length);
    if (bad)
      throw new MilkitDataError(
        `label ${bad.label}, but ${CLASSES_KEY} names ${classes.length} ` +
          `classes (${classes.join(', ')}), labels 0..${classes.length - 1}`,
        { file, bag: bad.id, field: 'label' },
        `correct the label, or name every class in ${CLASSES_KEY} (milkit convert ... --classes)`,
      );
    return;
  }
  const present = new Set(labelled.map((b) => b.label));
  const max = Math.max(-1, ...present);
  if (max <= 1) return;
  const missing = Array.from({ length: max + 1 }, (_, c) => c).filter((c) => !present.has(c));
  if (missing.length === 0) return;
  const first = labelled.find((b) => b.label === max)!;
  throw new MilkitDataError(
    `labels go up to ${max} but no bag has label ${missing.join(', ')}: ` +
      `this would make a ${max + 1}-class model with empty classes`,
    { file, bag: first.id, field: 'label' },
    `correct the stray label, or if all ${max + 1} classes are real, name them (milkit ` +
      `convert ... --classes ${Array.from({ length: max + 1 }, (_, c) => `c${c}`).join(',')})`,
  );
}

/**
 * Label cells → class indices. With `classes` (e.g. from --classes), names map to their position and
 * integers must be < classes.length; otherwise integer labels stay and names map to 0..C-1 in sorted
 * order (recorded as the class names).
 */
export function labelCoding(
  values: readonly string[],
  classes: readonly string[] | undefined,
  where: { file: string; field: string },
): { code: (value: string, bag: string) => number; classes?: string[] } {
  const distinct = [...new Set(values)];
  // pandas writes integer labels of a float column as 1.0
  const integers = distinct.every((v) => /^\d+(\.0*)?$/.test(v));
  if (classes) {
    return {
      classes: [...classes],
      code: (v, bag) => {
        const i = integers ? Number(v) : classes.indexOf(v);
        if (i < 0 || i >= classes.length)
          throw new MilkitDataError(
            `label "${v}" is not one of the classes ${classes.join(', ')}`,
            { ...where, bag },
            'correct the label or add the class to --classes',
          );
        return i;
      },
    };
  }
  if (integers) return { code: Number };
  const names = distinct.sort();
  return { code: (v) => names.indexOf(v), classes: names };
}
