/**
 * MHIM's initialisation from a trained baseline, fold by fold, as the authors' protocol does: the
 * teacher of fold k starts from the plain model trained on fold k with the same data and splits
 * (their README's `--teacher_init`, the paper's best setting), and optionally the student too (the
 * paper's §4.5.4 / Table 11 initialises the student's first layer; the v1 code's
 * `--init_stu_type fc` copies the instance projection). A baseline fold is reused only if it was
 * trained on the same cohort, the same split and the same feature standardisation: its checkpoint's
 * fingerprint says so, and anything else is refused naming what differs.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { MilkitDataError } from '../data/errors';
import type { FoldSetup, MilModel } from '../models/types';
import { canonicalJson } from '../persist/fingerprint';

/** Where MHIM's teacher and student start (`createModel('mhim', { init })`, `milkit train --teacher-init`). */
export interface MhimInit {
  /**
   * Run folder of a finished run of the wrapped model: fold (r, k)'s teacher starts from its
   * `rep<r>-fold<k>/model.ckpt`.
   */
  teacher?: string;
  /** Run folder of a finished run of the wrapped model whose fold (r, k) initialises the student's `studentLayers`. */
  student?: string;
  /**
   * Which student variables `student` sets: 'projection' (default: the instance projection, i.e. the
   * model's first layers, `projection/…` and `hidden/…`, as the paper's first-layer init) or 'all'.
   */
  studentLayers?: 'projection' | 'all';
}

/** The student variables 'projection' selects: the layers that embed each instance before pooling. */
export const PROJECTION_SCOPES = ['hidden/', 'projection/'];

/** The baseline model of `fold` in run folder `runDir`, checked against the fold (the caller disposes it). */
export function baselineFold(
  runDir: string,
  fold: FoldSetup,
  wrapped: MilModel,
  role: 'teacher' | 'student',
): MilModel {
  const file = path.join(runDir, `rep${fold.repeat}-fold${fold.fold}`, 'model.ckpt');
  const retrain =
    `train the baseline on the same cohort with the same splits (--folds/--splits, --seed, ` +
    `--val-fraction) and --standardize setting: milkit train --model ${wrapped.name} --out ${runDir}`;
  if (!fs.existsSync(file))
    throw new MilkitDataError(
      `MHIM ${role} init: no trained ${wrapped.name} model for repetition ${fold.repeat + 1}, fold ${fold.fold + 1}`,
      { file },
      retrain,
    );
  const trained = fold.loadTrainedModel(file);
  try {
    const parts = trained.fingerprint?.parts;
    const refuse = (what: string, field: string, fix = retrain) => {
      throw new MilkitDataError(`MHIM ${role} init: ${what}`, { file, field }, fix);
    };
    if (!parts) refuse('the checkpoint has no fingerprint, so its fold cannot be checked', 'fingerprint');
    if (canonicalJson(parts!.data) !== canonicalJson(fold.data))
      refuse('the baseline was trained on another cohort (its data fingerprint differs)', 'fingerprint.data');
    if (canonicalJson(parts!.split) !== canonicalJson(fold.split))
      refuse(
        `the baseline's repetition ${fold.repeat + 1}, fold ${fold.fold + 1} ` +
          `has another split (other training or test bags)`,
        'fingerprint.split',
      );
    if (Boolean(trained.stats) !== fold.standardize)
      refuse(
        `the baseline was trained ${trained.stats ? 'with' : 'without'} standardised ` +
          `features, this run ${fold.standardize ? 'standardises' : 'does not'}`,
        'meta.standardize',
      );
    const m = trained.model;
    const differs = configDifferences(m, wrapped);
    if (m.name !== wrapped.name || differs.length)
      refuse(
        `the baseline is ${m.name} with other options than the model MHIM wraps ` +
          `(${m.name !== wrapped.name ? `model ${m.name} vs ${wrapped.name}` : differs.join(', ')})`,
        'meta.model',
        `train the baseline with the wrapped model's options: milkit train --model ${wrapped.name} ` +
          `--model-config '${JSON.stringify(optionsOf(wrapped))}' --out ${runDir}`,
      );
    return m;
  } catch (err) {
    trained.model.dispose();
    throw err;
  }
}

/** A model's own options (without the seed, which differs per fold and role, and the data's sizes). */
function optionsOf(m: MilModel): Record<string, unknown> {
  const { seed: _seed, inputDim: _in, numClasses: _c, ...rest } = m.config as unknown as Record<string, unknown>;
  return rest;
}

/** The config entries (all but the seed) where two models differ, as `key: a vs b`. */
function configDifferences(a: MilModel, b: MilModel): string[] {
  const { seed: _a, ...x } = a.config as unknown as Record<string, unknown>;
  const { seed: _b, ...y } = b.config as unknown as Record<string, unknown>;
  return [...new Set([...Object.keys(x), ...Object.keys(y)])]
    .filter((k) => canonicalJson(x[k]) !== canonicalJson(y[k]))
    .map((k) => `${k}: ${canonicalJson(x[k]) ?? 'unset'} vs ${canonicalJson(y[k]) ?? 'unset'}`);
}

/** Copies `source`'s variables into `target` by name: all, or those under the projection scopes. */
export function copyByName(target: MilModel, source: MilModel, layers: 'projection' | 'all'): string[] {
  const from = source.namedVariables();
  const names = [...target.namedVariables().keys()].filter(
    (n) => layers === 'all' || PROJECTION_SCOPES.some((p) => n.startsWith(p)),
  );
  if (names.length === 0)
    throw new Error(
      `MHIM student init: ${target.name} has no projection layer ` +
        `(${PROJECTION_SCOPES.join(', ')}); use studentLayers 'all'`,
    );
  const to = target.namedVariables();
  for (const n of names) {
    const s = from.get(n);
    const t = to.get(n)!;
    if (!s || s.shape.join() !== t.shape.join())
      throw new Error(
        `MHIM student init: variable ${n} is [${t.shape}] in the ` +
          `student, ${s ? `[${s.shape}]` : 'missing'} in the baseline`,
      );
    t.assign(s);
  }
  return names;
}
