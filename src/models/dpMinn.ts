/**
 * DP-MINN: deep multi-instance network with dynamic pooling (Yan et al., ACML 2018, PMLR 95:662–677).
 * Idea: pool instance embeddings with weights found by a few routing iterations (as in capsule
 * networks) instead of a fixed mean/max or a separate attention network.
 *
 * h = MLP(x) (256-128-64, ReLU, dropout, as mi-/MI-Net); routing logits b = 0; repeat T times:
 * c = softmax_N(b), s = Σ c_i h_i, v = squash(s) = |s|²/(1+|s|²)·s/|s|, b ← b + h·v.
 * logits = W v + b₀. `attention` = the last routing weights c (they sum to 1 over the bag).
 * Gradients flow through every iteration (no stop-gradient between iterations).
 *
 * Why it can stall on raw inputs (a property of the method, not of this code: the forward matches
 * a plain-JS routing and every gradient matches central differences, test/models/catalogue-bag.test.ts):
 * the agreement logits h·v are unbounded (ReLU embeddings, no normalisation before routing), so a
 * few iterations turn c into a near one-hot pick as soon as |h| grows. If the embeddings grow
 * faster than the model learns which instance matters, the saturated softmax stops passing gradient
 * to the MLP and training stalls. Standardised features (MUSK1) are unaffected; on unnormalised
 * inputs (raw MNIST pixels) train at a lower rate (2e-4) or with fewer iterations.
 */
import * as tf from '@tensorflow/tfjs';
import { MilBase } from './base';
import { InstanceMlp } from './layers/instanceMlp';
import { tidyObject } from './layers/tidy';
import type { BaseModelConfig, ForwardOptions, MilOutput } from './types';

export interface DpMinnConfig extends BaseModelConfig {
  /** Widths of the instance MLP (Wang et al.'s 256-128-64). */
  hidden: number[];
  /** Dropout after each hidden layer. */
  dropout: number;
  /** Routing iterations T (3, as in dynamic routing). */
  iterations: number;
}

export const DP_MINN_DEFAULTS: DpMinnConfig = {
  inputDim: 1024,
  numClasses: 2,
  seed: 0,
  hidden: [256, 128, 64],
  dropout: 0.5,
  iterations: 3,
};

/** squash(s) = |s|²/(1 + |s|²) · s/|s| for a row vector `[1, E]` (ε keeps s = 0 finite). */
export function squash(s: tf.Tensor2D): tf.Tensor2D {
  return tf.tidy(() => {
    const sq = tf.sum(tf.square(s), 1, true);
    return tf.mul(s, tf.div(tf.sqrt(tf.add(sq, 1e-9)), tf.add(sq, 1))) as tf.Tensor2D;
  });
}

export class DpMinn extends MilBase<DpMinnConfig> {
  private readonly net: InstanceMlp;

  constructor(config: DpMinnConfig) {
    super('dp-minn', config);
    if (!Number.isInteger(config.iterations) || config.iterations < 1)
      throw new Error(`dp-minn: iterations must be a positive integer, got ${config.iterations}`);
    this.net = InstanceMlp.classLogits(this.params, this.name, config);
  }

  forward(bag: tf.Tensor2D, opts: ForwardOptions): MilOutput {
    this.checkBag(bag);
    return tidyObject(() => {
      const h = this.net.embed(bag, opts.training);
      let b: tf.Tensor2D = tf.zeros([1, h.shape[0]]);
      let c!: tf.Tensor2D;
      let v!: tf.Tensor2D;
      for (let t = 0; t < this.config.iterations; t++) {
        c = tf.softmax(b) as tf.Tensor2D; // [1, N]
        v = squash(tf.matMul(c, h)); // [1, E]
        // h·vᵀ as an explicit [E, 1] column: no transposed matMul on the hot path.
        b = tf.add(b, tf.reshape(tf.matMul(h, tf.reshape(v, [-1, 1])), [1, -1]));
      }
      return {
        logits: tf.reshape(this.net.score(v), [-1]) as tf.Tensor1D,
        embedding: tf.reshape(v, [-1]) as tf.Tensor1D,
        attention: tf.reshape(c, [-1]) as tf.Tensor1D,
      };
    });
  }
}
