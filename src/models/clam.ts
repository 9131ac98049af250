/**
 * CLAM (Lu et al., Nature Biomedical Engineering 2021), single-branch (SB) and multi-branch (MB),
 * "small" size: projection →512 + ReLU + dropout 0.25, gated attention 512→256 (dropout 0.25),
 * SB: one attention branch + a linear classifier; MB: one attention branch and one linear
 * classifier (512→1) per class.
 * Instance clustering: for the true class, the k = 8 highest-attention instances are pseudo-labelled
 * positive and the k lowest negative, and that class's instance classifier (512→2) is trained on
 * them with cross-entropy (with `subtyping`, the other classes' top-k become negatives too).
 * The training loss is 0.7·bag CE + 0.3·instance loss: `auxLosses.instance` = 0.3·instance loss, computed
 * when ForwardOptions.target is a class target.
 */
import * as tf from '@tensorflow/tfjs';
import { tidyObject } from './layers/tidy';
import { PROJECTED_DEFAULTS, ProjectedMil, type ProjectionConfig } from './base';
import { AttentionScorer, softmaxOverInstances } from './layers/attention';
import { Dense } from './layers/dense';
import { normalTensor } from './layers/params';
import { bagLoss } from './losses';
import type { BaseModelConfig, ForwardOptions, InstanceEncoder, LossTerms, MilOutput, Target } from './types';

export interface ClamConfig extends BaseModelConfig, ProjectionConfig {
  attentionDim: number;
  attentionDropout: number;
  /** Instances per side for the clustering loss (top-k positives, bottom-k negatives). */
  k: number;
  /** Weight of the bag loss; the instance loss gets 1 − bagWeight. */
  bagWeight: number;
  /** Also use other classes' top-k as negatives (mutually exclusive subtypes). */
  subtyping: boolean;
}

export const CLAM_DEFAULTS: ClamConfig = {
  ...PROJECTED_DEFAULTS,
  activation: 'relu', // CLAM projects with ReLU
  attentionDim: 256,
  attentionDropout: 0.25,
  k: 8,
  bagWeight: 0.7,
  subtyping: false,
};

export class Clam extends ProjectedMil<ClamConfig> {
  private readonly scorer: AttentionScorer;
  private readonly instanceClassifiers: Dense[];
  /** SB: Dense(E→C). MB: per-class weights `[C, E]` and biases `[C]`. */
  private readonly classifier?: Dense;
  private readonly branchKernel?: tf.Variable;
  private readonly branchBias?: tf.Variable;

  constructor(
    config: ClamConfig,
    readonly multiBranch: boolean,
    encoder?: InstanceEncoder,
  ) {
    super(multiBranch ? 'clam-mb' : 'clam-sb', config, encoder);
    const { embedDim: e, numClasses: c } = config;
    const p = this.params;
    this.scorer = new AttentionScorer(p.scope('attention'), {
      kind: 'gated',
      inDim: e,
      hiddenDim: config.attentionDim,
      branches: multiBranch ? c : 1,
      dropout: config.attentionDropout,
    });
    if (multiBranch) {
      // C separate Linear(E→1), xavier-normal (sd √(2/(E+1))), stored as one matrix.
      this.branchKernel = p.add('classifiers/kernel', normalTensor(p.initRng, [c, e], Math.sqrt(2 / (e + 1))));
      this.branchBias = p.add('classifiers/bias', tf.zeros([c]));
    } else {
      this.classifier = new Dense(p.scope('classifier'), e, c);
    }
    this.instanceClassifiers = Array.from(
      { length: c },
      (_, i) => new Dense(p.scope(`instance_classifier/${i}`), e, 2),
    );
  }

  aggregate(h: tf.Tensor2D, opts: ForwardOptions): MilOutput {
    return tidyObject(() => {
      const a = softmaxOverInstances(this.scorer.scores(h, opts.training)); // [K, N]
      const m = tf.matMul(a, h); // [K, E]
      const logits = this.multiBranch
        ? tf.add(tf.sum(tf.mul(m, this.branchKernel!), 1), this.branchBias!)
        : tf.reshape(this.classifier!.apply(m), [-1]);
      const out: MilOutput = {
        logits: logits as tf.Tensor1D,
        embedding: tf.reshape(m, [-1]) as tf.Tensor1D,
        attention: (this.multiBranch ? tf.mean(a, 0) : tf.reshape(a, [-1])) as tf.Tensor1D,
      };
      if (opts.target?.kind === 'class') {
        const inst = this.instanceLoss(h, a, opts.target.label);
        if (inst) out.auxLosses = { instance: tf.mul(inst, 1 - this.config.bagWeight) as tf.Scalar };
      }
      return out;
    });
  }

  /** Bag loss weighted by `bagWeight` plus the (already weighted) instance loss. */
  override loss(out: MilOutput, target: Target): LossTerms {
    if (!out.auxLosses) return { cls: bagLoss(out.logits, target) };
    return { cls: tf.tidy(() => tf.mul(bagLoss(out.logits, target), this.config.bagWeight)), ...out.auxLosses };
  }

  private instanceLoss(h: tf.Tensor2D, a: tf.Tensor2D, label: number): tf.Scalar | undefined {
    const n = h.shape[0];
    const k = Math.min(this.config.k, Math.floor(n / 2));
    if (k < 1) return undefined;
    const terms: tf.Scalar[] = [];
    for (let c = 0; c < this.config.numClasses; c++) {
      const row = tf.reshape(tf.slice(a, [this.multiBranch ? c : 0, 0], [1, n]), [n]) as tf.Tensor1D;
      if (c === label) {
        const top = tf.topk(row, k).indices;
        const bottom = tf.topk(tf.neg(row), k).indices;
        terms.push(this.clusterLoss(c, h, tf.concat([top, bottom]), [...Array(k).fill(1), ...Array(k).fill(0)]));
      } else if (this.config.subtyping) {
        terms.push(this.clusterLoss(c, h, tf.topk(row, k).indices, Array(k).fill(0)));
      }
    }
    const total = tf.addN(terms);
    return (this.config.subtyping ? tf.div(total, this.config.numClasses) : total) as tf.Scalar;
  }

  /** Cross-entropy of class c's instance classifier on the chosen instances (one-hot product, no gather). */
  private clusterLoss(c: number, h: tf.Tensor2D, idx: tf.Tensor1D, labels: number[]): tf.Scalar {
    const pick = tf.cast(tf.oneHot(idx as tf.Tensor1D, h.shape[0]), 'float32') as tf.Tensor2D;
    const logits = this.instanceClassifiers[c].apply(tf.matMul(pick, h));
    const targets = tf.oneHot(tf.tensor1d(labels, 'int32'), 2);
    return tf.mean(tf.neg(tf.sum(tf.mul(tf.logSoftmax(logits), targets), 1))) as tf.Scalar;
  }
}
