/**
 * Shared skeleton of the models: a named, seeded parameter store, the input check, the loss
 * (bag loss + the model's own auxiliary terms) and the optional instance projection
 * `h = dropout(act(x·W + b))` that the attention models (and MHIM's masking) start from.
 */
import * as tf from '@tensorflow/tfjs';
import type { ActivationName } from './layers/activations';
import { Dense, projectBag } from './layers/dense';
import { dropout } from './layers/dropout';
import { type LinearInit, ParamStore } from './layers/params';
import { bagLoss } from './losses';
import { uploadBag } from './upload';

export { uploadBag };
import type {
  BaseModelConfig,
  ForwardOptions,
  InstanceEncoder,
  LossTerms,
  MilModel,
  MilOutput,
  StagedMilModel,
  StepBag,
  Target,
  TrainingStep,
} from './types';

export abstract class MilBase<C extends BaseModelConfig> implements MilModel<C> {
  protected readonly params: ParamStore;
  /**
   * Most models weigh their instances; the few that pool without weights say false (every table
   * model's declaration is checked against its output in test/models/models.test.ts).
   */
  readonly returnsAttention: boolean = true;

  constructor(
    readonly name: string,
    readonly config: Readonly<C>,
  ) {
    this.params = new ParamStore(config.seed ?? 0, (config as { weightInit?: LinearInit }).weightInit);
  }

  abstract forward(bag: tf.Tensor2D, opts: ForwardOptions): MilOutput;

  loss(out: MilOutput, target: Target): LossTerms {
    return { cls: bagLoss(out.logits, target), ...out.auxLosses };
  }

  /** Forward and loss on the whole bag (the bag's upload is freed by `finish`). */
  trainingStep(bag: StepBag, target: Target): TrainingStep {
    const x = uploadBag(bag);
    return {
      loss: () => this.loss(this.forward(x, { training: true, coords: bag.coords, target }), target),
      finish: () => x.dispose(),
    };
  }

  /** Uploads the bag, runs `forward` and frees the upload (models that stream override it). */
  forwardBag(bag: StepBag, opts: ForwardOptions): MilOutput {
    const x = uploadBag(bag);
    try {
      return this.forward(x, opts);
    } finally {
      x.dispose();
    }
  }

  trainableVariables(): tf.Variable[] {
    return this.params.trainable();
  }

  variables(): tf.Variable[] {
    return this.params.all();
  }

  namedVariables(): Map<string, tf.Variable> {
    return this.params.named();
  }

  dispose(): void {
    this.params.dispose();
  }

  /** Width of a bag's instances as the model receives them. */
  protected get bagDim(): number {
    return this.config.inputDim;
  }

  /** Throws a readable error for a bag of the wrong shape. */
  protected checkBag(bag: tf.Tensor2D): void {
    if (bag.rank !== 2 || bag.shape[1] !== this.bagDim) {
      throw new Error(`${this.name}: expected a bag of shape [N, ${this.bagDim}], got [${bag.shape.join(', ')}]`);
    }
    if (bag.shape[0] < 1) throw new Error(`${this.name}: the bag is empty (0 instances)`);
  }
}

/** Config of the instance projection shared by the attention models. */
export interface ProjectionConfig {
  /** Width E of the projected instances (512 in all reference models). */
  embedDim: number;
  /** Activation after the projection (GELU in MHIM-MIL's configs, ReLU in CLAM). */
  activation: Extract<ActivationName, 'relu' | 'gelu'>;
  /** Dropout after the projection (0.25 in the references). */
  dropout: number;
  /** Weight init (default 'xavier'; 'torch': PyTorch's default, see `LinearInit`). */
  weightInit?: LinearInit;
  /**
   * Widths of fully connected layers before the projection, each with the same activation and
   * dropout (default none). Ilse et al.'s MUSK network is `hidden: [256, 128]`, `embedDim: 64`:
   * fc-256, fc-128, fc-64, each ReLU + dropout, then the attention pooling (their appendix, Table 7).
   */
  hidden?: number[];
}

/** Defaults of the projected attention models (MHIM-MIL's configs: 1024 → 512, GELU, dropout 0.25). */
export const PROJECTED_DEFAULTS = {
  inputDim: 1024,
  numClasses: 2,
  seed: 0,
  embedDim: 512,
  activation: 'gelu',
  dropout: 0.25,
} as const satisfies BaseModelConfig & ProjectionConfig;

/**
 * A model that first embeds instances (`embedInstances`: the optional instance encoder, then the
 * projection) and then aggregates them. With an encoder, `config.inputDim` is the encoder's output
 * width and bags have the encoder's input width; the projection then passes its input gradient on
 * to the encoder (`projectBag`, used without one, computes none: a feature bag needs none).
 */
export abstract class ProjectedMil<C extends BaseModelConfig & ProjectionConfig>
  extends MilBase<C>
  implements StagedMilModel<C>
{
  protected readonly projection: Dense;
  /** The `hidden` layers before the projection (none by default: parameter names stay unchanged). */
  private readonly hiddenLayers: Dense[];

  constructor(
    name: string,
    config: C,
    readonly encoder?: InstanceEncoder,
  ) {
    super(name, config);
    if (encoder && encoder.outputDim !== config.inputDim)
      throw new Error(
        `${name}: the instance encoder gives ${encoder.outputDim} features, inputDim is ${config.inputDim}`,
      );
    const widths = config.hidden ?? [];
    if (!widths.every((w) => Number.isInteger(w) && w > 0))
      throw new Error(
        `${name}: hidden must list positive integer layer widths, got [${widths.join(', ')}]. ` +
          `Fix: give whole numbers ≥ 1, e.g. {"hidden": [128]}, or [] for no hidden layer`,
      );
    const ins = [config.inputDim, ...widths];
    const scope = this.params.scope('hidden');
    this.hiddenLayers = widths.map((w, i) => new Dense(scope.scope(String(i)), ins[i], w, config.activation));
    this.projection = new Dense(this.params.scope('projection'), ins.at(-1)!, config.embedDim, config.activation);
  }

  get embedDim(): number {
    return this.config.embedDim;
  }

  protected override get bagDim(): number {
    return this.encoder?.inputDim ?? this.config.inputDim;
  }

  embedInstances(bag: tf.Tensor2D, opts: ForwardOptions): tf.Tensor2D {
    this.checkBag(bag);
    return tf.tidy(() => {
      const drop = (x: tf.Tensor2D) => dropout(x, this.config.dropout, opts.training, this.params.dropoutRng);
      const x = this.encoder ? this.encoder.encode(bag, opts.training) : bag;
      // The first layer reads a feature bag through projectBag (no input gradient).
      const first = (layer: Dense) => (this.encoder ? (layer.apply(x) as tf.Tensor2D) : projectBag(x, layer));
      const layers = [...this.hiddenLayers, this.projection];
      let h = drop(first(layers[0]));
      for (const layer of layers.slice(1)) h = drop(layer.apply(h) as tf.Tensor2D);
      return h;
    });
  }

  override trainableVariables(): tf.Variable[] {
    return [...this.encoderVariables().filter((v) => v.trainable), ...super.trainableVariables()];
  }

  override variables(): tf.Variable[] {
    return [...this.encoderVariables(), ...super.variables()];
  }

  /** The encoder's weights under `encoder/…`, then the model's own. */
  override namedVariables(): Map<string, tf.Variable> {
    const encoder = [...(this.encoder?.namedVariables() ?? [])].map(([k, v]): [string, tf.Variable] => [
      `encoder/${k}`,
      v,
    ]);
    return new Map([...encoder, ...super.namedVariables()]);
  }

  override dispose(): void {
    this.encoder?.dispose();
    super.dispose();
  }

  private encoderVariables(): tf.Variable[] {
    return [...(this.encoder?.namedVariables().values() ?? [])];
  }

  abstract aggregate(h: tf.Tensor2D, opts: ForwardOptions): MilOutput;

  forward(bag: tf.Tensor2D, opts: ForwardOptions): MilOutput {
    const h = this.embedInstances(bag, opts);
    const out = this.aggregate(h, opts);
    h.dispose();
    return out;
  }
}

/**
 * The attention-pooling read-out shared by AB-MIL and its variants: bag feature z = a·h, logits from
 * the classifier, and (for MHIM-v2 scoring) the per-instance terms a_i·h_i. `a` is `[1, N]`, `h` `[N, E]`.
 * Call inside a tidy scope.
 */
export function attentionReadout(h: tf.Tensor2D, a: tf.Tensor2D, classifier: Dense, opts: ForwardOptions): MilOutput {
  const z = tf.matMul(a, h); // [1, E]
  const out: MilOutput = {
    logits: tf.reshape(classifier.apply(z), [-1]) as tf.Tensor1D,
    embedding: tf.reshape(z, [-1]) as tf.Tensor1D,
    attention: tf.reshape(a, [-1]) as tf.Tensor1D,
  };
  if (opts.returnInstanceFeatures) out.instanceFeatures = tf.mul(h, tf.reshape(a, [-1, 1])) as tf.Tensor2D;
  return out;
}
