/**
 * A bag in memory, and the checks every bag passes on its way into or out of a cohort file.
 */
import { MilkitDataError } from './errors';
import { firstNonFinite } from './format';

/** Bag-level fields (one row of the bag table). */
export interface BagInfo {
  id: string;
  /** Class label (0..C-1); undefined for a survival-only cohort. */
  label?: number;
  /** Survival: follow-up time and whether the event was observed (1) or censored (0). */
  time?: number;
  event?: number;
  /** Patient the bag belongs to (splits never separate a patient's bags); defaults to the bag id. */
  patientId: string;
  numInstances: number;
  /** Free metadata (bag-table columns named `meta_*`, stored without the prefix). */
  meta: Record<string, string | number | null>;
}

/** One bag with its instances. */
export interface Bag extends BagInfo {
  /** Position of the bag in its cohort. */
  index: number;
  /** Instance features, row-major `[numInstances × dim]`. Treat as read-only (it may share the file buffer). */
  features: Float32Array;
  dim: number;
  /** Patch coordinates interleaved `[x0, y0, x1, y1, ...]`, when the cohort has them. */
  coords?: Int32Array;
  /** Instance labels (e.g. tumour / not tumour), when known; evaluation only, never used to train. */
  instanceLabels?: Int32Array;
}

/** The data needed to write one bag. */
export interface BagRecord {
  id: string;
  features: Float32Array;
  coords?: Int32Array;
  instanceLabels?: Int32Array | number[];
  label?: number;
  time?: number;
  event?: number;
  patientId?: string;
  meta?: Record<string, string | number | null>;
}

/** Checks one bag's instances: non-empty, width `dim`, finite values, matching coordinate and label lengths. */
export function validateInstances(
  bag: { id: string; features: Float32Array; coords?: Int32Array; instanceLabels?: ArrayLike<number> },
  dim: number,
  file?: string,
): number {
  const where = { file, bag: bag.id };
  if (bag.features.length === 0)
    throw new MilkitDataError(
      'bag has 0 instances (empty bags cannot be pooled)',
      { ...where, field: 'features' },
      'drop the bag or give it instances',
    );
  if (bag.features.length % dim !== 0) {
    throw new MilkitDataError(
      `feature width differs from the cohort's ${dim}: ${bag.features.length} values is not a multiple of ${dim}`,
      { ...where, field: 'features' },
      'give every instance the same number of features',
    );
  }
  const n = bag.features.length / dim;
  const bad = firstNonFinite(bag.features);
  if (bad >= 0) {
    throw new MilkitDataError(
      `non-finite feature value ${bag.features[bad]} at instance ${Math.floor(bad / dim)}, dimension ${bad % dim}`,
      { ...where, field: 'features' },
      're-extract the features of this bag, or drop the instance',
    );
  }
  if (bag.coords && bag.coords.length !== 2 * n) {
    throw new MilkitDataError(
      `has ${bag.coords.length / 2} coordinate pairs for ${n} instances`,
      { ...where, field: 'x/y' },
      'give one (x, y) pair per instance',
    );
  }
  if (bag.instanceLabels && bag.instanceLabels.length !== n) {
    throw new MilkitDataError(
      `has ${bag.instanceLabels.length} instance labels for ${n} instances`,
      { ...where, field: 'instance_label' },
      'give one label per instance (-1 or empty = unknown)',
    );
  }
  const labels = bag.instanceLabels ?? [];
  for (let i = 0; i < labels.length; i++) {
    const l = labels[i];
    if (!Number.isInteger(l) || l < -1 || l >= 2 ** 31)
      throw new MilkitDataError(
        `instance ${i} has label ${l}; instance labels are whole numbers ≥ 0 (-1 = unknown)`,
        { ...where, field: 'instance_label' },
        'correct the instance label',
      );
  }
  return n;
}

/** Checks a bag's label fields: a class label and/or a survival (time, event) pair. */
export function validateBagLabels(
  bag: { id: string; label?: number | null; time?: number | null; event?: number | null },
  file?: string,
): void {
  const where = { file, bag: bag.id };
  const hasLabel = bag.label !== undefined && bag.label !== null;
  const hasSurv = bag.time !== undefined && bag.time !== null;
  if (!hasLabel && !hasSurv)
    throw new MilkitDataError(
      'missing label (no class label and no survival time)',
      { ...where, field: 'label' },
      'give every bag a class label (0, 1, ...) or a survival time and event',
    );
  if (hasLabel && !(Number.isInteger(bag.label) && (bag.label as number) >= 0)) {
    throw new MilkitDataError(
      `label must be a non-negative integer class index, got ${bag.label}`,
      { ...where, field: 'label' },
      'write class indices 0, 1, ... (or class names with convert h5/arrow --labels)',
    );
  }
  if (hasSurv) {
    if (!Number.isFinite(bag.time) || (bag.time as number) < 0)
      throw new MilkitDataError(
        `survival time must be finite and ≥ 0, got ${bag.time}`,
        { ...where, field: 'time' },
        'correct the follow-up time',
      );
    if (bag.event !== 0 && bag.event !== 1)
      throw new MilkitDataError(
        `event must be 0 (censored) or 1 (observed), got ${bag.event}`,
        { ...where, field: 'event' },
        'write 1 for an observed event, 0 for censored',
      );
  }
}
