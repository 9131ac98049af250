/**
 * The one interface every MIL model implements (compare torchmil's forward / compute_loss / predict).
 *
 * A model sees one bag at a time: instance features `[N, D]` (plus optional patch coordinates) and
 * returns bag logits, a bag embedding and, where the model has them, per-instance attention weights
 * and/or instance logits. That is all heatmaps, MHIM masking and the trainer need.
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
  /** Extra loss terms the model adds during training (e.g. CLAM's instance clustering), already weighted. */
  auxLoss?: tf.Scalar;
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

/** What a custom training step reports (one scalar read per step). */
export interface StepResult {
  /** Total loss of the step. */
  loss: number;
  /** Named parts, e.g. `{ cls, consistency }`, where known without extra syncs. */
  parts?: Record<string, number>;
  /** Instances the model actually encoded (MHIM: kept + recycled tokens). */
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
  /** Training loss for one bag, including the model's own auxiliary terms. */
  loss(out: MilOutput, target: Target): tf.Scalar;
  /** Trainable variables (what the optimiser updates and checkpoints store). */
  trainableVariables(): tf.Variable[];
  /** All variables including non-trainable state (EMA queries, running stats), for save/load/EMA. */
  variables(): tf.Variable[];
  /** Frees every variable. */
  dispose(): void;
  /** Variables by stable name ('attention/V/kernel'): the keys `saveModel` writes (optional). */
  namedVariables?(): Map<string, tf.Variable>;

  // --- Optional hooks (additive; used by MHIM-MIL, see src/mhim/) ---------------------------------
  /**
   * The row-wise instance projection (incl. its dropout), split out so that
   * `forward(x) ≡ aggregate(embedInstances(x))`. Row-wise means it commutes with selecting rows.
   */
  embedInstances?(bag: tf.Tensor2D, opts: ForwardOptions): tf.Tensor2D;
  /** Everything after `embedInstances`, on already-projected instances `[N, E]` (MHIM's GRN tokens join here). */
  aggregate?(projected: tf.Tensor2D, opts: ForwardOptions): MilOutput;
  /** The bag classifier on pooled features `[M, E]` → logits `[M, C]` (affine; MHIM-v2 class-aware scores). */
  classify?(z: tf.Tensor2D): tf.Tensor2D;
  /**
   * A model-specific training step that replaces the trainer's forward + loss + minimize
   * (MHIM-MIL: teacher, masking, consistency, EMA). `optimizer` updates `trainableVariables()`.
   */
  trainStep?(bag: StepBag, target: Target, optimizer: tf.Optimizer): Promise<StepResult>;
  /** Told by the trainer, before the first step of a fold, how many steps the fold runs (epochs × training bags): MHIM's cosine schedules. */
  setTotalIterations?(total: number): void;
}
