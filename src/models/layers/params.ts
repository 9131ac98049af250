/**
 * Named, seeded model parameters.
 *
 * Every weight lives in one `ParamStore` under a path-like name ('attention/V/kernel'): the names
 * are what `saveModel` writes, so a reloaded model finds each tensor by name, not by creation
 * order. Initial values are drawn in JS from the seeded `Rng`, so the same seed gives bit-identical
 * weights on every backend (tfjs initialisers would depend on the backend's own generator).
 */
import * as tf from '@tensorflow/tfjs';
import { Rng } from '../../random';
import { installWasmKernels } from '../../backend/wasmKernels';

/**
 * How `Dense` layers start: 'xavier' (xavier-normal kernels, zero biases: the MHIM-MIL reference
 * init, the default) or 'torch' (PyTorch's default Linear init, U(±1/√fanIn) for kernels and
 * biases, what a PyTorch model that does not re-initialise uses, e.g. Ilse et al.'s AB-MIL).
 */
export type LinearInit = 'xavier' | 'torch';

export class ParamStore {
  private readonly vars = new Map<string, tf.Variable>();
  /** Initialisation stream (weights). */
  readonly initRng: Rng;
  /** Separate stream for dropout masks, so training never shifts the initialisation. */
  readonly dropoutRng: Rng;

  constructor(
    seed = 0,
    readonly linearInit: LinearInit = 'xavier',
  ) {
    // Models are built after the backend is chosen: the moment to swap in the copy-free wasm kernels.
    if (tf.getBackend() === 'wasm') installWasmKernels();
    this.initRng = new Rng(seed);
    this.dropoutRng = new Rng(seed + 0x5bd1e995);
  }

  /** Adds a variable; `init` is consumed (disposed). */
  add(name: string, init: tf.Tensor, trainable = true): tf.Variable {
    if (this.vars.has(name)) throw new Error(`parameter "${name}" defined twice`);
    const v = tf.variable(init, trainable);
    init.dispose();
    this.vars.set(name, v);
    return v;
  }

  /** A view that prefixes every name with `prefix/`. */
  scope(prefix: string): ParamScope {
    return new ParamScope(this, prefix);
  }

  named(): Map<string, tf.Variable> {
    return this.vars;
  }

  all(): tf.Variable[] {
    return [...this.vars.values()];
  }

  trainable(): tf.Variable[] {
    return this.all().filter((v) => v.trainable);
  }

  dispose(): void {
    for (const v of this.vars.values()) v.dispose();
    this.vars.clear();
  }
}

/** A named sub-tree of a store, handed to a layer so its weights get unique names. */
export class ParamScope {
  constructor(
    readonly store: ParamStore,
    readonly prefix: string,
  ) {}

  scope(name: string): ParamScope {
    return new ParamScope(this.store, `${this.prefix}/${name}`);
  }

  add(name: string, init: tf.Tensor, trainable = true): tf.Variable {
    return this.store.add(`${this.prefix}/${name}`, init, trainable);
  }

  get rng(): Rng {
    return this.store.initRng;
  }

  get dropoutRng(): Rng {
    return this.store.dropoutRng;
  }
}

/** Normal(mean, sd) values of a shape, drawn from `rng`. */
export function normalTensor(rng: Rng, shape: number[], sd: number, mean = 0): tf.Tensor {
  const n = shape.reduce((a, b) => a * b, 1);
  const v = new Float32Array(n);
  for (let i = 0; i < n; i++) v[i] = rng.normal(mean, sd);
  return tf.tensor(v, shape);
}

/** Uniform(lo, hi) values of a shape, drawn from `rng`. */
export function uniformTensor(rng: Rng, shape: number[], lo: number, hi: number): tf.Tensor {
  const n = shape.reduce((a, b) => a * b, 1);
  const v = new Float32Array(n);
  for (let i = 0; i < n; i++) v[i] = rng.uniform(lo, hi);
  return tf.tensor(v, shape);
}

/** PyTorch `xavier_normal_` for a `[fanIn, fanOut]` kernel: sd = √(2 / (fanIn + fanOut)). */
export function xavierNormal(rng: Rng, fanIn: number, fanOut: number): tf.Tensor2D {
  return normalTensor(rng, [fanIn, fanOut], Math.sqrt(2 / (fanIn + fanOut))) as tf.Tensor2D;
}

/**
 * PyTorch's default Conv/Linear init (kaiming_uniform with a=√5 → U(±1/√fanIn)), used where the
 * reference keeps PyTorch defaults (the Nyström residual conv and PPEG convs).
 */
export function torchDefaultUniform(rng: Rng, shape: number[], fanIn: number): tf.Tensor {
  const bound = 1 / Math.sqrt(fanIn);
  return uniformTensor(rng, shape, -bound, bound);
}
