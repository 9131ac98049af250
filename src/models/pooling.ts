/**
 * MIL by pooling, at the instance or the embedding level.
 *  - instance level: an MLP scores every instance (instance logits `[N, C]`), the bag logits are
 *    their mean or max: MHIM-MIL's `mean-mil` / `max-mil` (one hidden layer 512, dropout 0.25)
 *    and mi-Net (Wang et al. 2018: hidden 256-128-64, dropout 0.5, max pooling);
 *  - embedding level: the MLP's last hidden layer is pooled over instances and a linear layer
 *    classifies the pooled vector: MI-Net (same widths).
 * Max pooling of instance logits comes in two forms (`maxOver`):
 *  - 'class': each class's logit is maxed over the instances on its own (MHIM-MIL's max-mil). The
 *    two maxima usually come from different instances, so a negative bag is judged by comparing
 *    its most "negative-looking" instance with its most "positive-looking" one; on small data
 *    this memorises the training bags (one-key-instance toy task: train 1.00, test 0.50);
 *  - 'instance': the bag takes the logits of the ONE instance with the highest positive margin
 *    max_{c≥1} l_c − l_0. For two classes that is exactly mi-Net's max of sigmoid instance
 *    probabilities (sigmoid is monotone in l_1 − l_0), and it generalises (same task: 0.80).
 */
import * as tf from '@tensorflow/tfjs';
import { MilBase } from './base';
import { InstanceMlp } from './layers/instanceMlp';
import type { BaseModelConfig, ForwardOptions, MilOutput } from './types';

export interface PoolingMilConfig extends BaseModelConfig {
  /** Hidden layer widths of the instance MLP. */
  hidden: number[];
  activation: 'relu' | 'gelu';
  /** Dropout after each hidden layer. */
  dropout: number;
  pooling: 'mean' | 'max';
  /** Pool instance logits ('instance', mi-Net) or hidden embeddings ('embedding', MI-Net). */
  level: 'instance' | 'embedding';
  /** Max pooling of instance logits: per class ('class') or the top instance's logits ('instance'); see above. */
  maxOver: 'class' | 'instance';
}

const BASE = { inputDim: 1024, numClasses: 2, seed: 0, activation: 'relu' } as const;
export const MEAN_MIL_DEFAULTS: PoolingMilConfig = {
  ...BASE,
  hidden: [512],
  dropout: 0.25,
  pooling: 'mean',
  level: 'instance',
  maxOver: 'class',
};
export const MAX_MIL_DEFAULTS: PoolingMilConfig = { ...MEAN_MIL_DEFAULTS, pooling: 'max' };
export const MI_NET_DEFAULTS: PoolingMilConfig = {
  ...BASE,
  hidden: [256, 128, 64],
  dropout: 0.5,
  pooling: 'max',
  level: 'instance',
  maxOver: 'instance',
};
export const MI_NET_EMBEDDING_DEFAULTS: PoolingMilConfig = { ...MI_NET_DEFAULTS, level: 'embedding' };

export class PoolingMil extends MilBase<PoolingMilConfig> {
  /** Mean and max pooling give no instance weights (no heatmap, no MHIM attention scores). */
  override readonly returnsAttention = false;
  private readonly net: InstanceMlp;

  constructor(name: string, config: PoolingMilConfig) {
    super(name, config);
    this.net = InstanceMlp.classLogits(this.params, name, config);
  }

  forward(bag: tf.Tensor2D, opts: ForwardOptions): MilOutput {
    this.checkBag(bag);
    return tf.tidy(() => {
      const h = this.net.embed(bag, opts.training);
      const pool = (t: tf.Tensor2D) => (this.config.pooling === 'max' ? tf.max(t, 0) : tf.mean(t, 0)) as tf.Tensor1D;
      const embedding = pool(h);
      if (this.config.level === 'embedding') {
        return {
          logits: tf.reshape(this.net.score(tf.expandDims(embedding, 0) as tf.Tensor2D), [-1]) as tf.Tensor1D,
          embedding,
        };
      }
      const instanceLogits = this.net.score(h);
      const byInstance =
        this.config.pooling === 'max' && this.config.maxOver === 'instance' && this.config.numClasses > 1;
      return {
        logits: byInstance ? topInstanceLogits(instanceLogits) : pool(instanceLogits),
        embedding,
        instanceLogits,
      };
    });
  }
}

/**
 * The logits `[C]` of the instance with the highest margin max_{c≥1} l_c − l_0 (picked by a one-hot product: no
 * gather).
 */
function topInstanceLogits(logits: tf.Tensor2D): tf.Tensor1D {
  return tf.tidy(() => {
    const [n, c] = logits.shape;
    if (n === 1) return tf.reshape(logits, [c]) as tf.Tensor1D; // oneHot needs depth ≥ 2
    const margin = tf.sub(
      tf.max(tf.slice(logits, [0, 1], [n, c - 1]), 1),
      tf.reshape(tf.slice(logits, [0, 0], [n, 1]), [n]),
    );
    const pick = tf.reshape(tf.cast(tf.oneHot(tf.argMax(margin), n), 'float32'), [1, n]);
    return tf.reshape(tf.matMul(pick, logits), [c]) as tf.Tensor1D;
  });
}
