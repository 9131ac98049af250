/**
 * Test fixtures for the trainer: a tiny attention-MIL model (defined here so trainer tests do not
 * depend on the model zoo) and small real Arrow cohorts with a learnable MIL rule.
 */
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { type BagRecord, writeCohort } from '../../src/data';
import { bagLoss } from '../../src/models/losses';
import { uploadBag } from '../../src/models/base';
import type {
  ForwardOptions,
  LossTerms,
  MilModel,
  MilOutput,
  StepBag,
  Target,
  TrainingStep,
} from '../../src/models/types';
import { Rng } from '../../src/random';

export interface TinyConfig {
  inputDim: number;
  numClasses: number;
  seed?: number;
  hidden?: number;
}

/** h = relu(xW), a = softmax_N(h·u), z = aᵀh, logits = zV + b. Seeded init, no dropout. */
export class TinyAttentionMil implements MilModel<TinyConfig> {
  readonly name = 'tiny-attention';
  private readonly w: tf.Variable;
  private readonly u: tf.Variable;
  private readonly v: tf.Variable;
  private readonly b: tf.Variable;

  constructor(readonly config: TinyConfig) {
    const rng = new Rng(config.seed ?? 0);
    const h = config.hidden ?? 8;
    const init = (r: number, c: number) =>
      tf.tensor2d(
        Array.from({ length: r * c }, () => rng.normal(0, Math.sqrt(2 / (r + c)))),
        [r, c],
      );
    // tidy frees the initial values (tf.variable keeps its own copy).
    [this.w, this.u, this.v, this.b] = tf.tidy(() => [
      tf.variable(init(config.inputDim, h)),
      tf.variable(init(h, 1)),
      tf.variable(init(h, config.numClasses)),
      tf.variable(tf.zeros([config.numClasses])),
    ]);
  }

  forward(bag: tf.Tensor2D, _opts: ForwardOptions): MilOutput {
    return tf.tidy(() => {
      const h = tf.relu(tf.matMul(bag, this.w));
      const a = tf.softmax(tf.reshape(tf.matMul(h, this.u), [-1])) as tf.Tensor1D;
      const z = tf.reshape(tf.matMul(tf.reshape(a, [1, -1]), h), [-1]) as tf.Tensor1D;
      const logits = tf.add(tf.reshape(tf.matMul(tf.reshape(z, [1, -1]), this.v), [-1]), this.b) as tf.Tensor1D;
      return { logits, embedding: z, attention: a };
    });
  }

  loss(out: MilOutput, target: Target): LossTerms {
    return { cls: bagLoss(out.logits, target) };
  }

  trainingStep(bag: StepBag, target: Target): TrainingStep {
    const x = uploadBag(bag);
    return {
      loss: () => this.loss(this.forward(x, { training: true }), target),
      finish: () => x.dispose(),
    };
  }

  namedVariables(): Map<string, tf.Variable> {
    return new Map(Object.entries({ w: this.w, u: this.u, v: this.v, b: this.b }));
  }

  trainableVariables(): tf.Variable[] {
    return [this.w, this.u, this.v, this.b];
  }

  variables(): tf.Variable[] {
    return this.trainableVariables();
  }

  dispose(): void {
    tf.dispose(this.variables());
  }
}

export const tinyModel =
  (hidden = 8) =>
  (init: { inputDim: number; numClasses: number; seed: number }) =>
    new TinyAttentionMil({ ...init, hidden });

/**
 * A cohort where a bag is positive iff one of its instances carries a "witness" (feature 0 ≈ +2).
 * `survival`: times and events instead; high-risk bags (all instances shifted on feature 0) die earlier.
 */
export async function writeToyCohort(
  dir: string,
  opts: { bags?: number; dim?: number; survival?: boolean; name?: string; offset?: number } = {},
): Promise<string> {
  const { bags = 24, dim = 6, survival = false, name = 'toy', offset = 0 } = opts;
  const rng = new Rng(99);
  const records: BagRecord[] = [];
  for (let b = 0; b < bags; b++) {
    const positive = b % 2 === 1;
    const n = 3 + rng.int(5);
    const features = Float32Array.from({ length: n * dim }, () => rng.normal() * 0.5 + offset);
    if (positive && !survival) features[rng.int(n) * dim] = 2.5 + offset;
    // Survival: every instance of a high-risk bag is shifted (a clear signal for the slower hazard loss).
    if (positive && survival) for (let i = 0; i < n; i++) features[i * dim] += 2;
    const rec: BagRecord = { id: `b${b}`, features, patientId: `p${b}` };
    if (survival) {
      rec.time = (positive ? 5 : 20) + rng.uniform(0, 10);
      rec.event = rng.next() < 0.75 ? 1 : 0;
    } else rec.label = positive ? 1 : 0;
    records.push(rec);
  }
  const file = path.join(dir, `${name}.arrow`);
  await writeCohort(file, records, { dim });
  return file;
}
