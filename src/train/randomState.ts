/**
 * Saving and restoring a model's random streams, so a resumed run draws the same dropout masks
 * (and MHIM masks) as an uninterrupted one.
 *
 * The trainer saves every seeded `Rng` reachable from the model's fields (in field order, which is
 * fixed by construction: each generator's 32-bit state; tfjs tensors are not descended into), plus
 * whatever a model that implements `RandomStateful` reports (e.g. MHIM's iteration counter).
 */
import * as tf from '@tensorflow/tfjs';
import { Rng } from '../random';

/** A model whose random streams can be saved and restored explicitly. */
export interface RandomStateful {
  randomState(): unknown;
  setRandomState(state: unknown): void;
}

function isRandomStateful(m: object): m is RandomStateful {
  return (
    typeof (m as Partial<RandomStateful>).randomState === 'function' &&
    typeof (m as Partial<RandomStateful>).setRandomState === 'function'
  );
}

/** Every Rng reachable from `root`, each once, in deterministic traversal order. */
function reachableRngs(root: object): Rng[] {
  const found: Rng[] = [];
  const seen = new Set<object>();
  const visit = (v: unknown): void => {
    if (v === null || typeof v !== 'object' || seen.has(v)) return;
    seen.add(v);
    if (v instanceof Rng) {
      found.push(v);
      return;
    }
    if (v instanceof tf.Tensor || ArrayBuffer.isView(v)) return;
    if (v instanceof Map) for (const x of v.values()) visit(x);
    else if (Array.isArray(v)) v.forEach(visit);
    else for (const k of Object.keys(v)) visit((v as Record<string, unknown>)[k]);
  };
  visit(root);
  return found;
}

// Rng keeps its 32-bit state in a private field; reading it here avoids widening Rng's public API.
type RngInternals = { state: number };

/** The model's own state (when it implements RandomStateful) plus every reachable Rng's state. */
export function captureRandomState(model: object): unknown {
  return {
    ...(isRandomStateful(model) ? { custom: model.randomState() } : {}),
    rngs: reachableRngs(model).map((r) => (r as unknown as RngInternals).state),
  };
}

export function restoreRandomState(model: object, saved: unknown): void {
  const s = saved as { custom?: unknown; rngs?: number[] };
  const rngs = reachableRngs(model);
  if (!s.rngs || s.rngs.length !== rngs.length)
    throw new Error(`checkpoint holds ${s.rngs?.length ?? 0} random streams, the model has ${rngs.length}`);
  rngs.forEach((r, i) => ((r as unknown as RngInternals).state = s.rngs![i]));
  // After the generic streams, so a model's own restore has the last word on anything it manages.
  if (s.custom !== undefined && isRandomStateful(model)) model.setRandomState(s.custom);
}
