/**
 * The trainer's progress events: one typed stream that the CLI progress bar and the notebook live
 * display both consume (pure TypeScript, no Node imports).
 *
 * Consume it either way:
 * ```ts
 * const off = trainer.events.on((e) => { if (e.type === 'step') bar.update(e.step, e.steps); });
 * for await (const e of trainer.events) { ... }   // ends after the 'run-end' event
 * ```
 * Listeners run synchronously inside the training loop: keep them cheap (no tensor reads).
 */
/** Where in a run an event happened. */
export interface FoldRef {
  /** Repetition of the cross-validation (0-based). */
  repeat: number;
  /** Fold within the repetition (0-based). */
  fold: number;
}

export type TrainEvent =
  | { type: 'run-start'; repeats: number; folds: number; epochs: number; outDir?: string }
  | ({ type: 'fold-start'; trainBags: number; valBags: number; testBags: number; resumedFromEpoch?: number } & FoldRef)
  | ({ type: 'epoch-start'; epoch: number; epochs: number; lr: number; steps: number } & FoldRef)
  | ({
      type: 'step';
      epoch: number;
      /** Bags done in this epoch (1-based) of `steps`. */
      step: number;
      steps: number;
      /** Total loss of the step, and its named terms (e.g. `{ cls, instance }`; they sum to `loss`). */
      loss: number;
      terms?: Record<string, number>;
      instances: number;
      /** Throughput over the epoch so far. */
      bagsPerSecond: number;
      instancesPerSecond: number;
    } & FoldRef)
  | ({
      type: 'eval';
      epoch: number;
      split: 'train' | 'val' | 'test';
      loss: number;
      metrics: Record<string, number>;
    } & FoldRef)
  | ({
      type: 'epoch-end';
      epoch: number;
      trainLoss: number;
      /** Mean of each named loss term over the epoch (they sum to `trainLoss`). */
      trainTerms?: Record<string, number>;
      seconds: number;
      /** Value of the monitored metric on the selection set (NaN when there is none), and its name. */
      monitor: number;
      metric: string;
      improved: boolean;
      stop: boolean;
    } & FoldRef)
  | ({ type: 'checkpoint'; kind: 'last' | 'best'; path: string; epoch: number } & FoldRef)
  | ({
      type: 'fold-end';
      metrics: Record<string, number>;
      bestEpoch: number;
      epochsRun: number;
      interrupted: boolean;
    } & FoldRef)
  | {
      type: 'run-end';
      summary: Record<string, { mean: number; sd: number; n: number }>;
      interrupted: boolean;
      resultsPath?: string;
    };

export type TrainEventListener = (e: TrainEvent) => void;

/** Fan-out of TrainEvents to listeners and async iterators. */
export class TrainEventStream implements AsyncIterable<TrainEvent> {
  private readonly listeners = new Set<TrainEventListener>();

  /** Subscribes; returns the unsubscribe function. */
  on(listener: TrainEventListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  emit(e: TrainEvent): void {
    for (const l of this.listeners) l(e);
  }

  /** Yields every event from now on; finishes after 'run-end'. */
  async *[Symbol.asyncIterator](): AsyncIterator<TrainEvent> {
    const queue: TrainEvent[] = [];
    let wake: (() => void) | undefined;
    const off = this.on((e) => {
      queue.push(e);
      wake?.();
    });
    try {
      for (;;) {
        while (queue.length === 0) await new Promise<void>((r) => (wake = r));
        const e = queue.shift()!;
        yield e;
        if (e.type === 'run-end') return;
      }
    } finally {
      off();
    }
  }
}
