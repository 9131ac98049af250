/**
 * Attention pooling over a bag streamed from host memory in row blocks, for bags whose projection
 * does not fit the device at once (whole-slide bags at 40× reach 200,000 instances).
 *
 * Inference: each block is uploaded, projected and scored, and z = Σ softmax(s)_i h_i is accumulated
 * with an online softmax (a running maximum rescales the partial sums; Milakov & Gimelshein 2018,
 * "Online normalizer calculation for softmax"), so the device holds one block, never the N × E
 * projection or the N × D bag.
 *
 * Training: one custom op whose forward keeps only the N scores and z; its backward recomputes each
 * block under a tape of its own (gradient checkpointing by block) and differentiates the block's
 * share of the loss. With a = softmax(s), upstream gradients g_z (of z) and g_a (of a), and
 * c = g_z·z + Σ_j a_j g_a,j, the loss gradient is that of
 *   Σ_i a_i (g_z·h_i) + Σ_i δ_i s_i,  δ_i = a_i (g_z·h_i + g_a,i − c),
 * with a and δ held constant: both sums split over blocks. Dropout masks are replayed by rewinding
 * the dropout stream to where each block started.
 *
 * Both give the whole-bag z and attention up to float rounding (test/models/streamedPooling.test.ts).
 */
import * as tf from '@tensorflow/tfjs';
import type { Rng } from '../../random';
import type { StepBag } from '../types';
import { withNestedTape } from './checkpoint';
import { recordingGradients } from './dense';

/** The instance projection and attention scorer of an attention-pooling model. */
export interface StreamedAttention {
  /** `[B, D]` bag rows → `[B, E]` instance features. */
  embed(x: tf.Tensor2D, training: boolean): tf.Tensor2D;
  /** `[B, E]` → raw scores `[B, 1]`. */
  score(h: tf.Tensor2D, training: boolean): tf.Tensor2D;
  /** Every trainable variable that `embed` and `score` use. */
  variables: tf.Variable[];
  /** The dropout stream `embed` and `score` draw from (rewound to replay masks). */
  rng: Rng;
}

export interface StreamedPool {
  /** Bag feature `[1, E]`. */
  z: tf.Tensor2D;
  /** Attention weights `[N]` (sum to 1). */
  attention: tf.Tensor1D;
}

const rngState = (rng: Rng) => rng as unknown as { state: number };

/** Rows of block `b` as a `[rows, D]` tensor (one upload; the host array is not kept). */
function uploadRows(bag: StepBag, r0: number, r1: number): tf.Tensor2D {
  return tf.tensor2d(bag.features.subarray(r0 * bag.dim, r1 * bag.dim), [r1 - r0, bag.dim]);
}

interface Pass {
  z: tf.Tensor2D;
  scores: Float32Array;
  attention: Float32Array;
  /** Dropout stream state at the start of each block. */
  states: number[];
}

/** One forward pass over the blocks (no tape): z, the scores and the attention weights. */
function forwardPass(bag: StepBag, net: StreamedAttention, training: boolean, blockRows: number): Pass {
  const n = bag.numInstances;
  const scores = new Float32Array(n);
  const states: number[] = [];
  let max = -Infinity;
  let denom = 0;
  let acc: tf.Tensor2D | undefined; // Σ exp(s_i − max) h_i so far
  for (let r0 = 0; r0 < n; r0 += blockRows) {
    const r1 = Math.min(n, r0 + blockRows);
    states.push(rngState(net.rng).state);
    const next = tf.tidy(() => {
      const h = net.embed(uploadRows(bag, r0, r1), training);
      const s = net.score(h, training).dataSync();
      scores.set(s, r0);
      let blockMax = -Infinity;
      for (const v of s) blockMax = Math.max(blockMax, v);
      const newMax = Math.max(max, blockMax);
      const w = Float32Array.from(s, (v) => Math.exp(v - newMax));
      const rescale = Math.exp(max - newMax); // 0 on the first block (max = −∞)
      denom = denom * rescale + w.reduce((p, q) => p + q, 0);
      max = newMax;
      const part = tf.matMul(tf.tensor2d(w, [1, r1 - r0]), h);
      return (acc ? tf.add(tf.mul(acc, rescale), part) : part) as tf.Tensor2D;
    });
    acc?.dispose();
    acc = next;
  }
  const z = tf.tidy(() => tf.div(acc!, denom) as tf.Tensor2D);
  acc!.dispose();
  const attention = Float32Array.from(scores, (v) => Math.exp(v - max) / denom);
  return { z, scores, attention, states };
}

/**
 * Attention pooling of `bag` in blocks of `blockRows` rows. Under a gradient tape the result is
 * differentiable with respect to `net.variables` (never the bag).
 */
export function streamedAttentionPool(
  bag: StepBag,
  net: StreamedAttention,
  training: boolean,
  blockRows: number,
): StreamedPool {
  if (!(blockRows >= 1)) throw new Error(`streamed pooling: blockRows must be ≥ 1, got ${blockRows}`);
  if (bag.features.length !== bag.numInstances * bag.dim || bag.numInstances < 1)
    throw new Error(`bag "${bag.id}": ${bag.features.length} values for ${bag.numInstances} × ${bag.dim}`);
  if (!recordingGradients()) {
    const pass = forwardPass(bag, net, training, blockRows);
    return { z: pass.z, attention: tf.tensor1d(pass.attention) };
  }
  const n = bag.numInstances;
  const vars = net.variables;
  let embedDim = 0;
  const op = tf.customGrad(((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const save = args[args.length - 1] as tf.GradSaveFunc;
    const pass = forwardPass(bag, net, training, blockRows);
    embedDim = pass.z.shape[1];
    save([pass.z]);
    const value = tf.tidy(() => tf.concat([pass.z, tf.tensor2d(pass.attention, [1, n])], 1));
    return {
      value,
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) =>
        withNestedTape(() => {
          const [z] = saved;
          const gz = tf.slice(dy, [0, 0], [1, embedDim]) as tf.Tensor2D;
          const ga = tf.slice(dy, [0, embedDim], [1, n]).dataSync();
          let c = tf.sum(tf.mul(gz, z)).dataSync()[0];
          for (let i = 0; i < n; i++) c += pass.attention[i] * ga[i];
          const gzColumn = tf.reshape(gz, [embedDim, 1]) as tf.Tensor2D;
          let total: tf.Tensor[] = vars.map((v) => tf.zerosLike(v));
          const now = rngState(net.rng).state;
          try {
            for (let b = 0, r0 = 0; r0 < n; b++, r0 += blockRows) {
              const r1 = Math.min(n, r0 + blockRows);
              rngState(net.rng).state = pass.states[b];
              const a = pass.attention.subarray(r0, r1);
              const { grads } = tf.variableGrads(() => {
                const h = net.embed(uploadRows(bag, r0, r1), training);
                const s = net.score(h, training);
                const u = tf.matMul(h, gzColumn).dataSync(); // g_z·h_i, held constant in δ
                const delta = Float32Array.from(a, (ai, i) => ai * (u[i] + ga[r0 + i] - c));
                const pooled = tf.matMul(tf.tensor2d(a, [1, r1 - r0]), h); // Σ a_i h_i over the block
                return tf.add(
                  tf.sum(tf.matMul(pooled, gzColumn)),
                  tf.sum(tf.mul(tf.tensor2d(delta, [r1 - r0, 1]), s)),
                ) as tf.Scalar;
              }, vars);
              const next = vars.map((v, i) => (grads[v.name] ? tf.add(total[i], grads[v.name]) : total[i]));
              tf.dispose(Object.values(grads));
              tf.dispose(total.filter((t, i) => t !== next[i]));
              total = next;
            }
          } finally {
            rngState(net.rng).state = now;
          }
          tf.dispose([gz, gzColumn]);
          return total;
        }),
    };
  }) as unknown as Parameters<typeof tf.customGrad<tf.Tensor2D>>[0]) as (...t: tf.Tensor[]) => tf.Tensor2D;
  const out = op(...vars);
  const z = tf.slice(out, [0, 0], [1, embedDim]) as tf.Tensor2D;
  const attention = tf.reshape(tf.slice(out, [0, embedDim], [1, n]), [n]) as tf.Tensor1D;
  return { z, attention };
}
