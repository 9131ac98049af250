/**
 * Extreme MIL: attention pooling whose attention hidden layer is a FROZEN random projection, with
 * only the attention vector (and the classifier) trained: the extreme-learning-machine idea
 * (Huang, Zhu & Siew, Extreme learning machine, Neurocomputing 2006) applied to AB-MIL's scorer,
 * as listed among the bag-level methods of the deep-MIL survey.
 * Idea: random features are enough to score instances; training only a vector is cheap and hard to
 * overfit on small cohorts.
 *
 * h = dropout(act(W x)) (trainable, or frozen too with `freezeProjection`);
 * a = softmax_N(w·tanh(R h)), R `[E, K]` ~ N(0, 1/E) and never trained; z = Σ a_i h_i; logits = W_c z.
 */
import * as tf from '@tensorflow/tfjs';
import { PROJECTED_DEFAULTS, ProjectedMil, type ProjectionConfig, attentionReadout } from './base';
import { Dense } from './layers/dense';
import { normalTensor } from './layers/params';
import { tidyObject } from './layers/tidy';
import type { BaseModelConfig, ForwardOptions, InstanceEncoder, MilOutput } from './types';

export interface ExtremeMilConfig extends BaseModelConfig, ProjectionConfig {
  /** Width K of the frozen random attention layer. */
  attentionDim: number;
  /** Also freeze the instance projection (a pure ELM: only w and the classifier learn). */
  freezeProjection: boolean;
}

export const EXTREME_MIL_DEFAULTS: ExtremeMilConfig = {
  ...PROJECTED_DEFAULTS,
  attentionDim: 128,
  freezeProjection: false,
};

export class ExtremeMil extends ProjectedMil<ExtremeMilConfig> {
  private readonly random: tf.Variable;
  private readonly w: Dense;
  private readonly classifier: Dense;

  constructor(config: ExtremeMilConfig, encoder?: InstanceEncoder) {
    super('extreme-mil', config, encoder);
    const { embedDim: e, attentionDim: k } = config;
    const p = this.params;
    // Non-trainable variables: saved and restored with the model, never touched by the optimiser.
    this.random = p.add('attention/random_projection', normalTensor(p.initRng, [e, k], 1 / Math.sqrt(e)), false);
    this.w = new Dense(p.scope('attention/w'), k, 1);
    this.classifier = new Dense(p.scope('classifier'), e, config.numClasses);
  }

  override trainableVariables(): tf.Variable[] {
    const frozen = new Set(this.config.freezeProjection ? [this.projection.kernel, this.projection.bias] : []);
    return super.trainableVariables().filter((v) => !frozen.has(v));
  }

  aggregate(h: tf.Tensor2D, opts: ForwardOptions): MilOutput {
    return tidyObject(() => {
      const scores = this.w.apply(tf.tanh(tf.matMul(h, this.random))); // [N, 1]
      const a = tf.softmax(tf.reshape(scores, [1, -1])) as tf.Tensor2D;
      return attentionReadout(h, a, this.classifier, opts);
    });
  }

  classify(z: tf.Tensor2D): tf.Tensor2D {
    return this.classifier.apply(z) as tf.Tensor2D;
  }
}
