/**
 * GNN-MIL (Tu, Huang, He & Zhou, "Multiple instance learning with graph neural networks",
 * ICML 2019 workshop on learning and reasoning with graph-structured data).
 * Idea: treat the bag as a graph (instances closer than a threshold are connected), learn instance
 * embeddings with GraphSAGE, and pool the graph with DiffPool's learned soft clustering, so the bag
 * representation sees how instances relate, not only what they are.
 *
 * A_ij = 1 if |x_i − x_j|² ≤ τ·mean_{i,j}|x_i − x_j|² (self-loops included; the threshold is relative to
 * the bag's mean squared distance, so one default fits every feature scale);
 * SAGE(X) = l2norm(relu([X ‖ D⁻¹A X] W)); Z = SAGE_embed(x), S = softmax_K(SAGE_pool(x) W_s);
 * X' = SᵀZ `[K, E]`, A' = SᵀAS; Z' = SAGE(X', A'); logits = W_c mean_K(Z').
 * Training adds DiffPool's two regularisers to `auxLosses.pooling`: link prediction |A − SSᵀ|_F / N² and the
 * mean entropy of the assignments. The [N, N] adjacency is never stored for big bags: products with A
 * run over row blocks (layers/pairwise.ts).
 */
import * as tf from '@tensorflow/tfjs';
import { MilBase } from './base';
import { Dense } from './layers/dense';
import { dropout } from './layers/dropout';
import { matMulFast } from '../backend/fastGradients';
import { inRowBlocks, rows, sumOverRowBlocks } from './layers/pairwise';
import { tidyObject } from './layers/tidy';
import type { BaseModelConfig, ForwardOptions, MilOutput } from './types';

export interface GnnMilConfig extends BaseModelConfig {
  /** Width of the GraphSAGE embeddings. */
  embedDim: number;
  /** DiffPool clusters K. */
  clusters: number;
  /** Edge threshold τ, relative to the bag's mean squared pairwise distance. */
  edgeThreshold: number;
  dropout: number;
  /** Weight of DiffPool's link-prediction + entropy regularisers (1 in DiffPool). */
  poolLossWeight: number;
}

export const GNN_MIL_DEFAULTS: GnnMilConfig = {
  inputDim: 1024,
  numClasses: 2,
  seed: 0,
  embedDim: 128,
  clusters: 4,
  edgeThreshold: 0.5,
  dropout: 0.25,
  poolLossWeight: 1,
};

/** A GraphSAGE (mean aggregator) layer: l2norm(relu([X ‖ mean_neighbours(X)]·W + b)). */
class Sage {
  private readonly self: Dense;
  private readonly neigh: Dense;

  constructor(
    scope: import('./layers/params').ParamScope,
    inDim: number,
    outDim: number,
    private readonly normalise = true,
  ) {
    // [X ‖ M]·W = X·W_self + M·W_neigh: two products, no concatenated copy.
    this.self = new Dense(scope.scope('self'), inDim, outDim);
    this.neigh = new Dense(scope.scope('neighbours'), inDim, outDim, 'linear', false);
  }

  apply(x: tf.Tensor2D, neighbourMean: tf.Tensor2D, act = true): tf.Tensor2D {
    return tf.tidy(() => {
      let y = tf.add(this.self.apply(x), this.neigh.apply(neighbourMean)) as tf.Tensor2D;
      if (act) y = tf.relu(y);
      if (!this.normalise) return y;
      return tf.div(y, tf.sqrt(tf.add(tf.sum(tf.square(y), 1, true), 1e-12))) as tf.Tensor2D;
    });
  }
}

export class GnnMil extends MilBase<GnnMilConfig> {
  /** DiffPool assigns instances to clusters; it gives no per-instance weights. */
  override readonly returnsAttention = false;
  private readonly embed: Sage;
  private readonly pool: Sage;
  private readonly cluster: Sage;
  private readonly classifier: Dense;

  constructor(config: GnnMilConfig) {
    super('gnn-mil', config);
    const { inputDim: d, embedDim: e, clusters: k } = config;
    if (!Number.isInteger(k) || k < 1) throw new Error(`gnn-mil: clusters must be a positive integer, got ${k}`);
    if (!(config.edgeThreshold >= 0))
      throw new Error(`gnn-mil: edgeThreshold must be ≥ 0, got ${config.edgeThreshold}`);
    const p = this.params;
    this.embed = new Sage(p.scope('sage_embed'), d, e);
    this.pool = new Sage(p.scope('sage_pool'), d, k, false);
    this.cluster = new Sage(p.scope('sage_cluster'), e, e);
    this.classifier = new Dense(p.scope('classifier'), e, config.numClasses);
  }

  forward(bag: tf.Tensor2D, opts: ForwardOptions): MilOutput {
    this.checkBag(bag);
    return tidyObject(() => {
      const n = bag.shape[0];
      // Mean squared pairwise distance in O(N·D): 2·mean|x|² − 2·|mean x|².
      const sq = tf.sum(tf.square(bag), 1, true); // [N, 1]
      const meanD2 = tf.mul(tf.sub(tf.mean(sq), tf.sum(tf.square(tf.mean(bag, 0)))), 2);
      // |x_i − x_j|² ≤ τ  ⇔  |x_j|² − 2 x_i·x_j ≤ τ − |x_i|²: one product, one add, one compare per pair.
      const rowBound = tf.sub(tf.mul(meanD2, this.config.edgeThreshold), sq); // [N, 1]
      const colNorms = tf.reshape(sq, [1, -1]);
      const minus2x = tf.mul(bag, -2) as tf.Tensor2D;
      const bagT = tf.transpose(bag);
      const adjacency = (r: number, m: number) =>
        tf.cast(
          tf.lessEqual(tf.add(tf.matMul(rows(minus2x, r, m), bagT), colNorms), rows(rowBound as tf.Tensor2D, r, m)),
          'float32',
        ) as tf.Tensor2D;
      // A·[X ‖ 1] gives the neighbour sums and the degrees (≥ 1: the self-loop) in one pass.
      const withOnes = tf.concat([bag, tf.ones([n, 1])], 1);
      const sums = inRowBlocks(n, (r, m) => tf.matMul(adjacency(r, m), withOnes)) as tf.Tensor2D;
      const degree = tf.slice(sums, [0, this.config.inputDim], [n, 1]);
      const neighbourMean = tf.div(tf.slice(sums, [0, 0], [n, this.config.inputDim]), degree) as tf.Tensor2D;
      const z = dropout(
        this.embed.apply(bag, neighbourMean),
        this.config.dropout,
        opts.training,
        this.params.dropoutRng,
      ); // [N, E]
      const s = tf.softmax(this.pool.apply(bag, neighbourMean, false)) as tf.Tensor2D; // [N, K]
      const st = tf.transpose(s); // [K, N]
      const xc = tf.matMul(st, z) as tf.Tensor2D; // [K, E]
      const ac = sumOverRowBlocks(n, (r, m) =>
        tf.matMul(tf.transpose(rows(s, r, m)), tf.matMul(adjacency(r, m), s)),
      ) as tf.Tensor2D; // SᵀAS
      const clusterMean = tf.div(tf.matMul(ac, xc), tf.add(tf.sum(ac, 1, true), 1e-9)) as tf.Tensor2D;
      const pooled = tf.mean(this.cluster.apply(xc, clusterMean), 0, true) as tf.Tensor2D; // [1, E]
      const out: MilOutput = {
        logits: tf.reshape(this.classifier.apply(pooled), [-1]) as tf.Tensor1D,
        embedding: tf.reshape(pooled, [-1]) as tf.Tensor1D,
      };
      if (opts.training && this.config.poolLossWeight > 0) {
        // |A − SSᵀ|²_F = Σ A (A is 0/1) − 2·tr(SᵀAS) + |SᵀS|²_F: no [N, N] difference is formed.
        const sumA = tf.sum(degree);
        const gram = matMulFast(s, s, true, false); // SᵀS [K, K]
        const frob2 = tf.add(
          tf.sub(sumA, tf.mul(tf.sum(tf.mul(ac, tf.eye(this.config.clusters))), 2)),
          tf.sum(tf.square(gram)),
        );
        // The three terms cancel as S approaches A's blocks: clamp, and keep sqrt's gradient finite at 0.
        const link = tf.div(tf.sqrt(tf.add(tf.relu(frob2), 1e-6)), n * n);
        const entropy = tf.mean(tf.neg(tf.sum(tf.mul(s, tf.log(tf.add(s, 1e-12))), 1)));
        out.auxLosses = { pooling: tf.mul(tf.add(link, entropy), this.config.poolLossWeight) as tf.Scalar };
      }
      return out;
    });
  }
}
