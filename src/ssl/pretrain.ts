/**
 * Self-supervised pretraining of the patch network: NT-Xent between two augmented views and/or
 * reconstruction of a (optionally masked) view, combined with weights. Adam, seeded batches and
 * augmentations derived from (seed, step) so a resumed run repeats the uninterrupted one exactly,
 * atomic checkpoints every `checkpointEvery` steps, one scalar read per step.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { MilkitDataError } from '../data/errors';
import { removeStaleTempFiles } from '../persist/atomic';
import { type RunFingerprint, runFingerprint, sha256 } from '../persist/fingerprint';
import { restoreSslPretraining, saveSslPretraining } from '../persist/ssl';
import { Rng } from '../random';
import { type AugmentConfig, DEFAULT_AUGMENT, augmentBatch } from './augment';
import { ntXent, reconstructionLoss } from './losses';
import { type SslNetConfig, DEFAULT_NET, SslNetwork } from './network';

/** Patches in memory, back to back: `[n][size][size][3]` RGB bytes. */
export interface PatchSet {
  pixels: Uint8Array;
  size: number;
  n: number;
}

export interface PretrainConfig {
  net: SslNetConfig;
  /** Weight of the NT-Xent loss (0 = reconstruction only). */
  contrastiveWeight: number;
  /** Weight of the reconstruction loss (0 = contrastive only). */
  reconstructionWeight: number;
  /** NT-Xent temperature τ. */
  temperature: number;
  /** Fraction of 4 × 4 cells hidden from the encoder for masked-patch reconstruction (0 = plain autoencoder). */
  maskRatio: number;
  batchSize: number;
  steps: number;
  learningRate: number;
  seed: number;
  augment: AugmentConfig;
}

export const DEFAULT_PRETRAIN: PretrainConfig = {
  net: DEFAULT_NET,
  contrastiveWeight: 1,
  reconstructionWeight: 1,
  temperature: 0.5,
  maskRatio: 0,
  batchSize: 64,
  steps: 500,
  learningRate: 1e-3,
  seed: 0,
  augment: DEFAULT_AUGMENT,
};

/** Objective presets (CLI `--objective`). */
export const OBJECTIVES = {
  contrastive: { contrastiveWeight: 1, reconstructionWeight: 0 },
  reconstruction: { contrastiveWeight: 0, reconstructionWeight: 1 },
  both: { contrastiveWeight: 1, reconstructionWeight: 1 },
} as const satisfies Record<string, Partial<PretrainConfig>>;
export type ObjectiveName = keyof typeof OBJECTIVES;

export interface StepRecord {
  step: number;
  loss: number;
  contrastive?: number;
  reconstruction?: number;
}

export interface PretrainProgress extends StepRecord {
  steps: number;
  elapsedMs: number;
  /** Augmented patches per second through the network (2 views count twice). */
  patchesPerSecond: number;
}

export interface PretrainOptions {
  /** Checkpoint file: written every `checkpointEvery` steps and at the end. */
  checkpoint?: string;
  checkpointEvery?: number;
  /** Continue from `checkpoint` if it exists (the configs must match). */
  resume?: boolean;
  onProgress?: (p: PretrainProgress) => void;
}

export interface PretrainResult {
  network: SslNetwork;
  history: StepRecord[];
  /** Step the run started from (> 0 when resumed). */
  startStep: number;
  seconds: number;
}

/** Adam with its state in plain variables, so checkpoints can hold it. */
class Adam {
  t = 0;
  readonly m: tf.Variable[];
  readonly v: tf.Variable[];
  constructor(
    private readonly vars: tf.Variable[],
    private readonly lr: number,
    private readonly b1 = 0.9,
    private readonly b2 = 0.999,
    private readonly eps = 1e-8,
  ) {
    const zeros = (x: tf.Variable) => {
      const z = tf.zerosLike(x);
      const v = tf.variable(z, false);
      z.dispose(); // tf.variable copies its initial value
      return v;
    };
    this.m = vars.map(zeros);
    this.v = vars.map(zeros);
  }
  apply(grads: tf.NamedTensorMap): void {
    this.t++;
    const c1 = 1 - this.b1 ** this.t;
    const c2 = 1 - this.b2 ** this.t;
    tf.tidy(() => {
      this.vars.forEach((x, i) => {
        const g = grads[x.name];
        if (!g) return;
        this.m[i].assign(tf.add(tf.mul(this.m[i], this.b1), tf.mul(g, 1 - this.b1)));
        this.v[i].assign(tf.add(tf.mul(this.v[i], this.b2), tf.mul(tf.square(g), 1 - this.b2)));
        const update = tf.div(tf.div(this.m[i], c1), tf.add(tf.sqrt(tf.div(this.v[i], c2)), this.eps));
        x.assign(tf.sub(x, tf.mul(update, this.lr)));
      });
    });
  }
  dispose(): void {
    [...this.m, ...this.v].forEach((x) => x.dispose());
  }
}

/** Mask `[B, S, S, 1]` hiding a random `ratio` of the 4 × 4 cells of each patch (1 = hidden). */
function cellMask(b: number, s: number, ratio: number, rng: Rng): Float32Array {
  const cells = s / 4;
  const mask = new Float32Array(b * s * s);
  const hide = Math.round(ratio * cells * cells);
  for (let i = 0; i < b; i++) {
    for (const cell of rng.sample(cells * cells, hide)) {
      const cy = Math.floor(cell / cells) * 4;
      const cx = (cell % cells) * 4;
      for (let y = cy; y < cy + 4; y++) mask.fill(1, i * s * s + y * s + cx, i * s * s + y * s + cx + 4);
    }
  }
  return mask;
}

/** Same seed and step → same batch and views (a 32-bit mix keeps nearby steps unrelated). */
function stepRng(seed: number, step: number): Rng {
  return new Rng((Math.imul(seed + 1, 0x9e3779b1) ^ Math.imul(step + 1, 0x85ebca77)) >>> 0);
}

function checkConfig(c: PretrainConfig): void {
  const bad = (field: string, why: string) => new Error(`SSL pretraining: ${field} ${why}`);
  if (c.contrastiveWeight < 0 || c.reconstructionWeight < 0 || c.contrastiveWeight + c.reconstructionWeight <= 0) {
    throw bad('contrastiveWeight/reconstructionWeight', 'must be ≥ 0 and not both 0');
  }
  if (!Number.isInteger(c.batchSize) || c.batchSize < 2)
    throw bad('batchSize', `must be an integer ≥ 2, got ${c.batchSize}`);
  if (!Number.isInteger(c.steps) || c.steps < 0) throw bad('steps', `must be a non-negative integer, got ${c.steps}`);
  if (!(c.maskRatio >= 0 && c.maskRatio < 1)) throw bad('maskRatio', `must be in [0, 1), got ${c.maskRatio}`);
  if (!(c.learningRate > 0)) throw bad('learningRate', `must be > 0, got ${c.learningRate}`);
}

/** What a resumed pretraining must match: the config (apart from `steps`) and the patches. */
function pretrainFingerprint(cfg: PretrainConfig, patches: PatchSet): RunFingerprint {
  const { steps: _, ...settings } = cfg;
  return runFingerprint({
    pretraining: settings,
    data: { patches: patches.n, size: patches.size, pixels: `sha256:${sha256(patches.pixels)}` },
  });
}

/** Runs pretraining on `patches`; returns the trained network (the caller disposes it). */
export async function pretrain(
  patches: PatchSet,
  config: Partial<PretrainConfig> = {},
  opts: PretrainOptions = {},
): Promise<PretrainResult> {
  const cfg: PretrainConfig = {
    ...DEFAULT_PRETRAIN,
    ...config,
    net: { ...DEFAULT_NET, ...config.net },
    augment: { ...DEFAULT_AUGMENT, ...config.augment },
  };
  checkConfig(cfg);
  if (patches.n < 2)
    throw new MilkitDataError(`SSL pretraining needs at least 2 patches, got ${patches.n}`, { field: 'patches' });
  const net = new SslNetwork(cfg.net, cfg.seed);
  const trained: ('enc' | 'proj' | 'dec')[] = ['enc'];
  if (cfg.contrastiveWeight > 0) trained.push('proj');
  if (cfg.reconstructionWeight > 0) trained.push('dec');
  const vars = net.variables(trained);
  const adam = new Adam(vars, cfg.learningRate);
  // Adam's moments by the name of the parameter they belong to.
  const names = new Map([...net.params].map(([n, v]) => [v, n]));
  const moments = vars.map((v, i): [string, tf.Variable, tf.Variable] => [names.get(v)!, adam.m[i], adam.v[i]]);
  const fingerprint = opts.checkpoint ? pretrainFingerprint(cfg, patches) : undefined;
  let history: StepRecord[] = [];
  let startStep = 0;
  if (opts.checkpoint) removeStaleTempFiles(path.dirname(path.resolve(opts.checkpoint)));
  if (opts.resume && opts.checkpoint && fs.existsSync(opts.checkpoint)) {
    try {
      const r = restoreSslPretraining(opts.checkpoint, { network: net, moments, fingerprint: fingerprint! });
      ({ step: startStep, history } = r);
      adam.t = r.optimizerStep;
    } catch (err) {
      adam.dispose();
      net.dispose();
      throw err;
    }
  }
  const save = async (step: number) => {
    if (opts.checkpoint)
      await saveSslPretraining(opts.checkpoint, {
        network: net,
        optimizer: { step: adam.t, moments },
        config: cfg,
        step,
        history,
        fingerprint: fingerprint!,
      });
  };

  const s = cfg.net.inputSize;
  const b = cfg.batchSize;
  const views = cfg.contrastiveWeight > 0 ? 2 : 1;
  const t0 = Date.now();
  for (let step = startStep; step < cfg.steps; step++) {
    const rng = stepRng(cfg.seed, step);
    const idx = Array.from({ length: b }, () => rng.int(patches.n));
    const v1 = tf.tensor4d(augmentBatch(patches.pixels, patches.size, idx, s, rng, cfg.augment), [b, s, s, 3]);
    const v2 =
      views === 2
        ? tf.tensor4d(augmentBatch(patches.pixels, patches.size, idx, s, rng, cfg.augment), [b, s, s, 3])
        : undefined;
    const mask =
      cfg.reconstructionWeight > 0 && cfg.maskRatio > 0
        ? tf.tensor4d(cellMask(b, s, cfg.maskRatio, rng), [b, s, s, 1])
        : undefined;
    let terms: tf.Scalar[] = [];
    const { value, grads } = tf.variableGrads(() => {
      const parts: tf.Scalar[] = [];
      const h1 = net.encode(v1);
      let total = tf.scalar(0);
      if (v2) {
        const c = ntXent(net.project(h1), net.project(net.encode(v2)), cfg.temperature);
        parts.push(c);
        total = tf.add(total, tf.mul(c, cfg.contrastiveWeight));
      }
      if (cfg.reconstructionWeight > 0) {
        const hr = mask ? net.encode(tf.mul(v1, tf.sub(1, mask)) as tf.Tensor4D) : h1;
        const r = reconstructionLoss(net.decode(hr), v1, mask);
        parts.push(r);
        total = tf.add(total, tf.mul(r, cfg.reconstructionWeight));
      }
      terms = parts.map((t) => tf.keep(t));
      return total as tf.Scalar;
    }, vars);
    adam.apply(grads);
    // One read per step: the total and its parts together.
    const packed = tf.stack([value, ...terms]);
    const vals = await packed.data();
    tf.dispose([packed, value, ...terms, ...Object.values(grads), v1, ...(v2 ? [v2] : []), ...(mask ? [mask] : [])]);
    const rec: StepRecord = { step: step + 1, loss: vals[0] };
    let k = 1;
    if (v2) rec.contrastive = vals[k++];
    if (cfg.reconstructionWeight > 0) rec.reconstruction = vals[k++];
    if (!Number.isFinite(rec.loss)) {
      adam.dispose();
      net.dispose();
      throw new Error(`SSL pretraining diverged at step ${step + 1} (loss ${rec.loss}); lower the learning rate`);
    }
    history.push(rec);
    const elapsedMs = Date.now() - t0;
    opts.onProgress?.({
      ...rec,
      steps: cfg.steps,
      elapsedMs,
      patchesPerSecond: ((step + 1 - startStep) * b * views * 1000) / Math.max(1, elapsedMs),
    });
    if (opts.checkpointEvery && (step + 1) % opts.checkpointEvery === 0 && step + 1 < cfg.steps) await save(step + 1);
  }
  await save(Math.max(cfg.steps, startStep));
  adam.dispose();
  return { network: net, history, startStep, seconds: (Date.now() - t0) / 1000 };
}
