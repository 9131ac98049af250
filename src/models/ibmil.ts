/**
 * IBMIL: interventional bag multiple instance learning (Lin et al., CVPR 2023).
 * Idea: bag-level contexts (stain, scanner, site) confound the bag label; a backdoor adjustment
 * with a dictionary of such contexts (k-means centres of a trained model's bag embeddings) lets the
 * classifier see "what this bag looks like under each context" instead of the shortcut.
 *
 * Aggregator as AB-MIL (projection, tanh attention 128, z = Σ a_i h_i). With the confounder
 * dictionary C `[K, E]`: α = softmax_K((W_q z)·(W_k C)ᵀ/√128) (dropout 0.1 on α), c = α·C, and
 * logits = W_c [z ‖ c] (the reference's 'cat' merge, uniform priors). While C is all zeros (before
 * it is built) c = 0 and the model is plain AB-MIL with a wider classifier.
 *
 * How the dictionary is built (the paper's stage 2): train the aggregator (stage 1), run it in
 * evaluation mode on every TRAINING bag, k-means (k-means++, seeded) the bag embeddings z into K
 * centres, store them in C (a non-trainable variable, saved with the model), then train with the
 * interventional branch (stage 3). Two ways to run it:
 *  - by hand: train, then `buildConfounders(model, trainingBags)`, then train again;
 *  - inside any trainer run: `trainingStep` trains stage 1 for the first `stageOneFraction` of the run's
 *    steps while recording each training bag's evaluation-mode embedding at its latest visit, builds C
 *    from those at the switch, and continues from the stage-1 weights (the paper retrains the
 *    aggregator from scratch; continuing keeps one run per fold).
 */
import * as tf from '@tensorflow/tfjs';
import { PROJECTED_DEFAULTS, ProjectedMil, type ProjectionConfig, uploadBag } from './base';
import { AttentionScorer, softmaxOverInstances } from './layers/attention';
import { Dense } from './layers/dense';
import { dropout } from './layers/dropout';
import { matMulFast } from '../backend/fastGradients';
import { tidyObject } from './layers/tidy';
import { kMeans } from './kmeans';
import type {
  BaseModelConfig,
  ForwardOptions,
  InstanceEncoder,
  MilOutput,
  StepBag,
  Target,
  TrainingStep,
} from './types';

export interface IbmilConfig extends BaseModelConfig, ProjectionConfig {
  attentionDim: number;
  /** Confounder dictionary size K. */
  confounders: number;
  /** Width of the joint query/key space (128). */
  jointDim: number;
  /** Dropout on the confounder attention (0.1). */
  confounderDropout: number;
  /** Share of a trainer run spent in stage 1 before the dictionary is built (trainer runs only). */
  stageOneFraction: number;
}

export const IBMIL_DEFAULTS: IbmilConfig = {
  ...PROJECTED_DEFAULTS,
  attentionDim: 128,
  confounders: 8,
  jointDim: 128,
  confounderDropout: 0.1,
  stageOneFraction: 0.5,
};

export class Ibmil extends ProjectedMil<IbmilConfig> {
  private readonly scorer: AttentionScorer;
  private readonly wq: Dense;
  private readonly wk: Dense;
  private readonly classifier: Dense;
  private readonly dictionary: tf.Variable;
  /** [steps taken, dictionary built (0/1)], non-trainable so a resumed run knows where it was. */
  private readonly progress: tf.Variable;
  private state?: { step: number; built: boolean };
  private totalSteps?: number;
  private readonly latest = new Map<string, tf.Tensor1D>();

  constructor(config: IbmilConfig, encoder?: InstanceEncoder) {
    super('ibmil', config, encoder);
    const { embedDim: e, jointDim: j, confounders: k } = config;
    if (!Number.isInteger(k) || k < 1) throw new Error(`ibmil: confounders must be a positive integer, got ${k}`);
    if (!(config.stageOneFraction > 0 && config.stageOneFraction < 1))
      throw new Error(`ibmil: stageOneFraction must be in (0, 1), got ${config.stageOneFraction}`);
    const p = this.params;
    this.scorer = new AttentionScorer(p.scope('attention'), { kind: 'tanh', inDim: e, hiddenDim: config.attentionDim });
    this.wq = new Dense(p.scope('confounder/W_q'), e, j);
    this.wk = new Dense(p.scope('confounder/W_k'), e, j);
    this.classifier = new Dense(p.scope('classifier'), 2 * e, config.numClasses);
    this.dictionary = p.add('confounder/dictionary', tf.zeros([k, e]), false);
    this.progress = p.add('confounder/progress', tf.zeros([2]), false);
  }

  aggregate(h: tf.Tensor2D, opts: ForwardOptions): MilOutput {
    return tidyObject(() => {
      const a = softmaxOverInstances(this.scorer.scores(h, opts.training)); // [1, N]
      const z = tf.matMul(a, h) as tf.Tensor2D; // [1, E]
      const scores = tf.mul(
        matMulFast(this.wq.apply(z), this.wk.apply(this.dictionary), false, true),
        1 / Math.sqrt(this.config.jointDim),
      );
      const alpha = dropout(tf.softmax(scores), this.config.confounderDropout, opts.training, this.params.dropoutRng);
      const merged = tf.concat([z, tf.matMul(alpha, this.dictionary)], 1);
      const out: MilOutput = {
        logits: tf.reshape(this.classifier.apply(merged), [-1]) as tf.Tensor1D,
        embedding: tf.reshape(z, [-1]) as tf.Tensor1D,
        attention: tf.reshape(a, [-1]) as tf.Tensor1D,
      };
      return out;
    });
  }

  /** Stores K centres (`K × E` row-major; fewer rows are repeated cyclically) as the dictionary. */
  setConfounders(centroids: Float32Array, rows: number): void {
    const { confounders: k, embedDim: e } = this.config;
    if (rows < 1 || centroids.length !== rows * e)
      throw new Error(`ibmil: expected ${rows} × ${e} centroid values, got ${centroids.length}`);
    const full = new Float32Array(k * e);
    for (let r = 0; r < k; r++) full.set(centroids.subarray((r % rows) * e, ((r % rows) + 1) * e), r * e);
    this.dictionary.assign(tf.tensor2d(full, [k, e]));
    this.markProgress(this.current().step, true);
  }

  /** True once a dictionary was built or set. */
  hasConfounders(): boolean {
    return this.current().built;
  }

  setTotalIterations(total: number): void {
    this.totalSteps = total;
  }

  /** The plain step, then (stage 1) the bag's latest embedding, and the switch to stage 2 when due. */
  override trainingStep(bag: StepBag, target: Target): TrainingStep {
    const x = uploadBag(bag);
    const state = this.current();
    return {
      loss: () => this.loss(this.forward(x, { training: true, coords: bag.coords, target }), target),
      finish: () => {
        if (!state.built && this.totalSteps) {
          // The bag's evaluation-mode embedding after this step: its latest view in stage 1.
          const z = tf.tidy(() => this.forward(x, { training: false, coords: bag.coords }).embedding);
          this.latest.get(bag.id)?.dispose();
          this.latest.set(bag.id, z);
        }
        x.dispose();
        const step = state.step + 1;
        const switchAt = this.totalSteps
          ? Math.max(1, Math.round(this.totalSteps * this.config.stageOneFraction))
          : Infinity;
        if (!state.built && step >= switchAt) this.buildFromLatest(step);
        else this.markProgress(step, state.built);
      },
    };
  }

  private buildFromLatest(step: number): void {
    const embeddings = [...this.latest.values()].map((t) => t.dataSync());
    const { centroids } = kMeans(embeddings, Math.min(this.config.confounders, embeddings.length), {
      seed: this.config.seed ?? 0,
    });
    this.setConfounders(centroids, centroids.length / this.config.embedDim);
    this.markProgress(step, true);
    for (const t of this.latest.values()) t.dispose();
    this.latest.clear();
  }

  private current(): { step: number; built: boolean } {
    if (!this.state) {
      const [step, built] = this.progress.dataSync();
      this.state = { step, built: built > 0 };
    }
    return this.state;
  }

  private markProgress(step: number, built: boolean): void {
    this.state = { step, built };
    this.progress.assign(tf.tensor1d([step, built ? 1 : 0]));
  }

  override dispose(): void {
    for (const t of this.latest.values()) t.dispose();
    this.latest.clear();
    super.dispose();
  }
}

/**
 * The paper's dictionary step by hand: evaluation-mode bag embeddings of `bags` (the TRAINING bags,
 * with the same preprocessing as in training) from the trained `model`, k-means into K centres, stored
 * in the model. Returns the cluster sizes.
 */
export function buildConfounders(model: Ibmil, bags: Iterable<tf.Tensor2D>): number[] {
  const embeddings: Float32Array[] = [];
  for (const bag of bags)
    embeddings.push(tf.tidy(() => model.forward(bag, { training: false }).embedding.dataSync() as Float32Array));
  const k = Math.min(model.config.confounders, embeddings.length);
  const { centroids, sizes } = kMeans(embeddings, k, { seed: model.config.seed ?? 0 });
  model.setConfounders(centroids, k);
  return sizes;
}
