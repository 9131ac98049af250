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
import { streamedAttentionPool } from './layers/streamedPooling';
import type {
  BaseModelConfig,
  ForwardOptions,
  InstanceEncoder,
  MilOutput,
  StepBag,
  Target,
  TrainingStep,
} from './types';

/**
 * Bags whose upload and projection together pass this many bytes are pooled in row blocks of
 * `STREAM_BLOCK_ROWS` from host memory (layers/streamedPooling.ts): 200,000 × 1024 instances then
 * predict and train in bounded device memory. Below it the whole bag is faster (one projection, no
 * recomputation in training), e.g. N = 30,000 at D = 1024.
 */
export const STREAM_BYTES = 512 * 1024 ** 2;
export const STREAM_BLOCK_ROWS = 16384;

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

  /** Inference on a bag in host memory: huge bags stream (no upload of the whole bag). */
  override forwardBag(bag: StepBag, opts: ForwardOptions): MilOutput {
    return this.streams(bag) ? this.pooledInBlocks(bag, opts) : super.forwardBag(bag, opts);
  }

  override trainingStep(bag: StepBag, target: Target): TrainingStep {
    if (!this.streams(bag)) return super.trainingStep(bag, target);
    return {
      loss: () => this.loss(this.pooledInBlocks(bag, { training: true, coords: bag.coords, target }), target),
      finish: () => {},
    };
  }

  /** Whether `bag` is pooled in row blocks (its upload and projection pass `STREAM_BYTES`). */
  streams(bag: StepBag): boolean {
    return !this.encoder && bag.numInstances * (bag.dim + this.config.embedDim) * 4 > STREAM_BYTES;
  }

  /** AB-MIL on `bag` streamed in blocks of `blockRows` rows (same outputs as `forward`, bounded memory). */
  pooledInBlocks(bag: StepBag, opts: ForwardOptions, blockRows = STREAM_BLOCK_ROWS): MilOutput {
    const { z, attention } = streamedAttentionPool(
      bag,
      {
        embed: (x, training) => tf.tidy(() => this.embedInstances(x, { training })),
        score: (h, training) => this.scorer.scores(h, training),
        // The classifier acts on z outside the streamed op; the op covers the rest.
        variables: this.trainableVariables().filter((v) => v !== this.classifier.kernel && v !== this.classifier.bias),
        rng: this.params.dropoutRng,
      },
      opts.training,
      blockRows,
    );
    return tidyObject(() => ({
      logits: tf.reshape(this.classifier.apply(z), [-1]) as tf.Tensor1D,
      embedding: tf.reshape(z, [-1]) as tf.Tensor1D,
      attention,
    }));
  }

  classify(z: tf.Tensor2D): tf.Tensor2D {
    return this.classifier.apply(z) as tf.Tensor2D;
  }
}
