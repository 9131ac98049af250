/**
 * The instance-MLP set-up the MLP-based MIL models share: an `Mlp` over the instances and a linear
 * head reading its output (mi-/MI-Net, DP-MINN, Loss-Attention: class logits; adaptive, power and
 * certainty pooling: instance scores), plus the output of the max-pooling instance models
 * (MIVAE, CausalMIL, FocusMIL). Parameter names and creation order are the models' own
 * (`<mlpScope>/<i>/…`, then `classifier/…`), so checkpoints and seeded weights are unchanged.
 */
import * as tf from '@tensorflow/tfjs';
import type { MilOutput } from '../types';
import { Dense } from './dense';
import { maxPoolingAttention, scoredClasses, toClassLogits } from './instanceScores';
import { checkRate, Mlp } from './mlp';
import type { ParamScope, ParamStore } from './params';

/** What the MLP reads from a model config. */
export interface InstanceMlpConfig {
  inputDim: number;
  numClasses: number;
  hidden: number[];
  dropout: number;
  activation?: 'relu' | 'gelu';
}

interface Layout {
  /** Scope of the hidden layers: 'hidden' (mi-Net lineage) or 'encoder' (instance-level catalogue). */
  mlpScope: 'hidden' | 'encoder';
  /** Width of the head. */
  outputs: number;
  /** First layer through `projectBag` (no input gradient, fused kernel). */
  fromBag: boolean;
}

export class InstanceMlp {
  readonly mlp: Mlp;
  readonly head: Dense;

  /**
   * mi-Net lineage (mi-/MI-Net, DP-MINN, Loss-Attention): layers 'hidden/<i>', a head of C class
   * logits, and the plain layer path for the first layer (the path these models were measured with).
   */
  static classLogits(params: ParamStore, model: string, config: InstanceMlpConfig): InstanceMlp {
    return new InstanceMlp(params, model, config, { mlpScope: 'hidden', outputs: config.numClasses, fromBag: false });
  }

  /**
   * Instance-level pooling models: layers 'encoder/<i>', a head of `scoredClasses(C)` instance scores, `projectBag`.
   */
  static instanceScores(params: ParamStore, model: string, config: InstanceMlpConfig): InstanceMlp {
    return new InstanceMlp(params, model, config, {
      mlpScope: 'encoder',
      outputs: scoredClasses(config.numClasses),
      fromBag: true,
    });
  }

  private constructor(
    private readonly params: ParamStore,
    model: string,
    private readonly config: InstanceMlpConfig,
    private readonly layout: Layout,
  ) {
    const { hidden } = config;
    if (hidden.length === 0 || !hidden.every((w) => Number.isInteger(w) && w > 0)) {
      throw new Error(
        `${model}: hidden must list at least one positive integer layer width, got [${hidden.join(', ')}]`,
      );
    }
    checkRate(model, 'dropout', config.dropout);
    this.mlp = new Mlp(params.scope(layout.mlpScope), config.inputDim, hidden, config.activation);
    this.head = new Dense(params.scope('classifier'), this.mlp.outDim, layout.outputs);
  }

  /** Instance embeddings `[N, hidden.at(-1)]` (dropout while training, from the model's dropout stream). */
  embed(bag: tf.Tensor2D, training: boolean): tf.Tensor2D {
    return this.mlp.apply(bag, training, this.config.dropout, this.params.dropoutRng, this.layout.fromBag);
  }

  /** The head on embeddings (or on a pooled `[1, E]` row). */
  score(h: tf.Tensor2D): tf.Tensor2D {
    return this.head.apply(h) as tf.Tensor2D;
  }
}

/** The linear instance scorer of the instance-level models: `inDim` → `scoredClasses(C)` at 'classifier'. */
export function instanceScorer(params: { scope(name: string): ParamScope }, inDim: number, numClasses: number): Dense {
  return new Dense(params.scope('classifier'), inDim, scoredClasses(numClasses));
}

/**
 * Output of a max-pooling instance model from its instance scores `[N, K]`: bag logits = the max of
 * the instance logits, attention = the smooth max's weights (heatmaps, MHIM masking).
 */
export function maxPooledOutput(scores: tf.Tensor2D, numClasses: number, embedding: tf.Tensor1D): MilOutput {
  const instanceLogits = toClassLogits(scores, numClasses);
  return {
    logits: tf.max(instanceLogits, 0) as tf.Tensor1D,
    embedding,
    attention: maxPoolingAttention(scores),
    instanceLogits,
  };
}
