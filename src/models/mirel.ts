/**
 * MIREL (Liu & Ji, Weakly-supervised residual evidential learning for multi-instance uncertainty
 * estimation, ICML 2024): multi-instance residual evidential learning. The bag head outputs Dirichlet EVIDENCE instead
 * of class scores,
 * e = exp(clamp(z, ±10)), α = e + 1, so a bag carries both a prediction (α/S, S = Σα) and an
 * uncertainty (K/S). Instances get Dirichlet outputs too: the bag head's evidence on each instance
 * embedding, FROZEN (no gradient), raised to a learned residual power, ẽ_i = e_i^{1+r_i} with
 * r_i = tanh(MLP(h_i)) ∈ (−1, 1): the multi-instance residual operator.
 *
 * Losses (binary MIL; the published defaults of the MNIST-bags config): for a Dirichlet α and label y,
 * ℓ(α, y) = Σ_k (y_k − α_k/S)² + α_k(S − α_k)/(S²(S+1))      (expected squared error)
 *         + κ·KL(Dir(α̃) ‖ Dir(1)), α̃ = y + (1 − y)·α            (misleading evidence, annealed)
 *         − (K/S)·log e_y                                     (RED: no zero-evidence dead zone)
 * bag term ℓ(α_bag, y); instance term (weight `instanceWeight`): negative bag → mean_i ℓ(α_i, 0)
 * (every instance of a negative bag is negative); positive bag → ℓ(1 + Σ_i w_i ẽ_i, 1), w_i the
 * instances' normalised positive probabilities (held constant). κ = min(1, step / (annealing·T)),
 * T the run's steps (paper: 10 of 200 epochs). `logits` = log α = softplus(log e) (their softmax is the Dirichlet mean
 * α/S),
 * `instanceLogits` = log α_i, `attention` = the AB-MIL attention of the backbone.
 */
import * as tf from '@tensorflow/tfjs';
import { MilBase } from './base';
import { AttentionScorer, softmaxOverInstances } from './layers/attention';
import { Dense } from './layers/dense';
import { checkRate, INSTANCE_ENCODER_DEFAULTS, type InstanceEncoderConfig, Mlp } from './layers/mlp';
import { klDirichletUniform } from './layers/specialFunctions';
import { stopGradient } from './layers/stopGradient';
import { tidyObject } from './layers/tidy';
import type { BaseModelConfig, ForwardOptions, LossTerms, MilOutput, Target } from './types';

export interface MirelConfig extends BaseModelConfig, InstanceEncoderConfig {
  /** Hidden width of the attention scorer and of the residual MLP. */
  attentionDim: number;
  /** Weight of the instance-level (residual) term. */
  instanceWeight: number;
  /** Share of the run over which the KL weight κ rises linearly from 0 to 1. */
  annealing: number;
}

export const MIREL_DEFAULTS: MirelConfig = {
  ...INSTANCE_ENCODER_DEFAULTS,
  hidden: [256],
  dropout: 0,
  attentionDim: 256,
  instanceWeight: 1,
  annealing: 0.05,
};

const CLAMP = 10;

export class Mirel extends MilBase<MirelConfig> {
  private readonly encoder: Mlp;
  private readonly scorer: AttentionScorer;
  private readonly head: Dense;
  private readonly residual: [Dense, Dense];
  private step = 0;
  private totalSteps?: number;

  constructor(config: MirelConfig) {
    super('mirel', config);
    checkRate(this.name, 'dropout', config.dropout);
    if (config.numClasses !== 2)
      throw new Error(
        `mirel: the instance residual is defined for binary MIL (numClasses 2), got ${config.numClasses}`,
      );
    if (!(config.instanceWeight >= 0))
      throw new Error(`mirel: instanceWeight must be ≥ 0, got ${config.instanceWeight}`);
    if (!(config.annealing >= 0 && config.annealing <= 1))
      throw new Error(`mirel: annealing must be in [0, 1], got ${config.annealing}`);
    const p = this.params;
    this.encoder = new Mlp(p.scope('encoder'), config.inputDim, config.hidden);
    const e = this.encoder.outDim;
    this.scorer = new AttentionScorer(p.scope('attention'), { kind: 'tanh', inDim: e, hiddenDim: config.attentionDim });
    this.head = new Dense(p.scope('classifier'), e, 2);
    this.residual = [
      new Dense(p.scope('residual/0'), e, config.attentionDim, 'tanh'),
      new Dense(p.scope('residual/1'), config.attentionDim, 2, 'tanh'),
    ];
  }

  setTotalIterations(total: number): void {
    this.totalSteps = total;
  }

  /** The KL weight κ now (1 when the run length is unknown). */
  klWeight(): number {
    if (!this.totalSteps || this.config.annealing === 0) return 1;
    return Math.min(1, this.step / (this.config.annealing * this.totalSteps));
  }

  randomState(): unknown {
    return { step: this.step };
  }

  setRandomState(state: unknown): void {
    this.step = (state as { step: number }).step;
  }

  forward(bag: tf.Tensor2D, opts: ForwardOptions): MilOutput {
    this.checkBag(bag);
    if (opts.training) this.step++;
    return tidyObject(() => {
      const h = this.encoder.apply(bag, opts.training, this.config.dropout, this.params.dropoutRng);
      const a = softmaxOverInstances(this.scorer.scores(h, opts.training)); // [1, N]
      const z = tf.matMul(a, h);
      const bagLogEvidence = tf.clipByValue(tf.reshape(this.head.apply(z), [-1]), -CLAMP, CLAMP);
      // Frozen instance evidence (log e_i = clamp(W h_i + b)), raised to the learned residual power.
      const frozen = stopGradient(h, (x) => tf.clipByValue(this.head.apply(x), -CLAMP, CLAMP)) as tf.Tensor2D;
      const r = this.residual[1].apply(this.residual[0].apply(h)) as tf.Tensor2D;
      const instLogEvidence = tf.mul(tf.add(r, 1), frozen) as tf.Tensor2D; // log ẽ_i, [N, 2]
      const out: MilOutput = {
        logits: tf.softplus(bagLogEvidence) as tf.Tensor1D,
        embedding: tf.reshape(z, [-1]) as tf.Tensor1D,
        attention: tf.reshape(a, [-1]) as tf.Tensor1D,
        instanceLogits: tf.softplus(instLogEvidence) as tf.Tensor2D,
      };
      if (opts.training && opts.target && this.config.instanceWeight > 0) {
        out.auxLosses = {
          instance: tf.mul(
            this.instanceTerm(instLogEvidence, classLabel(opts.target)),
            this.config.instanceWeight,
          ) as tf.Scalar,
        };
      }
      return out;
    });
  }

  override loss(out: MilOutput, target: Target): LossTerms {
    const y = classLabel(target);
    const cls = tf.tidy(() => {
      const logE = tf.log(tf.expm1(out.logits)); // logits = log α = softplus(log e), so log e = log(expm1(logits))
      return evidentialLoss(tf.reshape(logE, [1, 2]) as tf.Tensor2D, y, this.klWeight());
    });
    return { cls, ...out.auxLosses };
  }

  /** The instance residual term (see the file comment). */
  private instanceTerm(logEvidence: tf.Tensor2D, y: number): tf.Scalar {
    return tf.tidy(() => {
      const kappa = this.klWeight();
      if (y === 0) return evidentialLoss(logEvidence, 0, kappa);
      const e = tf.exp(logEvidence);
      const w = stopGradient(e, (x) => {
        const alpha = tf.add(x, 1);
        const pPos = tf.slice(tf.div(alpha, tf.sum(alpha, 1, true)), [0, 1], [-1, 1]);
        return tf.div(pPos, tf.sum(pPos));
      });
      const aggregated = tf.sum(tf.mul(w, e), 0, true) as tf.Tensor2D; // [1, 2]
      return evidentialLoss(tf.log(tf.add(aggregated, 1e-12)) as tf.Tensor2D, 1, kappa);
    });
  }
}

function classLabel(target: Target): number {
  if (target.kind !== 'class') throw new Error('mirel: evidential learning needs class targets (no survival)');
  return target.label;
}

/**
 * Mean over rows of ℓ(α, y) for log-evidence `[B, K]` (α = e + 1) and one label y (see the file
 * comment): expected squared error + κ·KL(Dir(α̃) ‖ Dir(1)) + the RED term −(K/S)·log e_y.
 */
export function evidentialLoss(logEvidence: tf.Tensor2D, y: number, kappa: number): tf.Scalar {
  return tf.tidy(() => {
    const k = logEvidence.shape[1];
    const alpha = tf.add(tf.exp(logEvidence), 1);
    const s = tf.sum(alpha, 1, true);
    const onehot = tf.oneHot(tf.fill([logEvidence.shape[0]], y, 'int32'), k).toFloat();
    const p = tf.div(alpha, s);
    const err = tf.sum(tf.add(tf.square(tf.sub(onehot, p)), tf.div(tf.mul(p, tf.sub(1, p)), tf.add(s, 1))), 1);
    const alphaTilde = tf.add(onehot, tf.mul(tf.sub(1, onehot), alpha)) as tf.Tensor2D;
    const kl = tf.mul(klDirichletUniform(alphaTilde), kappa);
    const logEy = tf.sum(tf.mul(onehot, logEvidence), 1);
    const red = tf.neg(tf.mul(tf.div(k, tf.reshape(s, [-1])), logEy));
    return tf.mean(tf.add(tf.add(err, kl), red)) as tf.Scalar;
  });
}
