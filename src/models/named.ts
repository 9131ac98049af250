/**
 * A staged model under the name and config of the table entry that built it. An entry that puts
 * an instance encoder in front of another model (image-mil: LeNet + any staged model) returns the
 * inner model under its own name, so results record, and saved runs rebuild, the whole composition.
 */
import type {
  BaseModelConfig,
  ForwardOptions,
  LossTerms,
  MilOutput,
  StagedMilModel,
  StepBag,
  Target,
  TrainingStep,
} from './types';
import type * as tf from '@tensorflow/tfjs';
import { uploadBag } from './upload';

export class NamedMil<C extends BaseModelConfig> implements StagedMilModel<C> {
  /** @param rename how the inner model's variable names are saved (default: unchanged). */
  constructor(
    readonly name: string,
    readonly config: Readonly<C>,
    readonly inner: StagedMilModel,
    private readonly rename: (innerName: string) => string = (n) => n,
  ) {}

  get embedDim(): number {
    return this.inner.embedDim;
  }

  get returnsAttention(): boolean | undefined {
    return this.inner.returnsAttention;
  }

  forward(bag: tf.Tensor2D, opts: ForwardOptions): MilOutput {
    return this.inner.forward(bag, opts);
  }

  forwardBag(bag: StepBag, opts: ForwardOptions): MilOutput {
    return this.inner.forwardBag ? this.inner.forwardBag(bag, opts) : this.inner.forward(uploadBag(bag), opts);
  }

  embedInstances(bag: tf.Tensor2D, opts: ForwardOptions): tf.Tensor2D {
    return this.inner.embedInstances(bag, opts);
  }

  aggregate(embedded: tf.Tensor2D, opts: ForwardOptions): MilOutput {
    return this.inner.aggregate(embedded, opts);
  }

  loss(out: MilOutput, target: Target): LossTerms {
    return this.inner.loss(out, target);
  }

  trainingStep(bag: StepBag, target: Target): TrainingStep | Promise<TrainingStep> {
    return this.inner.trainingStep(bag, target);
  }

  setTotalIterations(total: number): void {
    this.inner.setTotalIterations?.(total);
  }

  trainableVariables(): tf.Variable[] {
    return this.inner.trainableVariables();
  }

  variables(): tf.Variable[] {
    return this.inner.variables();
  }

  namedVariables(): Map<string, tf.Variable> {
    return new Map([...this.inner.namedVariables()].map(([k, v]) => [this.rename(k), v]));
  }

  dispose(): void {
    this.inner.dispose();
  }
}
