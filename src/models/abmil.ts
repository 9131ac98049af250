/**
 * AB-MIL: attention-based deep MIL (Ilse, Tomczak & Welling, ICML 2018).
 * h = dropout(act(W x)), a = softmax_N(attention(h)), z = Σ a_i h_i, logits = W_c z + b.
 * Defaults are MHIM-MIL's standalone `abmil` (Tang et al.'s `models/abmil.py`): projection →512 + GELU +
 * dropout 0.25, tanh attention 512→128→1 with biases. `gated: true` (or `attention: 'gated'`)
 * gives gated attention (`gabmil`: hidden 384, dropout 0.25 on both branches); `attention: 'relu'`
 * is the AB-MIL inside MHIM-MIL (ReLU, no biases).
 */
import * as tf from '@tensorflow/tfjs';
import { tidyObject } from './layers/tidy';
import { PROJECTED_DEFAULTS, ProjectedMil, type ProjectionConfig, attentionReadout } from './base';
import { AttentionScorer, type AttentionKind, softmaxOverInstances } from './layers/attention';
import { Dense } from './layers/dense';
import type { BaseModelConfig, ForwardOptions, InstanceEncoder, MilOutput } from './types';

export interface AbmilConfig extends BaseModelConfig, ProjectionConfig {
  /** Attention scorer: 'tanh' (Ilse et al.), 'gated', or 'relu' (MHIM-MIL's internal variant). */
  attention: AttentionKind;
  /** Shorthand for `attention: 'gated'` (as in `createModel('abmil', { gated: true })`). */
  gated: boolean;
  /** Hidden width of the attention scorer; default 128, or 384 when gated. */
  attentionDim?: number;
  /** Dropout inside the attention scorer; default 0, or 0.25 when gated. */
  attentionDropout?: number;
}

export const ABMIL_DEFAULTS: AbmilConfig = {
  ...PROJECTED_DEFAULTS,
  attention: 'tanh',
  gated: false,
};

export class Abmil extends ProjectedMil<AbmilConfig> {
  private readonly scorer: AttentionScorer;
  private readonly classifier: Dense;

  constructor(config: AbmilConfig, name = 'abmil', encoder?: InstanceEncoder) {
    super(name, config, encoder);
    const kind: AttentionKind = config.gated ? 'gated' : config.attention;
    this.scorer = new AttentionScorer(this.params.scope('attention'), {
      kind,
      inDim: config.embedDim,
      hiddenDim: config.attentionDim ?? (kind === 'gated' ? 384 : 128),
      dropout: config.attentionDropout ?? (kind === 'gated' ? 0.25 : 0),
    });
    this.classifier = new Dense(this.params.scope('classifier'), config.embedDim, config.numClasses);
  }

  aggregate(h: tf.Tensor2D, opts: ForwardOptions): MilOutput {
    return tidyObject(() => {
      const a = softmaxOverInstances(this.scorer.scores(h, opts.training)); // [1, N]
      return attentionReadout(h, a, this.classifier, opts);
    });
  }

  classify(z: tf.Tensor2D): tf.Tensor2D {
    return this.classifier.apply(z) as tf.Tensor2D;
  }
}
