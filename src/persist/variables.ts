/**
 * Variables ↔ checkpoint tensors by name. Loading checks the whole set before assigning anything,
 * so a mismatched file leaves the model as it was and the error names the tensor.
 */
import * as tf from '@tensorflow/tfjs';
import { MilkitDataError } from '../data/errors';
import type { MilModel } from '../models/types';
import type { CheckpointTensor } from './format';

/** What to do when a file's tensors do not fit a model the caller built. */
export const MISMATCH_FIX =
  'the file was written for another model or configuration; use the settings it was saved with, or train again';

export type NamedVariables = [name: string, variable: tf.Variable][];

/**
 * A model's variables by stable name (`namedVariables()`); a model that does not name them gets
 * their positions, which only a model built by the same code reads back.
 */
export function modelVariables(model: MilModel): NamedVariables {
  const vars = model.variables();
  if (!model.namedVariables) return vars.map((v, i) => [String(i), v]);
  const named = [...model.namedVariables()];
  const known = new Set(named.map(([, v]) => v));
  if (named.length !== vars.length || !vars.every((v) => known.has(v)))
    throw new Error(`model "${model.name}": namedVariables() and variables() list different variables`);
  return named;
}

/** The names of `subset` (e.g. the trainable variables) within `named`, in `subset`'s order. */
export function namesOf(named: NamedVariables, subset: tf.Variable[], owner: string): string[] {
  const byVar = new Map(named.map(([n, v]) => [v, n]));
  return subset.map((v) => {
    const n = byVar.get(v);
    if (n === undefined) throw new Error(`${owner}: a variable (${v.name}) has no name among its variables`);
    return n;
  });
}

/** Reads the variables' values into tensors named `<prefix><name>`. */
export async function variableTensors(prefix: string, vars: NamedVariables): Promise<CheckpointTensor[]> {
  return Promise.all(
    vars.map(async ([name, v]) => ({ name: prefix + name, shape: v.shape, values: (await v.data()) as Float32Array })),
  );
}

/**
 * The tensors named `<prefix><name>` for `specs`, in order, after checking that each exists with the
 * expected shape and that no tensor under `prefix` is left over. `owner` names what is loaded
 * ("model abmil") and `fix` what to do, for the messages; `file` is the checkpoint (or what the
 * tensors came from).
 */
export function matchTensors(
  file: string,
  tensors: readonly CheckpointTensor[],
  prefix: string,
  specs: readonly [name: string, shape: readonly number[]][],
  owner: string,
  fix = MISMATCH_FIX,
): CheckpointTensor[] {
  const byName = new Map(tensors.filter((t) => t.name.startsWith(prefix)).map((t) => [t.name, t]));
  const fail = (field: string, problem: string) => new MilkitDataError(problem, { file, field });
  const found = specs.map(([name, shape]) => {
    const t = byName.get(prefix + name);
    if (!t) throw fail(prefix + name, `missing: ${owner} needs this tensor and the file has none (${fix})`);
    if (t.shape.length !== shape.length || t.shape.some((d, i) => d !== shape[i]))
      throw fail(prefix + name, `shape [${t.shape}] in the file, [${shape}] in ${owner} (${fix})`);
    return t;
  });
  const wanted = new Set(specs.map(([name]) => prefix + name));
  const extra = [...byName.keys()].filter((k) => !wanted.has(k));
  if (extra.length) {
    const some = `${extra.slice(0, 3).join(', ')}${extra.length > 3 ? ', …' : ''}`;
    throw fail(
      extra[0],
      `${extra.length > 1 ? `${extra.length} tensors (${some})` : 'a tensor'} ` +
        `in the file that ${owner} does not have (${fix})`,
    );
  }
  return found;
}

/** Checks the tensors named `<prefix><name>` against `vars` (see `matchTensors`), then assigns them all. */
export function assignTensors(
  file: string,
  tensors: readonly CheckpointTensor[],
  prefix: string,
  vars: NamedVariables,
  owner: string,
  fix = MISMATCH_FIX,
): void {
  const found = matchTensors(
    file,
    tensors,
    prefix,
    vars.map(([name, v]) => [name, v.shape]),
    owner,
    fix,
  );
  vars.forEach(([, v], i) => tf.tidy(() => v.assign(tf.tensor(found[i].values, v.shape, 'float32'))));
}
