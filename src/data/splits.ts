/**
 * Train/test(/validation) splits of a cohort at PATIENT level (pure: no tfjs, Node or fs imports).
 *
 * A split lists bag indices (positions in the cohort). Every function here keeps all bags of one
 * patient on the same side, because bags of one patient (several slides, or re-scans) are far more
 * alike than bags of different patients: a patient on both sides inflates every test metric.
 * Stratification is by label so every fold sees about the cohort's class balance.
 * Split files: MUSK1's fold masks and milkit's own JSON (docs/FORMAT.md, "Split files").
 */
import { MilkitDataError } from './errors';
import { Rng } from '../random';

export interface Split {
  train: number[];
  test: number[];
  /** Validation bags carved from the training patients (early stopping, model selection). */
  val?: number[];
}

/** What a split needs to know about a bag (a `BagInfo` fits). */
export interface SplitBag {
  id?: string;
  label?: number;
  /** Survival cohorts stratify by event when there is no class label. */
  event?: number;
  patientId: string;
}

export interface KFoldOptions {
  /** Number of folds (≥ 2). */
  k: number;
  /** Seed of the patient shuffle (default 0). */
  seed?: number;
  /** Fraction of each fold's training patients moved to a validation set (0 = none, default). */
  valFraction?: number;
}

export interface RepeatedKFoldOptions extends KFoldOptions {
  /** Repetitions, each with its own shuffle (seed + repetition). */
  repeats: number;
}

interface Patient {
  id: string;
  bags: number[];
  stratum: number;
}

/** Groups bags by patient; a patient's stratum is its highest label (MIL: positive if any bag is). */
function patientsOf(bags: readonly SplitBag[], indices?: readonly number[]): Patient[] {
  const byId = new Map<string, Patient>();
  for (const i of indices ?? bags.keys()) {
    const b = bags[i];
    const stratum = b.label ?? b.event ?? 0;
    const p = byId.get(b.patientId);
    if (p) {
      p.bags.push(i);
      p.stratum = Math.max(p.stratum, stratum);
    } else {
      byId.set(b.patientId, { id: b.patientId, bags: [i], stratum });
    }
  }
  return [...byId.values()];
}

function strata(patients: Patient[]): Patient[][] {
  const groups = new Map<number, Patient[]>();
  for (const p of patients) {
    const g = groups.get(p.stratum);
    if (g) g.push(p);
    else groups.set(p.stratum, [p]);
  }
  return [...groups.keys()].sort((a, b) => a - b).map((s) => groups.get(s)!);
}

/**
 * Assigns patients to `k` groups, balancing each stratum's bag count per group and then the
 * total. Patients are shuffled first, then placed largest-first (stable for equal sizes) into the
 * group that has the fewest bags of that stratum (ties: fewest bags overall, then lowest index).
 */
function assignGroups(patients: Patient[], k: number, rng: Rng): number[][] {
  const groups: number[][] = Array.from({ length: k }, () => []);
  const total = new Array<number>(k).fill(0);
  for (const stratum of strata(patients)) {
    const order = rng.shuffle([...stratum]).sort((a, b) => b.bags.length - a.bags.length);
    const inStratum = new Array<number>(k).fill(0);
    for (const p of order) {
      let best = 0;
      for (let g = 1; g < k; g++) {
        if (inStratum[g] < inStratum[best] || (inStratum[g] === inStratum[best] && total[g] < total[best])) best = g;
      }
      groups[best].push(...p.bags);
      inStratum[best] += p.bags.length;
      total[best] += p.bags.length;
    }
  }
  return groups.map((g) => g.sort((a, b) => a - b));
}

/** Moves a stratified `fraction` of the patients in `train` to a validation set. */
export function carveValidation(
  bags: readonly SplitBag[],
  train: readonly number[],
  fraction: number,
  seed = 0,
): { train: number[]; val: number[] } {
  if (!(fraction > 0 && fraction < 1)) throw new RangeError(`validation fraction must be in (0, 1), got ${fraction}`);
  const rng = new Rng(seed);
  const patients = patientsOf(bags, train);
  const val: number[] = [];
  for (const stratum of strata(patients)) {
    const take = Math.round(fraction * stratum.length);
    for (const p of rng.shuffle([...stratum]).slice(0, take)) val.push(...p.bags);
  }
  if (val.length === 0 && patients.length >= 2) val.push(...rng.shuffle([...patients])[0].bags);
  const inVal = new Set(val);
  return { train: train.filter((i) => !inVal.has(i)).sort((a, b) => a - b), val: val.sort((a, b) => a - b) };
}

/** Stratified k-fold cross-validation at patient level: fold f tests group f and trains on the rest. */
export function stratifiedKFold(bags: readonly SplitBag[], opts: KFoldOptions): Split[] {
  const { k, seed = 0, valFraction = 0 } = opts;
  const patients = patientsOf(bags);
  if (!Number.isInteger(k) || k < 2) throw new RangeError(`k-fold needs k ≥ 2, got ${k}`);
  if (k > patients.length)
    throw new MilkitDataError(
      `${k} folds need at least ${k} patients, the cohort has ${patients.length} patients`,
      { field: 'patient_id' },
      `use at most ${patients.length} folds (--folds ${patients.length})`,
    );
  const rng = new Rng(seed);
  const groups = assignGroups(patients, k, rng);
  return groups.map((test, f) => {
    const train = groups
      .filter((_, g) => g !== f)
      .flat()
      .sort((a, b) => a - b);
    const split: Split = { train, test };
    if (valFraction > 0) Object.assign(split, carveValidation(bags, train, valFraction, seed * 1000 + f + 1));
    return split;
  });
}

/** `repeats` independent stratified k-folds; `result[rep][fold]`. */
export function repeatedKFold(bags: readonly SplitBag[], opts: RepeatedKFoldOptions): Split[][] {
  const { repeats, seed = 0 } = opts;
  if (!Number.isInteger(repeats) || repeats < 1) throw new RangeError(`repeats must be ≥ 1, got ${repeats}`);
  return Array.from({ length: repeats }, (_, r) => stratifiedKFold(bags, { ...opts, seed: seed + r }));
}

/**
 * Checks a split against its cohort: indices in range, no bag twice, and no patient on two sides.
 * Throws a MilkitDataError naming the bag or patient.
 */
export function checkSplit(split: Split, bags: readonly SplitBag[], where = 'split'): void {
  const fix = 'give every bag to one side only, with all bags of a patient on the same side';
  // An empty side is found before any training: a fold without test bags has no metrics to report.
  for (const name of ['train', 'test'] as const)
    if (!Array.isArray(split[name]) || split[name].length === 0)
      throw new MilkitDataError(
        `${where}: the ${name} set is empty`,
        { field: name },
        name === 'test'
          ? 'every fold needs test bags: use fewer folds, or list test bags for this fold in the split file'
          : 'every fold needs training bags: list them in the split file',
      );
  const side = new Map<number, string>();
  const patientSide = new Map<string, string>();
  for (const name of ['train', 'val', 'test'] as const) {
    for (const i of split[name] ?? []) {
      if (!Number.isInteger(i) || i < 0 || i >= bags.length)
        throw new MilkitDataError(
          `${where}: bag index ${i} out of range 0..${bags.length - 1}`,
          { field: name },
          'the split file was written for another cohort: make one for this cohort (milkit splits)',
        );
      const bag = bags[i];
      const label = bag.id ?? String(i);
      if (side.has(i))
        throw new MilkitDataError(
          `${where}: bag is listed in both ${side.get(i)} and ${name}`,
          { bag: label, field: name },
          fix,
        );
      side.set(i, name);
      const other = patientSide.get(bag.patientId);
      if (other !== undefined && other !== name) {
        throw new MilkitDataError(
          `${where}: patient "${bag.patientId}" has bags in both ${other} and ${name} (patient leak)`,
          { bag: label, field: 'patient_id' },
          fix,
        );
      }
      patientSide.set(bag.patientId, name);
    }
  }
}

/** MUSK1-style fold masks: `folds[rep][fold][bagIndex] = 1` if the bag is in the TRAINING set. */
export function splitsFromFoldMasks(folds: unknown, numBags: number, file?: string): Split[][] {
  const bad = (msg: string) =>
    new MilkitDataError(msg, { file, field: 'folds' }, 'write one 0/1 mask per bag of this cohort for every fold');
  if (!Array.isArray(folds) || folds.length === 0)
    throw bad('expected folds[rep][fold][bag] = 0/1 (a non-empty array of repetitions)');
  return folds.map((rep, r) => {
    if (!Array.isArray(rep) || rep.length < 2) throw bad(`repetition ${r} must list at least 2 folds`);
    return rep.map((mask, f) => {
      if (!Array.isArray(mask) || mask.length !== numBags)
        throw bad(
          `fold [${r}][${f}] has ${Array.isArray(mask) ? mask.length : 'no'} entries, the cohort has ${numBags} bags`,
        );
      const split: Split = { train: [], test: [] };
      mask.forEach((v, i) => {
        if (v !== 0 && v !== 1) throw bad(`fold [${r}][${f}] bag ${i}: expected 0 or 1, got ${JSON.stringify(v)}`);
        (v === 1 ? split.train : split.test).push(i);
      });
      return split;
    });
  });
}

const SPLIT_FILE_FIX =
  'write {"format": "milkit-splits", "version": 1, "splits": ' +
  '[[{"train": [ids], "test": [ids]}]]} (milkit splits writes one)';

/** Name of milkit's own split-file format (`format` key). */
export const SPLITS_FORMAT = 'milkit-splits';

/** milkit's split file: bag ids, so it survives re-ordering or re-building the cohort. */
export interface SplitFile {
  format: typeof SPLITS_FORMAT;
  version: 1;
  description?: string;
  /** `splits[rep][fold]`. */
  splits: { train: string[]; test: string[]; val?: string[] }[][];
}

/** Serialisable split file (bag ids) from index splits. */
export function toSplitFile(splits: Split[][], bagIds: readonly string[], description?: string): SplitFile {
  const ids = (idx: number[]) => idx.map((i) => bagIds[i]);
  return {
    format: SPLITS_FORMAT,
    version: 1,
    ...(description ? { description } : {}),
    splits: splits.map((rep) =>
      rep.map((s) => ({ train: ids(s.train), test: ids(s.test), ...(s.val ? { val: ids(s.val) } : {}) })),
    ),
  };
}

/**
 * Reads a parsed split file of either format (milkit's bag-id file, or MUSK1-style `folds` masks
 * over the cohort's bag order), then checks every split for range, duplicates and patient leaks.
 */
export function parseSplitFile(json: unknown, bags: readonly SplitBag[], file?: string): Split[][] {
  const obj = json as Partial<SplitFile> & { folds?: unknown };
  let splits: Split[][];
  if (obj && typeof obj === 'object' && 'folds' in obj) {
    splits = splitsFromFoldMasks(obj.folds, bags.length, file);
  } else if (obj && typeof obj === 'object' && obj.format === SPLITS_FORMAT) {
    if (obj.version !== undefined && obj.version !== 1)
      throw new MilkitDataError(
        `split file format version ${JSON.stringify(obj.version)}; this milkit reads version 1`,
        { file, field: 'version' },
        'upgrade milkit, or write the split file again with this one (milkit splits)',
      );
    if (!Array.isArray(obj.splits) || obj.splits.length === 0)
      throw new MilkitDataError(
        '"splits" must be a non-empty array splits[rep][fold]',
        { file, field: 'splits' },
        SPLIT_FILE_FIX,
      );
    const index = new Map(bags.map((b, i) => [b.id ?? String(i), i]));
    const toIndex = (ids: unknown, where: string): number[] => {
      if (!Array.isArray(ids))
        throw new MilkitDataError(`${where} must be an array of bag ids`, { file, field: where }, SPLIT_FILE_FIX);
      return ids.map((id) => {
        const i = index.get(String(id));
        if (i === undefined)
          throw new MilkitDataError(
            `${where} names a bag that is not in the cohort`,
            { file, bag: String(id), field: where },
            'use bag ids of this cohort (milkit inspect lists them), or write the split file for it with milkit splits',
          );
        return i;
      });
    };
    splits = obj.splits.map((rep, r) => {
      if (!Array.isArray(rep))
        throw new MilkitDataError(`splits[${r}] must be an array of folds`, { file, field: 'splits' }, SPLIT_FILE_FIX);
      return rep.map((s, f) => {
        const at = `splits[${r}][${f}]`;
        const split: Split = { train: toIndex(s?.train, `${at}.train`), test: toIndex(s?.test, `${at}.test`) };
        if (s?.val !== undefined) split.val = toIndex(s.val, `${at}.val`);
        return split;
      });
    });
  } else {
    throw new MilkitDataError(
      `unknown split-file format: expected {"format": "${SPLITS_FORMAT}", "splits": ...} or MUSK-style {"folds": ...}`,
      { file },
      SPLIT_FILE_FIX,
    );
  }
  splits.forEach((rep, r) =>
    rep.forEach((s, f) => {
      try {
        checkSplit(s, bags, `split [${r}][${f}]`);
      } catch (err) {
        if (err instanceof MilkitDataError) throw new MilkitDataError(err.problem, { ...err.where, file }, err.fix);
        throw err;
      }
    }),
  );
  return splits;
}

/** Conventional split-file path next to a cohort: `x.arrow` → `x.splits.json`. */
export function splitFilePath(cohortPath: string): string {
  return cohortPath.replace(/(\.bags)?(\.arrow)?$/, '.splits.json');
}
