/**
 * The one interface every MIL model implements (compare torchmil's forward / compute_loss / predict).
 *
 * A model sees one bag at a time: instance features `[N, D]` (plus optional patch coordinates) and
 * returns bag logits, a bag embedding and, where the model has them, per-instance attention weights
 * and/or instance logits. Its loss is a dict of named terms that the trainer sums and logs.
 * Models built in stages (`StagedMilModel`: embed instances → aggregate → classify, as MIL-Lab's
 * forward_features / forward_attention / forward_head) also expose each stage, which MHIM's Global
 * Recycle Network, its class-aware scores and an instance encoder in front of the model need.
 */
import type * as tf from '@tensorflow/tfjs';

/** What a bag is trained against. */
export type Target =
  | { kind: 'class'; label: number; numClasses: number }
  /** Discrete-time survival: `bin` of the event/censoring time, `censored` = no event observed. */
  | { kind: 'survival'; bin: number; censored: boolean; numBins: number };

export interface MilOutput {
  /** Bag logits `[C]` (C classes, or C survival bins for hazard models). */
  logits: tf.Tensor1D;
  /** Bag representation (consistency loss, IBMIL, t-SNE, ...). */
  embedding: tf.Tensor1D;
  /** Normalised instance weights `[N]`, where the model has them (sum to 1 over the bag). */
  attention?: tf.Tensor1D;
  /** Instance logits `[N, C]`, where the model has them. */
  instanceLogits?: tf.Tensor2D;
  /** Named loss terms the model adds during training (e.g. CLAM's `instance` clustering), already weighted. */
  auxLosses?: LossTerms;
  /**
   * Per-instance terms `[N, E]` of the pooled bag feature that feeds the classifier (AB-MIL: a_i·h_i;
   * TransMIL: layer-1 `to_out(concat_h A_h,i·V_h,i)`), returned only when
   * `ForwardOptions.returnInstanceFeatures`. MHIM-v2's class-aware instance score is
   * max_c softmax_c(W·f_i) (see src/mhim/scoring.ts).
   */
  instanceFeatures?: tf.Tensor2D;
  /** Per-head attention of the class token over the instances `[heads, N]` (TransMIL, layer 1). */
  headAttention?: tf.Tensor2D;
}

export interface ForwardOptions {
  training: boolean;
  /** Patch coordinates, `[x0, y0, x1, y1, ...]` (length 2N), for positional models. */
  coords?: Int32Array;
  /** Bag target, needed only by models whose auxiliary loss uses the label (CLAM). */
  target?: Target;
  /** Also return `MilOutput.instanceFeatures` (MHIM-v2 scoring), where the model supports it. */
  returnInstanceFeatures?: boolean;
}

/** One bag as a training step receives it: host features, so steps can select rows in JS. */
export interface StepBag {
  id: string;
  /** Row-major `[numInstances × dim]`. */
  features: Float32Array;
  numInstances: number;
  dim: number;
  coords?: Int32Array;
}

/**
 * Named loss terms of one bag, each already weighted, e.g. `{ cls, instance }` or MHIM's
 * `{ cls, consistency }`: the training loss is their sum, in this order (`totalLoss`).
 */
export type LossTerms = Record<string, tf.Scalar>;

/** One training step on one bag, prepared by the model and run by the trainer (src/train/step.ts). */
export interface TrainingStep {
  /** The loss terms; called inside the trainer's gradient tape. */
  loss(): LossTerms;
  /**
   * Called once after the step's gradient is taken: frees the step's tensors. `updated` says whether
   * the optimiser updated the weights after this bag (false while gradients accumulate over several
   * bags, or when the step failed): state that follows an update (MHIM's teacher EMA) moves only then.
   */
  finish(updated: boolean): void;
  /** Instances the model encoded in this step (MHIM: kept + global tokens); default: the bag's. */
  seqLen?: number;
}

/** Config shared by every model; each model extends it with its own typed fields. */
export interface BaseModelConfig {
  /** Instance feature width D. */
  inputDim: number;
  /** Output classes (or survival bins). */
  numClasses: number;
  /** Seed for weight initialisation and dropout (same seed → same weights). */
  seed?: number;
}

export interface MilModel<C extends BaseModelConfig = BaseModelConfig> {
  readonly name: string;
  readonly config: Readonly<C>;
  /** Runs the model on one bag `[N, D]`. Call inside `tf.tidy` or dispose the outputs. */
  forward(bag: tf.Tensor2D, opts: ForwardOptions): MilOutput;
  /**
   * Runs the model on one bag in host memory (inference). Models that pool huge bags in row blocks
   * (AB-MIL: layers/streamedPooling.ts) never upload the whole bag; the others upload it, refusing
   * a bag that cannot fit the device. Absent: upload the bag and call `forward`.
   */
  forwardBag?(bag: StepBag, opts: ForwardOptions): MilOutput;
  /** Training loss terms for one bag: the bag loss `cls` plus the model's own named terms. */
  loss(out: MilOutput, target: Target): LossTerms;
  /**
   * Prepares a training step on one bag (`MilBase`: forward + loss on the whole bag; MHIM: the
   * teacher, the mask and the student's input are computed here, outside the gradient tape).
   */
  trainingStep(bag: StepBag, target: Target): TrainingStep | Promise<TrainingStep>;
  /** Trainable variables (what the optimiser updates and checkpoints store). */
  trainableVariables(): tf.Variable[];
  /** All variables including non-trainable state (EMA queries, running stats), for save/load/EMA. */
  variables(): tf.Variable[];
  /** Frees every variable. */
  dispose(): void;
  /**
   * Whether `forward` returns `attention` (normalised instance weights) when no gradient is being
   * recorded: heatmaps and MHIM's attention scores read it, and MHIM refuses, when it is built, a
   * base model that declares false. Absent: unknown (MHIM then finds out at its first step).
   */
  readonly returnsAttention?: boolean;
  /** Variables by stable name ('attention/V/kernel'): the keys `saveModel` writes. */
  namedVariables(): Map<string, tf.Variable>;
  /**
   * Told by the trainer, before the first step of a fold, how many steps the fold runs (epochs × training bags):
   * schedules over the run (MHIM's cosine schedules, IBMIL's stage switch, MIREL's annealing).
   */
  setTotalIterations?(total: number): void;
  /**
   * Told by the trainer which fold a freshly built model is for, before its first step (and before a
   * resumed fold's checkpoint overwrites its weights): models initialised from another run's fold
   * (MHIM's teacher and student init) load that fold's weights here.
   */
  prepareFold?(fold: FoldSetup): void;
}

/** What `MilModel.prepareFold` learns about the fold. */
export interface FoldSetup {
  repeat: number;
  fold: number;
  /** Bag indices of the fold's training, validation and test sets. */
  split: { train: number[]; test: number[]; val?: number[] };
  /** The cohort's fingerprint (the `data` part of a run's fingerprint). */
  data: unknown;
  /** Whether the run standardises features with the training fold's statistics. */
  standardize: boolean;
  /** Loads a fold's trained model (`model.ckpt`); the caller disposes `model`. */
  loadTrainedModel(file: string): {
    model: MilModel;
    stats?: unknown;
    fingerprint?: { parts: Record<string, unknown> };
  };
}

/**
 * A trainable row-wise instance encoder put in front of a staged model (torchmil's `feat_ext`):
 * raw instances `[N, inputDim]` (e.g. image pixels) → features `[N, outputDim]`, which the model's
 * own projection then embeds. LeNet for image-mil (models/imageMil.ts), the SSL network for the
 * end-to-end baseline (ssl/endToEnd.ts).
 */
export interface InstanceEncoder {
  readonly inputDim: number;
  readonly outputDim: number;
  encode(bag: tf.Tensor2D, training: boolean): tf.Tensor2D;
  /** Its weights by stable name (the model saves them under `encoder/`). */
  namedVariables(): Map<string, tf.Variable>;
  dispose(): void;
}

/**
 * A model built in stages: `forward(x) ≡ aggregate(embedInstances(x))`. MHIM's Global Recycle
 * Network appends its tokens between the stages, and an instance encoder runs before `aggregate`.
 */
export interface StagedMilModel<C extends BaseModelConfig = BaseModelConfig> extends MilModel<C> {
  /** Width E of the embedded instances. */
  readonly embedDim: number;
  /**
   * The row-wise instance embedding (the instance encoder, then the projection and its dropout).
   * Row-wise means it commutes with selecting rows.
   */
  embedInstances(bag: tf.Tensor2D, opts: ForwardOptions): tf.Tensor2D;
  /** Everything after `embedInstances`, on embedded instances `[N, E]`. */
  aggregate(embedded: tf.Tensor2D, opts: ForwardOptions): MilOutput;
}

/**
 * A staged model whose bag classifier is affine on the pooled feature and whose `aggregate`
 * returns `instanceFeatures` when asked: MHIM-v2's class-aware instance scores need both.
 */
export interface ClassifiedMilModel<C extends BaseModelConfig = BaseModelConfig> extends StagedMilModel<C> {
  /** The bag classifier on pooled features `[M, E]` → logits `[M, C]`. */
  classify(z: tf.Tensor2D): tf.Tensor2D;
}

export function isStaged(m: MilModel): m is StagedMilModel {
  const s = m as Partial<StagedMilModel>;
  return typeof s.embedInstances === 'function' && typeof s.aggregate === 'function' && Number.isInteger(s.embedDim);
}

export function hasClassifier(m: MilModel): m is ClassifiedMilModel {
  return isStaged(m) && typeof (m as Partial<ClassifiedMilModel>).classify === 'function';
}
