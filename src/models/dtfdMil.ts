/**
 * DTFD-MIL: double-tier feature distillation (Zhang et al., CVPR 2022).
 * Idea: split each bag into M random pseudo-bags (which enlarges the training set), classify each with
 * an attention MIL (tier 1, trained with the parent bag's label), distil one or two feature vectors
 * per pseudo-bag, and classify the bag from those with a second attention MIL (tier 2).
 *
 * Reference defaults: 1024 → 512 (ReLU) dimension reduction, gated attention 512→128 in both tiers,
 * M = 4 pseudo-bags, distillation 'MaxMinS' (per pseudo-bag, the instances with the highest and the
 * lowest class-activation score p_i = softmax(W_c·(a_i h_i))₁, taken from the unweighted features),
 * or 'MaxS' (highest only), or 'AFS' (the attention-pooled feature). The loss is tier-2 CE + tier-1
 * CE (mean over pseudo-bags; `auxLosses.tier1`), which is what the reference's two backward passes sum to.
 * Pseudo-bags: random split while training (the model's seeded stream); at evaluation a deterministic
 * split that depends only on the instances' content (interleaved after sorting by the row sums), so
 * predictions depend neither on a random draw nor on the instance order.
 * `attention` = tier-2 weight of each pseudo-bag × tier-1 attention inside it (sums to 1).
 */
import * as tf from '@tensorflow/tfjs';
import { MilBase, PROJECTED_DEFAULTS, type ProjectionConfig } from './base';
import { AttentionScorer, softmaxOverInstances } from './layers/attention';
import { Dense } from './layers/dense';
import { dropout } from './layers/dropout';
import { tidyObject } from './layers/tidy';
import { bagLoss } from './losses';
import type { BaseModelConfig, ForwardOptions, MilOutput } from './types';

export type DtfdDistill = 'MaxMinS' | 'MaxS' | 'AFS';

export interface DtfdMilConfig extends BaseModelConfig, ProjectionConfig {
  /** Pseudo-bags per bag (fewer when the bag has fewer instances). */
  pseudoBags: number;
  distill: DtfdDistill;
  attentionDim: number;
}

export const DTFD_MIL_DEFAULTS: DtfdMilConfig = {
  ...PROJECTED_DEFAULTS,
  activation: 'relu',
  dropout: 0,
  pseudoBags: 4,
  distill: 'MaxMinS',
  attentionDim: 128,
};

export class DtfdMil extends MilBase<DtfdMilConfig> {
  private readonly projection: Dense;
  private readonly tier1: AttentionScorer;
  private readonly classifier1: Dense;
  private readonly tier2: AttentionScorer;
  private readonly classifier2: Dense;

  constructor(config: DtfdMilConfig) {
    super('dtfd-mil', config);
    if (!Number.isInteger(config.pseudoBags) || config.pseudoBags < 1)
      throw new Error(`dtfd-mil: pseudoBags must be a positive integer, got ${config.pseudoBags}`);
    if (!['MaxMinS', 'MaxS', 'AFS'].includes(config.distill))
      throw new Error(`dtfd-mil: distill must be MaxMinS, MaxS or AFS, got "${config.distill}"`);
    const { embedDim: e, attentionDim: d, numClasses: c } = config;
    const p = this.params;
    this.projection = new Dense(p.scope('projection'), config.inputDim, e, config.activation);
    this.tier1 = new AttentionScorer(p.scope('tier1/attention'), { kind: 'gated', inDim: e, hiddenDim: d });
    this.classifier1 = new Dense(p.scope('tier1/classifier'), e, c);
    this.tier2 = new AttentionScorer(p.scope('tier2/attention'), { kind: 'gated', inDim: e, hiddenDim: d });
    this.classifier2 = new Dense(p.scope('tier2/classifier'), e, c);
  }

  /** Instance indices of each pseudo-bag (np.array_split sizes: the first n mod M get one more). */
  private pseudoBagOrder(bag: tf.Tensor2D, training: boolean): number[][] {
    const n = bag.shape[0];
    const m = Math.min(this.config.pseudoBags, n);
    const groups: number[][] = Array.from({ length: m }, () => []);
    if (training) {
      const order = this.params.dropoutRng.shuffle(Array.from({ length: n }, (_, i) => i));
      const base = Math.floor(n / m);
      let at = 0;
      groups.forEach((g, i) => {
        const size = base + (i < n % m ? 1 : 0);
        g.push(...order.slice(at, at + size));
        at += size;
      });
    } else {
      const sums = tf.tidy(() => tf.sum(bag, 1).dataSync());
      const sorted = Array.from({ length: n }, (_, i) => i).sort((a, b) => sums[a] - sums[b] || a - b);
      sorted.forEach((idx, r) => groups[r % m].push(idx));
    }
    return groups;
  }

  forward(bag: tf.Tensor2D, opts: ForwardOptions): MilOutput {
    this.checkBag(bag);
    const groups = this.pseudoBagOrder(bag, opts.training);
    return tidyObject(() => {
      const n = bag.shape[0];
      const order = groups.flat();
      // Pseudo-bags are contiguous rows after one gather of the (non-trainable) input bag.
      const x = tf.gather(bag, tf.tensor1d(order, 'int32')) as tf.Tensor2D;
      // Dense.apply, not projectBag: projectBag's gradient reads its input later, and this gathered
      // copy is freed when forward returns (the engine's own saved tensors survive).
      const h = dropout(
        this.projection.apply(x) as tf.Tensor2D,
        this.config.dropout,
        opts.training,
        this.params.dropoutRng,
      );
      const distilled: tf.Tensor2D[] = [];
      const inner: tf.Tensor2D[] = [];
      const tier1Losses: tf.Scalar[] = [];
      const featuresPerGroup = this.config.distill === 'MaxMinS' ? 2 : 1;
      let at = 0;
      for (const g of groups) {
        const hg = tf.slice(h, [at, 0], [g.length, -1]) as tf.Tensor2D;
        at += g.length;
        const a = softmaxOverInstances(this.tier1.scores(hg, opts.training)); // [1, n_g]
        inner.push(a);
        const pooled = tf.matMul(a, hg) as tf.Tensor2D; // [1, E]
        const logits1 = this.classifier1.apply(pooled) as tf.Tensor2D;
        if (opts.target?.kind === 'class')
          tier1Losses.push(bagLoss(tf.reshape(logits1, [-1]) as tf.Tensor1D, opts.target));
        if (this.config.distill === 'AFS') {
          distilled.push(pooled);
          continue;
        }
        // Class-activation score of each instance: softmax over classes of W_c·(a_i h_i), last class.
        const cam = tf.softmax(this.classifier1.apply(tf.mul(hg, tf.reshape(a, [-1, 1])))) as tf.Tensor2D;
        const pos = tf.reshape(tf.slice(cam, [0, this.config.numClasses - 1], [-1, 1]), [-1]) as tf.Tensor1D;
        const picks = [tf.argMax(pos)];
        if (this.config.distill === 'MaxMinS') picks.push(tf.argMin(pos));
        if (g.length === 1) {
          distilled.push(tf.tile(hg, [picks.length, 1]) as tf.Tensor2D); // tf.oneHot needs depth ≥ 2
          continue;
        }
        const oneHot = tf.cast(tf.oneHot(tf.stack(picks) as tf.Tensor1D, g.length), 'float32') as tf.Tensor2D;
        distilled.push(tf.matMul(oneHot, hg)); // one-hot product: no gather on a recorded path
      }
      const pseudo = tf.concat(distilled) as tf.Tensor2D; // [M·f, E]
      const a2 = softmaxOverInstances(this.tier2.scores(pseudo, opts.training)); // [1, M·f]
      const z = tf.matMul(a2, pseudo);
      const groupWeight = tf.sum(tf.reshape(a2, [groups.length, featuresPerGroup]), 1); // [M]
      const permuted = tf.concat(inner.map((a, i) => tf.mul(tf.reshape(a, [-1]), tf.slice(groupWeight, [i], [1]))));
      const inverse = new Int32Array(n);
      order.forEach((src, pos) => (inverse[src] = pos));
      const out: MilOutput = {
        logits: tf.reshape(this.classifier2.apply(z), [-1]) as tf.Tensor1D,
        embedding: tf.reshape(z, [-1]) as tf.Tensor1D,
        attention: tf.gather(permuted, tf.tensor1d(inverse, 'int32')) as tf.Tensor1D,
      };
      if (tier1Losses.length > 0 && opts.training)
        out.auxLosses = { tier1: tf.mean(tf.stack(tier1Losses)) as tf.Scalar };
      return out;
    });
  }
}
