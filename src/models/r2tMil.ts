/**
 * R²T-MIL: regional re-embedding transformer in front of an aggregator (Tang et al.,
 * "Feature Re-Embedding: Towards Foundation Model-Level Performance in Computational
 * Pathology", CVPR 2024), the RRT-MIL that MHIM-MIL's extended comparison includes.
 * Idea: re-embed frozen patch features online before MIL pooling, with self-attention inside
 * local regions (cheap, keeps local context) plus a cross-region step among region summaries.
 *
 * Layout as the reference: the N instances fill a ⌈√N⌉-sided square row-major (zero padding),
 * cut into regions of s × s (s = max(minRegionSide, ⌈side / regionNum⌉)); R-MSA = pre-norm multi-head
 * self-attention inside each region (padding masked) with a residual; CR-MSA = each region is
 * summarised by a softmax-weighted sum of its tokens, the summaries attend to each other (multi-head,
 * pre-norm) and each token adds its region's result. Then AB-MIL (tanh attention 128) pools the
 * re-embedded instances. With `coords` (forward only) instances are first sorted into raster order
 * (y, then x), so regions are spatial and the result does not depend on the stored order; without
 * coords the stored order is the layout (as in the reference), so the model is not permutation-invariant.
 * Simplified: no EPEG (the reference's convolutional position encoding on the attention logits) and
 * one summary per region in CR-MSA (the reference uses k = 3).
 */
import * as tf from '@tensorflow/tfjs';
import { PROJECTED_DEFAULTS, ProjectedMil, type ProjectionConfig } from './base';
import { AttentionScorer, softmaxOverInstances } from './layers/attention';
import { MultiHeadCrossAttention } from './layers/crossAttention';
import { Dense } from './layers/dense';
import { dropout } from './layers/dropout';
import { batchMatMul, matMulFast } from '../backend/fastGradients';
import { LayerNorm } from './layers/layerNorm';
import { tidyObject } from './layers/tidy';
import type { BaseModelConfig, ForwardOptions, InstanceEncoder, MilOutput } from './types';

export interface R2tMilConfig extends BaseModelConfig, ProjectionConfig {
  heads: number;
  headDim: number;
  /** Regions per side of the instance square (8). */
  regionNum: number;
  /** Smallest region side, so tiny bags still form multi-token regions. */
  minRegionSide: number;
  /** Run the cross-region step (CR-MSA). */
  crossRegion: boolean;
  attentionDim: number;
}

export const R2T_MIL_DEFAULTS: R2tMilConfig = {
  ...PROJECTED_DEFAULTS,
  activation: 'relu',
  heads: 8,
  headDim: 64,
  regionNum: 8,
  minRegionSide: 2,
  crossRegion: true,
  attentionDim: 128,
};

/** Region geometry of a bag of n instances. */
export function regionLayout(
  n: number,
  regionNum: number,
  minRegionSide: number,
): { side: number; regionSide: number; perSide: number } {
  const side = Math.ceil(Math.sqrt(n));
  const regionSide = Math.max(minRegionSide, Math.ceil(side / regionNum));
  return { side, regionSide, perSide: Math.ceil(side / regionSide) };
}

export class R2tMil extends ProjectedMil<R2tMilConfig> {
  private readonly norm: LayerNorm;
  private readonly toQKV: Dense;
  private readonly toOut: Dense;
  private readonly summary?: Dense;
  private readonly cross?: MultiHeadCrossAttention;
  private readonly scorer: AttentionScorer;
  private readonly classifier: Dense;

  constructor(config: R2tMilConfig, encoder?: InstanceEncoder) {
    super('r2t-mil', config, encoder);
    for (const k of ['heads', 'headDim', 'regionNum', 'minRegionSide'] as const) {
      if (!Number.isInteger(config[k]) || config[k] < 1)
        throw new Error(`r2t-mil: ${k} must be a positive integer, got ${config[k]}`);
    }
    const { embedDim: e, heads, headDim } = config;
    const p = this.params;
    this.norm = new LayerNorm(p.scope('rmsa/norm'), e);
    this.toQKV = new Dense(p.scope('rmsa/to_qkv'), e, 3 * heads * headDim, 'linear', false);
    this.toOut = new Dense(p.scope('rmsa/to_out'), heads * headDim, e);
    if (config.crossRegion) {
      this.summary = new Dense(p.scope('crmsa/summary'), e, 1);
      this.cross = new MultiHeadCrossAttention(p.scope('crmsa/attention'), { dim: e, heads, headDim, dropout: 0 });
    }
    this.scorer = new AttentionScorer(p.scope('attention'), { kind: 'tanh', inDim: e, hiddenDim: config.attentionDim });
    this.classifier = new Dense(p.scope('classifier'), e, config.numClasses);
  }

  override forward(bag: tf.Tensor2D, opts: ForwardOptions): MilOutput {
    if (!opts.coords) return super.forward(bag, opts);
    this.checkBag(bag);
    const n = bag.shape[0];
    const c = opts.coords;
    if (c.length !== 2 * n) throw new Error(`r2t-mil: coords hold ${c.length} values, expected 2 × ${n}`);
    const raster = Array.from({ length: n }, (_, i) => i).sort(
      (a, b) => c[2 * a + 1] - c[2 * b + 1] || c[2 * a] - c[2 * b] || a - b,
    );
    const inverse = new Int32Array(n);
    raster.forEach((src, pos) => (inverse[src] = pos));
    return tidyObject(() => {
      // Gathering the input bag (no gradient needed) keeps gathers off the recorded path.
      const sorted = tf.gather(bag, tf.tensor1d(raster, 'int32')) as tf.Tensor2D;
      // Dense.apply, not projectBag: projectBag's gradient reads its input later, and this gathered
      // copy is freed when forward returns (the engine's own saved tensors survive).
      const h = dropout(
        this.projection.apply(sorted) as tf.Tensor2D,
        this.config.dropout,
        opts.training,
        this.params.dropoutRng,
      );
      const out = this.aggregate(h, { ...opts, coords: undefined });
      const back = (t: tf.Tensor) => tf.gather(t, tf.tensor1d(inverse, 'int32'));
      if (out.attention) out.attention = back(out.attention) as tf.Tensor1D;
      if (out.instanceFeatures) out.instanceFeatures = back(out.instanceFeatures) as tf.Tensor2D;
      return out;
    });
  }

  aggregate(h: tf.Tensor2D, opts: ForwardOptions): MilOutput {
    return tidyObject(() => {
      const [n, e] = h.shape;
      const { heads, headDim: d } = this.config;
      const { regionSide: s, perSide: q } = regionLayout(n, this.config.regionNum, this.config.minRegionSide);
      const padded = q * s * q * s;
      const regions = q * q;
      const t = s * s;
      const toRegions = (x: tf.Tensor2D) =>
        tf.reshape(tf.transpose(tf.reshape(x, [q, s, q, s, e]), [0, 2, 1, 3, 4]), [regions, t, e]);
      const fromRegions = (x: tf.Tensor3D) =>
        tf.reshape(tf.transpose(tf.reshape(x, [q, q, s, s, e]), [0, 2, 1, 3, 4]), [padded, e]);
      const grid = padded > n ? tf.concat([h, tf.zeros([padded - n, e])]) : h;
      let x = toRegions(grid as tf.Tensor2D) as tf.Tensor3D; // [R, T, E]
      // Additive mask of the padding cells (row-major index ≥ n), per region.
      const maskValues = new Float32Array(regions * t);
      for (let r = 0; r < regions; r++) {
        for (let k = 0; k < t; k++) {
          const [ry, rx, ky, kx] = [Math.floor(r / q), r % q, Math.floor(k / s), k % s];
          if ((ry * s + ky) * q * s + rx * s + kx >= n) maskValues[r * t + k] = -1e9;
        }
      }
      const mask = tf.tensor3d(maskValues, [regions, 1, t]);

      // R-MSA: multi-head attention inside each region, batched over heads × regions.
      const qkv = tf.transpose(
        tf.reshape(this.toQKV.apply(this.norm.apply(x)), [regions, t, 3 * heads, d]),
        [2, 0, 1, 3],
      ); // [3h, R, T, d]
      const [qh, kh, vh] = (tf.split(qkv, 3) as tf.Tensor4D[]).map(
        (u) => tf.reshape(u, [heads * regions, t, d]) as tf.Tensor3D,
      );
      const headMask = tf.reshape(tf.tile(tf.expandDims(mask, 0), [heads, 1, 1, 1]), [heads * regions, 1, t]);
      const attn = tf.softmax(
        tf.add(tf.mul(matMulFast(qh, kh, false, true), 1 / Math.sqrt(d)), headMask),
      ) as tf.Tensor3D;
      const o = tf.reshape(tf.transpose(tf.reshape(batchMatMul(attn, vh), [heads, regions, t, d]), [1, 2, 0, 3]), [
        regions * t,
        heads * d,
      ]);
      x = tf.add(x, tf.reshape(this.toOut.apply(o), [regions, t, e])) as tf.Tensor3D;

      // CR-MSA: one softmax-weighted summary per region, attention among the summaries, added back.
      if (this.summary && this.cross) {
        const w = tf.softmax(tf.add(tf.reshape(this.summary.apply(x), [regions, 1, t]), mask)) as tf.Tensor3D;
        const summaries = tf.reshape(batchMatMul(w, x), [regions, e]) as tf.Tensor2D;
        const mixed = this.cross.apply(summaries, summaries, opts.training);
        x = tf.add(x, tf.reshape(mixed, [regions, 1, e])) as tf.Tensor3D;
      }
      const y = tf.slice(fromRegions(x), [0, 0], [n, e]) as tf.Tensor2D;
      const a = softmaxOverInstances(this.scorer.scores(y, opts.training));
      const z = tf.matMul(a, y);
      const out: MilOutput = {
        logits: tf.reshape(this.classifier.apply(z), [-1]) as tf.Tensor1D,
        embedding: tf.reshape(z, [-1]) as tf.Tensor1D,
        attention: tf.reshape(a, [-1]) as tf.Tensor1D,
      };
      if (opts.returnInstanceFeatures) out.instanceFeatures = tf.mul(y, tf.reshape(a, [-1, 1])) as tf.Tensor2D;
      return out;
    });
  }

  classify(z: tf.Tensor2D): tf.Tensor2D {
    return this.classifier.apply(z) as tf.Tensor2D;
  }
}
