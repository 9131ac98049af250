/**
 * Certainty pooling (Gildenblat, Ben-Shaul, Lapp & Klaiman, Certainty pooling for multiple-instance
 * learning, ICPR workshops 2021): the bag takes the prediction of the instance whose
 * certainty-weighted score is highest, P_c = p_kc with k = argmax_i c_ic·p_ic, where the certainty
 * c = 1/(σ + ε) and σ is the standard deviation of the instance's prediction over T Monte-Carlo
 * dropout passes. The gradient flows through p_k only (the certainty is treated as a constant).
 *
 * milkit details: the MC passes draw one dropout mask per pass over the last hidden layer's units,
 * SHARED by the bag's instances (each instance still sees T independent masks, the MC-dropout
 * estimate; sharing keeps the model permutation invariant and costs T·H random numbers instead of
 * T·N·H). In evaluation the masks come from a fixed seed, so predictions are deterministic. In
 * training the certainty is measured on the embeddings without the step's own dropout masks.
 * `attention` = the normalised certainty-weighted scores c·p / Σ c·p; `instanceLogits` = the scores.
 */
import * as tf from '@tensorflow/tfjs';
import { Rng } from '../random';
import { MilBase } from './base';
import { InstanceMlp } from './layers/instanceMlp';
import { attentionFrom, classMajor, logitsFromLogProb, toClassLogits } from './layers/instanceScores';
import { checkRate, INSTANCE_ENCODER_DEFAULTS, type InstanceEncoderConfig } from './layers/mlp';
import { stopGradient } from './layers/stopGradient';
import { tidyObject } from './layers/tidy';
import type { BaseModelConfig, ForwardOptions, MilOutput } from './types';

export interface CertaintyPoolingConfig extends BaseModelConfig, InstanceEncoderConfig {
  /** Monte-Carlo dropout passes T for the certainty. */
  mcSamples: number;
  /**
   * Dropout rate of the MC passes (on the last hidden layer). Part of the method, not a regulariser:
   * at 0 every certainty is 1/ε and the model degenerates to max pooling, so 0 is rejected.
   */
  mcRate: number;
  /** ε in c = 1/(σ + ε). */
  epsilon: number;
}

export const CERTAINTY_POOLING_DEFAULTS: CertaintyPoolingConfig = {
  ...INSTANCE_ENCODER_DEFAULTS,
  mcSamples: 20,
  mcRate: 0.25,
  epsilon: 1e-3,
};

export class CertaintyPooling extends MilBase<CertaintyPoolingConfig> {
  private readonly net: InstanceMlp;

  constructor(config: CertaintyPoolingConfig) {
    super('certainty-pooling', config);
    checkRate(this.name, 'mcRate', config.mcRate);
    if (!(config.mcRate > 0))
      throw new Error(`${this.name}: mcRate must be > 0 (the certainty needs stochastic passes)`);
    if (!Number.isInteger(config.mcSamples) || config.mcSamples < 2)
      throw new Error(`${this.name}: mcSamples must be an integer ≥ 2, got ${config.mcSamples}`);
    if (!(config.epsilon > 0)) throw new Error(`${this.name}: epsilon must be > 0, got ${config.epsilon}`);
    this.net = InstanceMlp.instanceScores(this.params, this.name, config);
  }

  forward(bag: tf.Tensor2D, opts: ForwardOptions): MilOutput {
    this.checkBag(bag);
    return tidyObject(() => {
      const h = this.net.embed(bag, opts.training);
      const s = this.net.score(h);
      const p = classMajor(tf.sigmoid(s) as tf.Tensor2D); // [K, N]
      // The certainty belongs to the instance, so it is measured without this step's dropout masks:
      // an instance whose embedding the training dropout zeroed would predict sigmoid(b) on every MC
      // pass, get σ = 0 and the largest certainty 1/ε, and be picked although it says nothing (the
      // step then trains the head's bias alone).
      const certainty =
        opts.training && this.config.dropout > 0
          ? stopGradient(bag, (x) => this.certainty(this.net.embed(x as tf.Tensor2D, false), true))
          : stopGradient(h, (x) => this.certainty(x as tf.Tensor2D, opts.training)); // [K, N]
      const score = tf.mul(certainty, p);
      const n = s.shape[0];
      // The selected instance per class, by a one-hot product (no gather, no read-back).
      const pick = n === 1 ? tf.ones([p.shape[0], 1]) : tf.cast(tf.oneHot(tf.argMax(score, 1), n), 'float32');
      const pooled = tf.sum(tf.mul(pick, p), 1);
      const c = this.config.numClasses;
      return {
        logits: logitsFromLogProb(tf.log(tf.add(pooled, 1e-12)) as tf.Tensor1D, c),
        embedding: tf.reshape(tf.matMul(tf.reshape(tf.mean(pick, 0), [1, n]), h), [-1]) as tf.Tensor1D,
        attention: attentionFrom(tf.div(score, tf.sum(score, 1, true)) as tf.Tensor2D),
        instanceLogits: toClassLogits(s, c),
      };
    });
  }

  /** c = 1/(σ + ε) of each instance's probability over T dropout passes on `h` `[N, H]` → `[K, N]`. */
  private certainty(h: tf.Tensor2D, training: boolean): tf.Tensor2D {
    const { mcSamples: t, mcRate: rate, epsilon } = this.config;
    const width = h.shape[1];
    // Training draws fresh masks; evaluation uses a fixed stream, so a prediction never changes.
    const rng = training ? this.params.dropoutRng : new Rng(0x6d63);
    const masks = new Float32Array(t * width);
    for (let i = 0; i < masks.length; i++) masks[i] = rng.next() < 1 - rate ? 1 / (1 - rate) : 0;
    return tf.tidy(() => {
      // The head is linear, so (h ⊙ m_t)·W = h·(m_t ⊙ W): all T passes are one [N, H]·[H, T·K]
      // product, never the [T·N, H] stack of masked copies (200 MB for a 20,000-instance bag).
      const { head } = this.net;
      const k = head.outDim;
      const w = tf.mul(tf.tensor3d(masks, [t, width, 1]), tf.expandDims(head.kernel, 0)); // [T, H, K]
      const wAll = tf.reshape(tf.transpose(w, [1, 0, 2]), [width, t * k]);
      const logits = tf.add(tf.reshape(tf.matMul(h, wAll), [-1, t, k]), head.bias!); // [N, T, K]
      const { variance } = tf.moments(tf.sigmoid(logits), 1);
      return classMajor(tf.reciprocal(tf.add(tf.sqrt(variance), epsilon)) as tf.Tensor2D);
    });
  }
}
