/**
 * Adam with weight decay, as a tfjs Optimizer (so model-specific steps such as MHIM's can call
 * `optimizer.minimize`).
 *
 * Two kinds of weight decay:
 * - `'l2'` (default): `g ← g + λθ` before the moments, exactly torch `Adam(weight_decay=λ)`, which
 *   MHIM-MIL and most MIL code use;
 * - `'decoupled'`: AdamW, `θ ← θ(1 − lr·λ)` before the Adam step (torch `AdamW`).
 * The state (step count, first/second moments) lives in one slot per variable of a FIXED list given
 * at construction, so a checkpoint can save and restore it by position.
 */
import * as tf from '@tensorflow/tfjs';
import { nativeAdamStep, nativeDenseAvailable } from '../backend/nativeOps';

export interface AdamOptions {
  lr: number;
  beta1?: number;
  beta2?: number;
  /** Added to √v̂ (torch default 1e-8; tfjs' own Adam uses 1e-7). */
  epsilon?: number;
  weightDecay?: number;
  weightDecayMode?: 'l2' | 'decoupled';
}

/** Serialisable optimiser state: the step count and `[m, v]` per variable, in variable order. */
export interface AdamState {
  step: number;
  moments: { m: Float32Array; v: Float32Array }[];
}

export class Adam extends tf.Optimizer {
  /** Learning rate of the next update; the trainer sets it from the schedule each epoch. */
  learningRate: number;
  readonly beta1: number;
  readonly beta2: number;
  readonly epsilon: number;
  readonly weightDecay: number;
  readonly weightDecayMode: 'l2' | 'decoupled';
  private readonly vars: tf.Variable[];
  private readonly index: Map<string, number>;
  private readonly m: tf.Variable[];
  private readonly v: tf.Variable[];
  private step = 0;

  static get className(): string {
    return 'MilkitAdam';
  }

  constructor(variables: tf.Variable[], opts: AdamOptions) {
    super();
    this.learningRate = opts.lr;
    this.beta1 = opts.beta1 ?? 0.9;
    this.beta2 = opts.beta2 ?? 0.999;
    this.epsilon = opts.epsilon ?? 1e-8;
    this.weightDecay = opts.weightDecay ?? 0;
    this.weightDecayMode = opts.weightDecayMode ?? 'l2';
    this.vars = variables;
    this.index = new Map(variables.map((v, i) => [v.name, i]));
    this.m = variables.map((v) => tf.tidy(() => tf.variable(tf.zerosLike(v), false)));
    this.v = variables.map((v) => tf.tidy(() => tf.variable(tf.zerosLike(v), false)));
  }

  /** Number of updates applied so far. */
  get steps(): number {
    return this.step;
  }

  override applyGradients(grads: tf.NamedTensorMap | { name: string; tensor: tf.Tensor }[]): void {
    const list: [string, tf.Tensor][] = Array.isArray(grads)
      ? grads.map((g) => [g.name, g.tensor])
      : Object.entries(grads);
    this.step++;
    const t = this.step;
    const lr = this.learningRate;
    const bc1 = 1 - this.beta1 ** t;
    const bc2 = 1 - this.beta2 ** t;
    const l2 = this.weightDecay > 0 && this.weightDecayMode === 'l2';
    const decay = this.weightDecay > 0 && this.weightDecayMode === 'decoupled' ? 1 - lr * this.weightDecay : 1;
    const native = nativeDenseAvailable();
    tf.tidy(() => {
      for (const [name, g0] of list) {
        const i = this.index.get(name);
        if (i === undefined)
          throw new Error(`Adam: gradient for variable "${name}", which is not in the optimiser's variable list`);
        if (g0 == null) continue; // not connected to the loss this step
        const theta = this.vars[i];
        if (native && theta.dtype === 'float32' && g0.dtype === 'float32') {
          // One native pass instead of 12 kernels (same float32 operations, same order: bit-equal).
          const [t2, m2, v2] = nativeAdamStep(theta, this.m[i], this.v[i], g0, {
            l2: l2 ? this.weightDecay : 0,
            decay,
            beta1: this.beta1,
            beta2: this.beta2,
            rootBc2: Math.sqrt(bc2),
            epsilon: this.epsilon,
            stepSize: lr / bc1,
          });
          this.m[i].assign(m2);
          this.v[i].assign(v2);
          theta.assign(t2);
          continue;
        }
        let g = g0;
        if (l2) g = tf.add(g, tf.mul(theta, this.weightDecay));
        const m = tf.add(tf.mul(this.m[i], this.beta1), tf.mul(g, 1 - this.beta1));
        const v = tf.add(tf.mul(this.v[i], this.beta2), tf.mul(tf.square(g), 1 - this.beta2));
        this.m[i].assign(m);
        this.v[i].assign(v);
        const base = decay !== 1 ? tf.mul(theta, decay) : theta;
        // torch: θ − (lr / bc1) · m / (√v / √bc2 + ε)
        const denom = tf.add(tf.div(tf.sqrt(v), Math.sqrt(bc2)), this.epsilon);
        theta.assign(tf.sub(base, tf.mul(tf.div(m, denom), lr / bc1)));
      }
    });
    this.incrementIterations();
  }

  /** Copies the state out (reads every moment: call at checkpoints, not per step). */
  async getState(): Promise<AdamState> {
    const moments = await Promise.all(
      this.vars.map(async (_, i) => ({
        m: (await this.m[i].data()) as Float32Array,
        v: (await this.v[i].data()) as Float32Array,
      })),
    );
    return { step: this.step, moments };
  }

  setState(state: AdamState): void {
    if (state.moments.length !== this.vars.length)
      throw new Error(`Adam state has ${state.moments.length} variables, the model has ${this.vars.length}`);
    state.moments.forEach(({ m, v }, i) => {
      if (m.length !== this.vars[i].size || v.length !== this.vars[i].size)
        throw new Error(`Adam state for variable ${i} has ${m.length} values, the variable has ${this.vars[i].size}`);
      tf.tidy(() => {
        this.m[i].assign(tf.tensor(m, this.vars[i].shape));
        this.v[i].assign(tf.tensor(v, this.vars[i].shape));
      });
    });
    this.step = state.step;
    this.iterations_ = state.step;
  }

  override dispose(): void {
    tf.dispose([...this.m, ...this.v]);
  }

  override getConfig(): tf.serialization.ConfigDict {
    return {
      lr: this.learningRate,
      beta1: this.beta1,
      beta2: this.beta2,
      epsilon: this.epsilon,
      weightDecay: this.weightDecay,
      weightDecayMode: this.weightDecayMode,
    };
  }
}
