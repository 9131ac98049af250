/**
 * Gradient checkpointing for tfjs: run a block so that the gradient tape keeps only its input,
 * and recompute the block under a tape of its own in the backward pass.
 *
 * Why: tfjs's tape stores a copy of every tensor an op saves, and it keeps every intermediate
 * gradient alive until the whole backward pass ends; for TransMIL at N = 8000 that is several GB,
 * close to the ~4 GB wasm heap. A checkpointed block costs one extra forward pass in exchange.
 */
import * as tf from '@tensorflow/tfjs';
import type { Rng } from '../../random';
import { recordingGradients } from './dense';

/**
 * Runs `fn`, which takes gradients of its own, inside another gradient's backward pass.
 * Why: tfjs keeps one tape per engine; a gradient computed at depth 0 (as in a backward pass)
 * replaces the outer tape and sets it to null when done, so the outer backward pass would crash
 * and leak its saved tensors. The outer tape is put back afterwards.
 */
export function withNestedTape<T>(fn: () => T): T {
  const state = tf.engine().state as unknown as { activeTape: unknown };
  const outer = state.activeTape;
  try {
    return fn();
  } finally {
    state.activeTape = outer;
  }
}

/** The 32-bit state of a seeded generator (private field of `Rng`; read and written to replay dropout masks). */
const rngState = (rng: Rng) => rng as unknown as { state: number };

/**
 * Results a checkpointed block computed in its forward pass, handed back to its recomputation.
 * `replay` < 0 while recording, else the index of the next result to hand back.
 */
interface Memo {
  results: tf.Tensor[];
  replay: number;
}
let activeMemo: Memo | undefined;

/**
 * `compute()`, remembered across the recomputation of the enclosing checkpointed block: the block's
 * first forward keeps the result (saved with the block's input, so the tape frees it), and the
 * recomputation in the backward pass takes it instead of computing again. For expensive parts whose
 * own gradient does not need the block's tape (e.g. the fused Nyström core, which recomputes its
 * heads itself): it removes one of their forward passes for the memory of their output. Outside
 * a checkpointed block this is `compute()`.
 */
export function memoised<T extends tf.Tensor>(compute: () => T): T {
  const memo = activeMemo;
  if (!memo) return compute();
  if (memo.replay < 0) {
    const t = compute();
    memo.results.push(tf.keep(tf.clone(t))); // a reference of its own: the op that made t may free it
    return t;
  }
  const kept = memo.results[memo.replay++];
  if (!kept)
    throw new Error('checkpoint: the recomputed block asked for more remembered results than its forward pass made');
  return tf.clone(kept) as T;
}

function withMemo<T>(memo: Memo | undefined, fn: () => T): T {
  const outer = activeMemo;
  activeMemo = memo;
  try {
    return fn();
  } finally {
    activeMemo = outer;
  }
}

/**
 * `block(x)` whose gradient (for x and for `variables`, every variable the block uses) is computed
 * by recomputing the block. `rng`: the dropout stream the block draws from; its state is rewound for
 * the recomputation so the same masks are drawn, then put back. Outside a tape this is `block(x)`.
 */
export function checkpointed(
  block: (x: tf.Tensor2D) => tf.Tensor2D,
  x: tf.Tensor2D,
  variables: tf.Variable[],
  rng?: Rng,
): tf.Tensor2D {
  if (!recordingGradients()) return withMemo(undefined, () => block(x));
  const before = rng ? rngState(rng).state : 0;
  const op = tf.customGrad(((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const save = args[args.length - 1] as tf.GradSaveFunc;
    const input = args[0] as tf.Tensor2D;
    const memo: Memo = { results: [], replay: -1 };
    // Inside a custom op nothing is taped; the memoised results are saved with the input.
    const [value, ...results] = tf.tidy(() => withMemo(memo, () => [block(input), ...memo.results]));
    save([input, ...results]);
    tf.dispose(results); // the tape holds its own references
    return {
      value,
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) =>
        withNestedTape(() => {
          const now = rng ? rngState(rng).state : 0;
          if (rng) rngState(rng).state = before;
          try {
            // The block uses the variables directly, so differentiating with respect to them works.
            return withMemo({ results: saved.slice(1), replay: 0 }, () =>
              tf.grads((xi: tf.Tensor) => block(xi as tf.Tensor2D))([saved[0], ...variables], dy),
            );
          } finally {
            if (rng) rngState(rng).state = now;
          }
        }),
    };
  }) as unknown as Parameters<typeof tf.customGrad<tf.Tensor2D>>[0]) as (...t: tf.Tensor[]) => tf.Tensor2D;
  return op(x, ...variables);
}
