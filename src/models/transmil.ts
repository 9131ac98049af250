/**
 * TransMIL (Shao et al., NeurIPS 2021) in the form MHIM-MIL runs it (`SAttention`,
 * `models/transmil.py` of Tang et al.'s MHIM-MIL repository): a class token (N(0, 1) init) is prepended to the
 * projected instances;
 * layer 1 = x + Nyström(LN(x)); PPEG on the instance tokens; layer 2 = x + Nyström(LN(x));
 * a final LayerNorm; the bag embedding is the class token, and a linear classifier gives the logits.
 * Nyström: 8 heads × embedDim/8 (64), embedDim/2 (256) landmarks as the reference derives them from
 * dim, 6 pinv iterations, residual depthwise conv (33) on V,
 * dropout 0.1 in to_out. `attention` is the class token's layer-1 attention over the instances,
 * averaged over heads (it sums to ≈1, not exactly: Nyström approximates the softmax row, and the
 * zero padding tokens take a share). It is not computed while a gradient is recorded (it is not
 * part of the loss and would add saved copies of the [L, 256] attention matrices to the tape).
 */
import * as tf from '@tensorflow/tfjs';
import { tidyObject } from './layers/tidy';
import { PROJECTED_DEFAULTS, ProjectedMil, type ProjectionConfig } from './base';
import { checkpointed } from './layers/checkpoint';
import { Dense, recordingGradients } from './layers/dense';
import { LayerNorm } from './layers/layerNorm';
import { NystromAttention } from './layers/nystrom';
import { normalTensor } from './layers/params';
import { PPEG } from './layers/ppeg';
import type { BaseModelConfig, ForwardOptions, InstanceEncoder, MilOutput } from './types';

export interface TransmilConfig extends BaseModelConfig, ProjectionConfig {
  heads: number;
  /** Width of each head; default embedDim / 8 (the reference's `dim_head = dim // 8`: 64 at 512). */
  headDim?: number;
  /** Nyström landmarks; default embedDim / 2 (the reference's `num_landmarks = dim // 2`: 256 at 512). */
  landmarks?: number;
  pinvIterations: number;
  /**
   * Depthwise conv over V along the token order (33, the reference). It mixes each token with its
   * neighbours by position, so on small, randomly ordered bags (MNIST-bags, ~10 instances) TransMIL
   * memorises the order instead of finding the witness (test AUC 0.57 with 5, 0.64 with 33); use 1 there
   * (0.83; test/data-suite/models/core-models.test.ts).
   */
  residualKernel: number;
  /** Dropout in each Nyström layer's output projection (0.1). */
  attentionDropout: number;
  /**
   * Gradient checkpointing of the two layers while training: far less memory, one more forward of each layer per step.
   */
  checkpoint: boolean;
}

export const TRANSMIL_DEFAULTS: TransmilConfig = {
  ...PROJECTED_DEFAULTS,
  heads: 8,
  pinvIterations: 6,
  residualKernel: 33,
  attentionDropout: 0.1,
  checkpoint: true,
};

export class Transmil extends ProjectedMil<TransmilConfig> {
  private readonly clsToken: tf.Variable;
  private readonly norm1: LayerNorm;
  private readonly attn1: NystromAttention;
  private readonly ppeg: PPEG;
  private readonly norm2: LayerNorm;
  private readonly attn2: NystromAttention;
  private readonly norm: LayerNorm;
  private readonly classifier: Dense;

  constructor(config: TransmilConfig, encoder?: InstanceEncoder) {
    super('transmil', config, encoder);
    const p = this.params;
    const e = config.embedDim;
    const nys = {
      dim: e,
      heads: config.heads,
      headDim: config.headDim ?? Math.max(1, Math.floor(e / 8)),
      landmarks: config.landmarks ?? Math.max(1, Math.floor(e / 2)),
      pinvIterations: config.pinvIterations,
      residualKernel: config.residualKernel,
      dropout: config.attentionDropout,
    };
    this.clsToken = p.add('cls_token', normalTensor(p.initRng, [1, e], 1));
    this.norm1 = new LayerNorm(p.scope('layer1/norm'), e);
    this.attn1 = new NystromAttention(p.scope('layer1/attn'), nys);
    this.ppeg = new PPEG(p.scope('ppeg'), e);
    this.norm2 = new LayerNorm(p.scope('layer2/norm'), e);
    this.attn2 = new NystromAttention(p.scope('layer2/attn'), nys);
    this.norm = new LayerNorm(p.scope('norm'), e);
    this.classifier = new Dense(p.scope('classifier'), e, config.numClasses);
  }

  aggregate(h: tf.Tensor2D, opts: ForwardOptions): MilOutput {
    if (this.config.checkpoint && recordingGradients()) return this.aggregateCheckpointed(h, opts);
    return tidyObject(() => {
      const n = h.shape[0];
      // Each stage in its own tidy: only its result outlives it (the no-gradient forward's peak,
      // e.g. the MHIM teacher's on the whole bag, is then one stage's temporaries).
      const r1 = tidyObject(() => {
        const x0 = tf.concat([this.clsToken as tf.Tensor2D, h]) as tf.Tensor2D;
        const r = this.attn1.apply(this.norm1.apply(x0), opts.training, 0);
        return { x: tf.add(x0, r.out) as tf.Tensor2D, clsAttention: r.clsAttention, values: r.values };
      });
      const x = tf.tidy(() => this.layer2(this.positional(r1.x), opts.training));
      const out: MilOutput = this.readout(x);
      if (r1.clsAttention) {
        out.attention = tf.mean(r1.clsAttention, 0) as tf.Tensor1D;
        out.headAttention = r1.clsAttention;
      }
      if (opts.returnInstanceFeatures && r1.clsAttention) {
        // to_out(concat_h a_{h,i}·v_{h,i}) of layer 1, per instance (MHIM's class-aware score for TransMIL).
        const [heads, , d] = r1.values.shape;
        const vInst = tf.slice(r1.values, [0, 1, 0], [heads, n, d]); // drop the cls row
        const weighted = tf.mul(vInst, tf.expandDims(r1.clsAttention!, 2));
        out.instanceFeatures = this.attn1.toOut.apply(
          tf.reshape(tf.transpose(weighted, [1, 0, 2]), [n, heads * d]),
        ) as tf.Tensor2D;
      }
      return out;
    });
  }

  /**
   * The same forward while a gradient is recorded, as three checkpointed blocks (layer 1; PPEG;
   * layer 2): the tape keeps their inputs only and the backward pass recomputes each block, so
   * a training step at N = 8000 stays well inside the wasm heap. The values are those of the plain
   * path (same ops, same dropout masks); the class-token maps are not computed here (as before:
   * they are not part of the loss).
   */
  private aggregateCheckpointed(h: tf.Tensor2D, opts: ForwardOptions): MilOutput {
    return tidyObject(() => {
      const rng = this.params.dropoutRng;
      const layer1 = (x: tf.Tensor2D) =>
        tf.add(x, this.attn1.apply(this.norm1.apply(x), opts.training, 0).out) as tf.Tensor2D;
      let x = tf.concat([this.clsToken as tf.Tensor2D, h]) as tf.Tensor2D;
      x = checkpointed(layer1, x, [this.norm1.gamma, this.norm1.beta, ...this.attn1.variables()], rng);
      // PPEG apart from layer 2: each recomputation's tape and gradients are freed before the next.
      x = checkpointed((t) => this.positional(t), x, this.ppeg.variables());
      x = checkpointed(
        (t) => this.layer2(t, opts.training),
        x,
        [this.norm2.gamma, this.norm2.beta, ...this.attn2.variables()],
        rng,
      );
      return this.readout(x);
    });
  }

  /** The class token unchanged, PPEG over the instance tokens. */
  private positional(x: tf.Tensor2D): tf.Tensor2D {
    const [len, e] = x.shape;
    return tf.concat([tf.slice(x, [0, 0], [1, e]), this.ppeg.apply(tf.slice(x, [1, 0], [len - 1, e]))]) as tf.Tensor2D;
  }

  private layer2(x: tf.Tensor2D, training: boolean): tf.Tensor2D {
    return tf.add(x, this.attn2.apply(this.norm2.apply(x), training, 0).out) as tf.Tensor2D;
  }

  /** Logits and embedding from the normalised class token. */
  private readout(x: tf.Tensor2D): MilOutput {
    const z = tf.slice(this.norm.apply(x), [0, 0], [1, x.shape[1]]);
    return {
      logits: tf.reshape(this.classifier.apply(z), [-1]) as tf.Tensor1D,
      embedding: tf.reshape(z, [-1]) as tf.Tensor1D,
    };
  }

  classify(z: tf.Tensor2D): tf.Tensor2D {
    return this.classifier.apply(z) as tf.Tensor2D;
  }
}
