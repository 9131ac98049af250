/**
 * MHIM-MIL: wraps any attention-based MilModel into a masked-hard-instance-mining model.
 *
 * Training step, as the authors' code executes it (checked number for number against numbers
 * recorded from their code: test/mhim/parity.test.ts):
 *  1. the momentum teacher (same architecture, never trained by gradients) runs on all N instances
 *     inside tf.tidy, outside the gradient tape, in training mode (dropout on, as the code's
 *     `model_ema.train()`) → instance scores + bag embedding z_t;
 *  2. the scores are masked in plain TypeScript (masking.ts); the kept rows are copied in JS from the
 *     bag's Float32Array and uploaded once (never tf.gather);
 *  3. the GRN splits the kept instances: a random fraction goes to the student, the rest is
 *     summarised into K global tokens appended to the student's (projected) input; the GRN's
 *     queries move by EMA inside this forward, as in the code;
 *  4. loss terms = classWeight·(the student's own terms) + α·consistency(z_t, z_s), z_t a constant;
 *     the trainer's optimiser step follows (src/train/step.ts; weight decay is the optimiser's:
 *     torch's Adam `weight_decay` is L2, `weightDecayMode: 'l2'`);
 *  5. after each optimiser update, the teacher (all its variables) moves by EMA towards the student.
 * Inference is the student on all instances (`forward`).
 *
 * Where milkit deliberately differs from the code (tiny bags only; both choices are tested):
 * - A bag is never emptied (masking.ts): with random masking on a 2-instance bag the code's mask
 *   can cover both, which crashes its step (`torch.cat` of a 0-d tensor); milkit releases the
 *   last-masked instance and trains on the other.
 * - The GRN always leaves the student at least one instance (`max(1, ⌊L·keep⌋)`). On a 2-instance
 *   bag with βh masking one, the code's student sees no instance of the bag, only the K tokens,
 *   which then carry a single key and are identical: the student's attention and the GRN's query
 *   path get exactly zero gradient from that bag. milkit gives the student the one kept instance
 *   and, with nothing left to recycle, skips the GRN for that step (queries unchanged).
 *
 * What the wrapped model must offer is checked when MHIM is built: the GRN needs its stages
 * (`StagedMilModel`), class-aware scores its classifier (`ClassifiedMilModel`), attention scores a
 * model that returns attention (`returnsAttention`; a model that does not declare it is checked at
 * the first step, when its forward shows it).
 */
import * as tf from '@tensorflow/tfjs';
import {
  type BaseModelConfig,
  type FoldSetup,
  type ForwardOptions,
  type LossTerms,
  type MilModel,
  type MilOutput,
  type StagedMilModel,
  type StepBag,
  type Target,
  type TrainingStep,
  hasClassifier,
  isStaged,
} from '../models/types';
import { gatherRows } from '../backend/gatherRows';
import { type RandomSource, Rng } from '../random';
import { cosineSchedule, selectMask, splitForRecycle, type MaskResult, type RecycleSplit } from './masking';
import { instanceScores } from './scoring';
import { type MhimInit, baselineFold, copyByName } from './baselineInit';
import { consistencyLoss } from './consistency';
import { copyValues, emaUpdate } from './ema';
import { GlobalRecycleNetwork } from './grn';
import { mhimConfig, type MhimConfig, type MhimOverrides } from './config';

export class MhimModel implements MilModel {
  /** Registry name (checkpoints and saved models rebuild MHIM through `createModel('mhim', config)`). */
  readonly name = 'mhim';
  /** `mhim-v2(abmil)`: for display. */
  readonly label: string;
  readonly config: Readonly<
    BaseModelConfig & { base: string; baseConfig: Record<string, unknown>; mhim: MhimConfig; init?: MhimInit }
  >;
  readonly mhim: Readonly<MhimConfig>;
  readonly student: MilModel;
  readonly teacher: MilModel;
  /** The GRN, when configured (`mhim.grn`). */
  readonly grn?: GlobalRecycleNetwork;
  /** Global training iteration (drives the βh decay and the momentum schedule). */
  iteration = 0;
  /** What the last training step did: its βh, its mask and the GRN split (for previews and logs). */
  lastStep?: MhimStepRecord;
  private readonly rng: Rng;
  /** Where the masking and the GRN split draw from: `rng`, unless `setRandomSource` replaced it. */
  private random: RandomSource;

  /**
   * @param createModel builds the wrapped architecture; called for the student and the teacher (give
   *   the teacher its own seed so its dropout masks are independent). The teacher's weights start as a
   *   copy of the student's (the code's deepcopy) unless `initTeacherFrom` is called.
   * @param base how to rebuild the wrapped model from the registry (defaults to the student's own name
   *   and config), recorded in `config` so a saved MHIM model reloads by name; `init`: the baseline
   *   runs the teacher and student start from, fold by fold (`prepareFold`; recorded in `config`).
   */
  constructor(
    createModel: (role: 'student' | 'teacher') => MilModel,
    config: MhimOverrides = {},
    base?: { base: string; baseConfig: Record<string, unknown>; init?: MhimInit },
  ) {
    this.mhim = mhimConfig(config.version ?? 'v2', config);
    this.student = createModel('student');
    this.teacher = createModel('teacher');
    const { inputDim, numClasses, seed, ...rest } = this.student.config;
    // The MHIM settings and the wrapped model travel with the config, so results and checkpoints record them.
    this.config = {
      inputDim,
      numClasses,
      seed,
      base: base?.base ?? this.student.name,
      baseConfig: base?.baseConfig ?? rest,
      mhim: this.mhim,
      ...(base?.init && (base.init.teacher || base.init.student) ? { init: base.init } : {}),
    };
    this.label = `mhim-${this.mhim.version}(${this.config.base})`;
    const studentVars = new Set(this.student.variables());
    if (this.teacher.variables().some((v) => studentVars.has(v)))
      throw new Error('MHIM: createModel must build a new model on each call (teacher and student share variables)');
    copyValues(this.teacher.variables(), this.student.variables());
    // The teacher is never in any optimiser's variable list; non-trainable makes that explicit.
    for (const v of this.teacher.variables()) v.trainable = false;
    this.rng = new Rng(this.mhim.seed);
    this.random = this.rng;
    this.checkBase();
    if (this.mhim.grn) {
      const student = this.student as StagedMilModel;
      this.grn = new GlobalRecycleNetwork(student.embedDim, this.mhim.grn, this.mhim.seed + 1);
    }
  }

  /** Inference is the student's, so are its outputs. */
  get returnsAttention(): boolean | undefined {
    return this.student.returnsAttention;
  }

  /** Refuses, at construction, a wrapped model that lacks what the configured MHIM uses. */
  private checkBase(): void {
    const m = this.student;
    const fail = (what: string, fix: string) => {
      this.dispose();
      throw new Error(`MHIM-${this.mhim.version}(${m.name}): ${what}. Fix: ${fix}`);
    };
    if (this.mhim.score === 'attention' && m.returnsAttention === false)
      fail(
        'MHIM masks instances by their attention scores, and this model pools without instance attention',
        'wrap an attention model (abmil, gabmil, transmil, dsmil, clam-sb, ...)',
      );
    if (this.mhim.grn && !isStaged(m))
      fail(
        'the Global Recycle Network needs a model with separate embedInstances / aggregate stages, which it has not',
        'wrap a staged model (abmil, gabmil, dsmil, transmil, clam-sb, ...) or set mhim.grn to null',
      );
    if (this.mhim.score === 'class-aware' && !hasClassifier(m))
      fail(
        'class-aware instance scores need the bag classifier on single instances (classify), which it has not',
        "set mhim.score to 'attention' (milkit train: --mhim-score attention)",
      );
  }

  /** Inference: the student on all instances. */
  forward(bag: tf.Tensor2D, opts: ForwardOptions): MilOutput {
    return this.student.forward(bag, opts);
  }

  loss(out: MilOutput, target: Target): LossTerms {
    return this.student.loss(out, target);
  }

  trainableVariables(): tf.Variable[] {
    return [...this.student.trainableVariables(), ...(this.grn?.trainableVariables() ?? [])];
  }

  /** Student, GRN and teacher state, in that order (checkpoints hold all three, as the code's do). */
  variables(): tf.Variable[] {
    return [...this.student.variables(), ...(this.grn?.variables() ?? []), ...this.teacher.variables()];
  }

  /** Stable names for saving: `student/…`, `grn/…`, `teacher/…`. */
  namedVariables(): Map<string, tf.Variable> {
    const prefixed = (m: MilModel, p: string) =>
      [...m.namedVariables()].map(([k, v]): [string, tf.Variable] => [`${p}/${k}`, v]);
    return new Map([
      ...prefixed(this.student, 'student'),
      ...(this.grn ? [...this.grn.store.named()] : []),
      ...prefixed(this.teacher, 'teacher'),
    ]);
  }

  teacherVariables(): tf.Variable[] {
    return this.teacher.variables();
  }

  /**
   * Teacher init from a trained baseline of the same architecture (the paper's best setting, its
   * `--teacher_init`), e.g. `await loadModel(dir)` of a plain run with the same seed and folds.
   */
  initTeacherFrom(baseline: MilModel): void {
    if (baseline.name !== this.config.base)
      throw new Error(`teacher init: the baseline is a "${baseline.name}" model, MHIM wraps "${this.config.base}"`);
    copyValues(this.teacher.variables(), baseline.variables());
  }

  /**
   * Student init from a trained model of the same architecture (v2 default: none, the student starts
   * random): its instance projection (the paper's first-layer init, §4.5.4) or all its variables.
   */
  initStudentFrom(model: MilModel, layers: 'projection' | 'all' = 'all'): void {
    copyByName(this.student, model, layers);
  }

  /**
   * The trainer's per-fold hook: with `config.init`, the teacher (and student) start from the
   * baseline run's model of this very fold, checked to share its cohort, split and standardisation.
   */
  prepareFold(fold: FoldSetup): void {
    const init = this.config.init;
    if (init?.teacher) {
      const baseline = baselineFold(init.teacher, fold, this.student, 'teacher');
      try {
        this.initTeacherFrom(baseline);
      } finally {
        baseline.dispose();
      }
    }
    if (init?.student) {
      const baseline = baselineFold(init.student, fold, this.student, 'student');
      try {
        this.initStudentFrom(baseline, init.studentLayers ?? 'projection');
      } finally {
        baseline.dispose();
      }
    }
  }

  /** Sets the run length used by the βh decay and the momentum schedule (epochs × bags per epoch). */
  setTotalIterations(total: number): void {
    if (!(total > 0)) throw new Error(`MHIM totalIterations must be > 0, got ${total}`);
    (this.mhim as MhimConfig).totalIterations = total;
  }

  /**
   * Replaces the stream the masking and the GRN split draw their random integers from (default: a
   * seeded `Rng` from `mhim.seed`); without an argument, returns to it. A replay of recorded draws
   * makes a step pick exactly the instances another implementation picked: test/mhim/parity.test.ts
   * feeds the authors' recorded permutations this way. A run that draws from a replaced source
   * cannot be checkpointed (`randomState` refuses).
   */
  setRandomSource(source?: RandomSource): void {
    this.random = source ?? this.rng;
  }

  /** Iteration and masking-stream state, so a resumed run continues the schedules and masks exactly. */
  randomState(): { iteration: number; maskRng: number } {
    if (this.random !== this.rng)
      throw new Error('MHIM draws its masks from a source set by setRandomSource, whose state cannot be saved');
    return { iteration: this.iteration, maskRng: (this.rng as unknown as { state: number }).state };
  }

  setRandomState(state: unknown): void {
    const s = state as { iteration: number; maskRng: number };
    this.iteration = s.iteration;
    (this.rng as unknown as { state: number }).state = s.maskRng;
  }

  /** βh at the current iteration. */
  currentHighRatio(): number {
    const { mask, decayHighRatio, totalIterations } = this.mhim;
    if (!decayHighRatio) return mask.highRatio;
    return cosineSchedule(mask.highRatio, 0, this.iteration, this.requireTotal('decayHighRatio', totalIterations));
  }

  /** Teacher momentum at the current iteration. */
  currentMomentum(): number {
    const { teacherMomentum, momentumSchedule, totalIterations } = this.mhim;
    if (!momentumSchedule) return teacherMomentum;
    return cosineSchedule(teacherMomentum, 1, this.iteration, this.requireTotal('momentumSchedule', totalIterations));
  }

  /** Teacher instance scores for a bag, dropout off (for previews and heatmaps of what would be masked). */
  async scoreInstances(bag: StepBag): Promise<Float32Array> {
    const scores = tf.tidy(() => {
      const x = tf.tensor2d(bag.features, [bag.numInstances, bag.dim]);
      const out = this.teacher.forward(x, {
        training: false,
        coords: bag.coords,
        returnInstanceFeatures: this.mhim.score === 'class-aware',
      });
      return instanceScores(out, this.mhim.score, this.teacher);
    });
    const data = (await scores.data()) as Float32Array;
    scores.dispose();
    return data;
  }

  /** The mask the next training step would draw for these scores (does not advance the random stream). */
  previewMask(scores: ArrayLike<number>, seed = this.mhim.seed): MaskResult {
    return selectMask(scores, { ...this.mhim.mask, highRatio: this.currentHighRatio() }, new Rng(seed));
  }

  /** One MHIM training step on one bag: teacher, mask and student input here; the trainer records the loss. */
  async trainingStep(bag: StepBag, target: Target): Promise<TrainingStep> {
    const cfg = this.mhim;
    const { numInstances: n, dim } = bag;
    if (bag.features.length !== n * dim)
      throw new Error(`bag "${bag.id}": ${bag.features.length} values for ${n} × ${dim}`);

    // 1. Teacher on all instances, outside the tape. The upload is kept for step 2's row copy.
    const x = tf.tensor2d(bag.features, [n, dim]);
    let teacherOut: { scores: tf.Tensor1D; embedding: tf.Tensor1D };
    try {
      teacherOut = tf.tidy(() => {
        const out = this.teacher.forward(x, {
          training: cfg.teacherDropout,
          coords: bag.coords,
          target,
          returnInstanceFeatures: cfg.score === 'class-aware',
        });
        return { scores: instanceScores(out, cfg.score, this.teacher), embedding: out.embedding };
      });
    } catch (err) {
      x.dispose();
      throw err;
    }
    const scores = await teacherOut.scores.data();
    teacherOut.scores.dispose();
    const zTeacher = teacherOut.embedding;

    // 2–3. Mask, split for the GRN, and copy the rows out of the teacher's upload (backend/gatherRows.ts:
    // inside the wasm heap, never tf.gather; elsewhere from the host array).
    const highRatio = this.currentHighRatio();
    const mask = selectMask(scores, { ...cfg.mask, highRatio }, this.random);
    const split: RecycleSplit = this.grn
      ? splitForRecycle(mask.kept, this.grn.config.keepFraction, this.random, this.grn.config.keepOrder)
      : { student: mask.kept, recycled: new Int32Array(0) };
    const rows = concatIndices(split.student, split.recycled);
    const selected = gatherRows(x, rows, bag.features);
    x.dispose();
    const nStudent = split.student.length;
    const nRecycled = split.recycled.length;
    const useGrn = this.grn !== undefined && nRecycled > 0;
    const coords = bag.coords && !useGrn ? copyRows(bag.coords, 2, rows) : undefined;
    const seqLen = nStudent + (useGrn ? this.grn!.config.numQueries : 0);
    this.lastStep = { iteration: this.iteration, highRatio, mask, split, seqLen };

    // 4. The student's loss terms, inside the trainer's tape. The GRN moves its queries by EMA inside
    // this forward, right after computing the tokens, as the code's `Merge.merge` does.
    const loss = (): LossTerms => {
      let out: MilOutput;
      const opts: ForwardOptions = { training: true, target, coords: coords as Int32Array | undefined };
      if (useGrn) {
        const student = this.student as StagedMilModel;
        const h = student.embedInstances(selected, opts);
        const kept = tf.slice(h, [0, 0], [nStudent, -1]);
        const tokens = this.grn!.tokens(tf.slice(h, [nStudent, 0], [nRecycled, -1]), true);
        out = student.aggregate(tf.concat([kept, tokens]), opts);
      } else {
        out = this.student.forward(selected, opts);
      }
      const terms: LossTerms = {};
      for (const [name, t] of Object.entries(this.student.loss(out, target)))
        terms[name] = tf.mul(t, cfg.classWeight) as tf.Scalar;
      const cons = consistencyLoss(zTeacher, out.embedding, cfg.temperature, cfg.studentTemperature);
      return { ...terms, consistency: tf.mul(cons, cfg.consistencyWeight) as tf.Scalar };
    };

    // 5. After an optimiser update, the teacher's EMA (the code moves it once per update, so not
    // while gradients accumulate over several bags); the schedules count bags.
    const finish = (updated: boolean) => {
      if (updated) emaUpdate(this.teacher.variables(), this.student.variables(), this.currentMomentum());
      this.iteration++;
      tf.dispose([selected, zTeacher]);
    };
    return { loss, finish, seqLen };
  }

  dispose(): void {
    this.student.dispose();
    this.teacher.dispose();
    this.grn?.dispose();
  }

  private requireTotal(flag: string, total?: number): number {
    if (!total)
      throw new Error(
        `MHIM ${flag} needs totalIterations (epochs × bags): set it in the config or call setTotalIterations()`,
      );
    return total;
  }
}

function concatIndices(a: Int32Array, b: Int32Array): Int32Array {
  const out = new Int32Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}

/** Rows `idx` of a row-major `[*, width]` array, copied into one contiguous array. */
export function copyRows<T extends Float32Array | Int32Array>(src: T, width: number, idx: Int32Array): T {
  const out = new (src.constructor as { new (n: number): T })(idx.length * width);
  for (let j = 0; j < idx.length; j++) out.set(src.subarray(idx[j] * width, (idx[j] + 1) * width), j * width);
  return out;
}

/** One MHIM training step as `MhimModel.lastStep` records it. */
export interface MhimStepRecord {
  /** Global iteration of the step (bags since the start of training). */
  iteration: number;
  /** βh used (after the cosine decay, when on). */
  highRatio: number;
  /** The teacher-score mask: kept and masked instances (indices into the bag). */
  mask: MaskResult;
  /** The GRN's split of the kept instances (without a GRN: all kept go to the student). */
  split: RecycleSplit;
  /** Tokens the student encoded: its instances plus the K global tokens. */
  seqLen: number;
}
