/**
 * DSMIL: dual-stream MIL (Li, Li & Eliceiri, CVPR 2021), the heads of MHIM-MIL's `DSMIL`
 * (Tang et al.'s `models/dsmil.py`). Instance stream: c = W_i h (instance logits). Bag stream: the critical
 * instance of each class is the argmax of c; A = softmax_N(Q·q_critᵀ/√128) with
 * Q = tanh(W₂ relu(W₁ h)), B = Aᵀ·V with V = relu(W_v h), and the bag logit is a Conv1d(C, C,
 * kernel = E) over B (a full contraction of B). Output logits = ½·bag + ½·max_N(c), in training
 * and evaluation alike; the embedding is B flattened (MHIM's consistency target).
 */
import * as tf from '@tensorflow/tfjs';
import { tidyObject } from './layers/tidy';
import { PROJECTED_DEFAULTS, ProjectedMil, type ProjectionConfig } from './base';
import { Dense } from './layers/dense';
import { dropout } from './layers/dropout';
import { torchDefaultUniform } from './layers/params';
import type { BaseModelConfig, ForwardOptions, InstanceEncoder, MilOutput } from './types';

export interface DsmilConfig extends BaseModelConfig, ProjectionConfig {
  /** Width of the query space (128). */
  queryDim: number;
  /** Dropout before the value projection (0 in the reference). */
  valueDropout: number;
}

export const DSMIL_DEFAULTS: DsmilConfig = {
  ...PROJECTED_DEFAULTS,
  queryDim: 128,
  valueDropout: 0,
};

export class Dsmil extends ProjectedMil<DsmilConfig> {
  private readonly instanceClassifier: Dense;
  private readonly q1: Dense;
  private readonly q2: Dense;
  private readonly value: Dense;
  /** Conv1d(C, C, kernel=E) weights as one `[C·E, C]` matrix, and its bias `[C]`. */
  private readonly bagKernel: tf.Variable;
  private readonly bagBias: tf.Variable;

  constructor(config: DsmilConfig, encoder?: InstanceEncoder) {
    super('dsmil', config, encoder);
    const { embedDim: e, numClasses: c, queryDim: q } = config;
    const p = this.params;
    this.instanceClassifier = new Dense(p.scope('instance_classifier'), e, c);
    this.q1 = new Dense(p.scope('query/1'), e, q, 'relu');
    this.q2 = new Dense(p.scope('query/2'), q, q, 'tanh');
    this.value = new Dense(p.scope('value'), e, e, 'relu');
    // The reference initialises only Linear layers with xavier; the Conv1d keeps PyTorch's default.
    this.bagKernel = p.add('bag_classifier/kernel', torchDefaultUniform(p.initRng, [c * e, c], c * e));
    this.bagBias = p.add('bag_classifier/bias', torchDefaultUniform(p.initRng, [c], c * e));
  }

  aggregate(h: tf.Tensor2D, opts: ForwardOptions): MilOutput {
    return tidyObject(() => {
      const [n] = h.shape;
      const { numClasses: c, queryDim } = this.config;
      const inst = this.instanceClassifier.apply(h) as tf.Tensor2D; // [N, C]
      const queries = this.q2.apply(this.q1.apply(h)) as tf.Tensor2D; // [N, q]
      // Critical instance per class, selected by a one-hot product: no gather (whose gradient has
      // no wasm kernel) and no read-back of the argmax.
      // [C, N]
      const pick = (n === 1 ? tf.ones([c, 1]) : tf.cast(tf.oneHot(tf.argMax(inst, 0), n), 'float32')) as tf.Tensor2D;
      const qCrit = tf.matMul(pick, queries); // [C, q]
      const scores = tf.mul(tf.matMul(qCrit, tf.transpose(queries)), 1 / Math.sqrt(queryDim)); // [C, N]
      const a = tf.softmax(scores) as tf.Tensor2D; // softmax over N, per class
      const v = this.value.apply(dropout(h, this.config.valueDropout, opts.training, this.params.dropoutRng));
      const b = tf.matMul(a, v); // [C, E]
      const flat = tf.reshape(b, [1, -1]);
      const bagLogits = tf.add(tf.reshape(tf.matMul(flat, this.bagKernel), [c]), this.bagBias);
      const maxLogits = tf.max(inst, 0);
      return {
        logits: tf.mul(tf.add(bagLogits, maxLogits), 0.5) as tf.Tensor1D,
        embedding: tf.reshape(flat, [-1]) as tf.Tensor1D,
        attention: tf.mean(a, 0) as tf.Tensor1D,
        instanceLogits: inst,
      };
    });
  }
}
