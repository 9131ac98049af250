/**
 * The "train" unit kind: one model configuration × one cohort × one fold × one seed, trained by the
 * Trainer.
 *
 * Planning writes each cohort's split per seed (stratified k-fold seeded by the seed, or the split
 * file; validation carved as `milkit train --val-fraction` does) and builds every configuration
 * once on each cohort it runs on, so a bad model option fails before anything is submitted. Running a unit is
 * `Trainer.fit(cohort, split, { at: { repeat, fold }, resume: true })` into the unit's folder: the
 * fold gets the seed it has in `milkit train --seed S`, and a unit killed by the scheduler resumes
 * from its last checkpoint when it runs again.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Cohort } from '../data/cohort';
import { MilkitDataError } from '../data/errors';
import { type Split, carveValidation, parseSplitFile, repeatedKFold, toSplitFile } from '../data/splits';
import { fingerprintDifferences, runFingerprint } from '../persist/fingerprint';
import { createModel } from '../registry';
import { resolveTrainConfig } from '../train/config';
import { type FoldResult, cohortFingerprint } from '../train/fold';
import { outputsOf, taskOf } from '../train/targets';
import { Trainer } from '../train/trainer';
import {
  type CohortIdentity,
  type SweepFolder,
  type TrainManifest,
  type Unit,
  writeJsonAtomic,
  unitRun,
} from './folder';
import { type ResolvedCohort, type ResolvedPlan, SweepPlanError, cohortsOf, unitTrainConfig } from './plan';

/** What a finished unit writes (`units/<id>/result.json`). */
export interface UnitResult {
  format: 'milkit-sweep-unit';
  unit: Unit;
  label: string;
  /** The name of the unit's cohort. */
  cohort: string;
  /** Test metrics of the kept weights. */
  metrics: Record<string, number>;
  bootstrap?: FoldResult['bootstrap'];
  bestEpoch: number;
  epochsRun: number;
  selection: FoldResult['selection'];
  sizes: FoldResult['sizes'];
  /** Seconds from opening the cohort to the result (the unit's own work). */
  seconds: number;
  /** When the unit's process started (start-up and scheduling overhead = the gaps around `seconds`). */
  processStartedAt: string;
  host: string;
  slurmJob?: string;
  finishedAt: string;
}

export function cohortIdentity(cohort: Cohort, name: string): CohortIdentity {
  return { name, path: cohort.path, ...cohortFingerprint(cohort) };
}

/** What differs between the cohort a sweep was planned on and `now` (the path may differ). */
function cohortChanges(then: CohortIdentity, now: CohortIdentity): string[] {
  const data = (c: CohortIdentity) => runFingerprint({ ...c, path: undefined, name: undefined });
  return fingerprintDifferences(data(then), data(now));
}

/** The splits of one seed on one cohort, as `milkit train --seed` resolves them. */
function splitsFor(plan: ResolvedCohort, cohort: Cohort, seed: number): Split[][] {
  let splits: Split[][];
  if (plan.splits) {
    splits = parseSplitFile(JSON.parse(fs.readFileSync(plan.splits, 'utf8')), cohort.bags, plan.splits);
    if (plan.repeats !== undefined) splits = splits.slice(0, plan.repeats);
  } else {
    splits = repeatedKFold(cohort.bags, { k: plan.folds, repeats: plan.repeats ?? 1, seed });
  }
  if (plan.valFraction > 0)
    splits = splits.map((rep, r) =>
      rep.map((s, k) =>
        s.val ? s : { ...s, ...carveValidation(cohort.bags, s.train, plan.valFraction, seed * 1000 + r * 100 + k) },
      ),
    );
  return splits;
}

/** Where unit files of cohort `k` go: plans of one cohort keep the short names (`c0-s1-r0-f2`). */
const cohortTag = (plan: ResolvedPlan, k: number) => (plan.cohorts.length > 1 ? `k${k}-` : '');

/**
 * Expands a resolved plan into units on its cohorts: checks every configuration by building its
 * model once on each cohort it runs on (and every trainer option), writes each cohort's split per
 * seed into the folder.
 */
export async function planTrainUnits(
  plan: ResolvedPlan,
  folder: SweepFolder,
  file?: string,
): Promise<{ units: Unit[]; cohorts: CohortIdentity[] }> {
  const identities: CohortIdentity[] = [];
  const shapes: Map<number, Split[][]>[] = [];
  const problems: string[] = [];
  for (const [k, entry] of plan.cohorts.entries()) {
    const cohort = await Cohort.open(entry.path, { cacheBytes: 0 });
    try {
      const { task } = taskOf(cohort.bags, 4, cohort.classes);
      for (const c of plan.configs.filter((c) => cohortsOf(plan, c).includes(entry))) {
        try {
          resolveTrainConfig({ ...unitTrainConfig(plan, c, entry), seed: 0 });
          createModel(c.model.name, {
            ...c.model.config,
            inputDim: cohort.dim,
            numClasses: outputsOf(task),
            seed: 0,
          }).dispose();
        } catch (err) {
          problems.push(
            `${c.at}${plan.cohorts.length > 1 ? ` on cohort "${entry.name}"` : ''}: ${(err as Error).message}`,
          );
        }
      }
      const ids = cohort.bags.map((b) => b.id);
      const shape = new Map<number, Split[][]>();
      for (const seed of entry.seeds) shape.set(seed, splitsFor(entry, cohort, seed));
      shapes.push(shape);
      identities.push(cohortIdentity(cohort, entry.name));
      if (problems.length === 0)
        for (const [seed, splits] of shape)
          writeJsonAtomic(
            folder.splitsPath(seed, cohortTag(plan, k)),
            toSplitFile(splits, ids, `sweep ${plan.name}, cohort ${entry.name}, seed ${seed}`),
          );
    } finally {
      await cohort.close();
    }
  }
  if (problems.length) throw new SweepPlanError(problems, file);
  const units: Unit[] = [];
  for (const c of plan.configs)
    plan.cohorts.forEach((entry, k) => {
      if (!cohortsOf(plan, c).includes(entry)) return;
      for (const seed of entry.seeds)
        shapes[k].get(seed)!.forEach((rep, repeat) =>
          rep.forEach((_, fold) =>
            units.push({
              index: units.length,
              id: `${c.id}-${cohortTag(plan, k)}s${seed}-r${repeat}-f${fold}`,
              config: c.id,
              cohort: k,
              seed,
              repeat,
              fold,
            }),
          ),
        );
    });
  return { units, cohorts: identities };
}

/**
 * Runs one unit to its result file. Returns the result, or undefined when `signal` stopped it
 * (its checkpoint is kept: running it again resumes). Throws on any failure.
 */
export async function runTrainUnit(
  folder: SweepFolder,
  manifest: TrainManifest,
  unit: Unit,
  opts: { signal?: AbortSignal; log: (line: string) => void },
): Promise<UnitResult | undefined> {
  const config = manifest.plan.configs.find((c) => c.id === unit.config);
  if (!config)
    throw new Error(`${folder.manifestPath}: unit ${unit.id} names config ${unit.config}, which is not in the plan`);
  const entry = manifest.plan.cohorts[unit.cohort];
  if (!entry)
    throw new Error(`${folder.manifestPath}: unit ${unit.id} names cohort ${unit.cohort}, which is not in the plan`);
  const started = Date.now();
  const cohort = await Cohort.open(entry.path);
  try {
    const changes = cohortChanges(manifest.cohorts[unit.cohort], cohortIdentity(cohort, entry.name));
    if (changes.length)
      throw new MilkitDataError(
        `the cohort changed since the sweep was planned (${changes.join('; ')})`,
        { file: cohort.path },
        'plan a new sweep into a new folder',
      );
    const splitsFile = folder.splitsPath(unit.seed, cohortTag(manifest.plan, unit.cohort));
    const splits = parseSplitFile(JSON.parse(fs.readFileSync(splitsFile, 'utf8')), cohort.bags, splitsFile);
    const split = splits[unit.repeat]?.[unit.fold];
    if (!split) throw new Error(`${splitsFile} has no fold [${unit.repeat}][${unit.fold}] for unit ${unit.id}`);
    const trainer = new Trainer({
      model: config.model,
      config: { ...unitTrainConfig(manifest.plan, config, entry), seed: unit.seed },
    });
    trainer.events.on((e) => {
      if (e.type === 'fold-start' && e.resumedFromEpoch !== undefined)
        opts.log(`resuming from the checkpoint at epoch ${e.resumedFromEpoch + 1}`);
      if (e.type === 'epoch-end')
        opts.log(
          `epoch ${e.epoch + 1}/${trainer.config.epochs}: loss ${e.trainLoss.toFixed(4)}` +
            `${Number.isFinite(e.monitor) ? ` ${e.metric} ${e.monitor.toFixed(4)}` : ''}`,
        );
    });
    opts.log(
      `unit ${unit.id} (${unit.index}): ${config.label} on ${entry.name}, seed ${unit.seed}, ` +
        `repeat ${unit.repeat} fold ${unit.fold}`,
    );
    const run = await trainer.fit(cohort, split, {
      outDir: path.join(folder.unitDir(unit), 'train'),
      resume: true,
      signal: opts.signal,
      at: { repeat: unit.repeat, fold: unit.fold },
    });
    const fold = run.folds[0];
    if (run.interrupted || !fold || fold.interrupted) return undefined;
    const result: UnitResult = {
      format: 'milkit-sweep-unit',
      unit,
      label: config.label,
      cohort: entry.name,
      metrics: fold.metrics,
      ...(fold.bootstrap ? { bootstrap: fold.bootstrap } : {}),
      bestEpoch: fold.bestEpoch,
      epochsRun: fold.epochsRun,
      selection: fold.selection,
      sizes: fold.sizes,
      ...unitRun(started),
    };
    writeJsonAtomic(folder.resultPath(unit), result);
    return result;
  } finally {
    await cohort.close();
  }
}
