/**
 * Cohort inference throughput: bags per second for a whole cohort streamed from an Arrow file.
 *
 * Writes a synthetic cohort (bags of N ~ U[min, max] instances × D, uniform features) to a temp
 * dir, then runs the model on every bag as `Cohort.iterate()` streams them (the bag cache off, so
 * every bag is read from the file; with read-ahead the next bag is read while the current one
 * computes). Reports bags/s and instances/s over the whole pass (after one warm-up bag), the time
 * spent waiting for data, CPU seconds and the peak RSS.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import {
  Adam,
  Cohort,
  type MilModel,
  Rng,
  type StepBag,
  type Target,
  forwardBag,
  trainStep,
  writeCohort,
} from 'milkit';

export interface CohortThroughput {
  bags: number;
  instances: number;
  dim: number;
  seconds: number;
  bagsPerSecond: number;
  instancesPerSecond: number;
  /** Seconds the loop waited for the next bag (reads not hidden behind computation). */
  waitSeconds: number;
  /** Process CPU seconds of the pass (all threads, the reads' system time included). */
  cpuSeconds?: number;
  peakRssMB: number;
}

/** Writes the synthetic cohort; returns its path (inside a fresh temp dir the caller removes). */
export async function writeSyntheticCohort(
  dir: string,
  bags: number,
  minN: number,
  maxN: number,
  dim: number,
  seed = 1,
): Promise<string> {
  const file = path.join(dir, 'cohort.arrow');
  const rng = new Rng(seed);
  await writeCohort(
    file,
    (function* () {
      for (let b = 0; b < bags; b++) {
        const n = minN + rng.int(maxN - minN + 1);
        const features = new Float32Array(n * dim);
        for (let i = 0; i < features.length; i++) features[i] = rng.next() - 0.5;
        yield { id: `bag-${b}`, label: b % 2, features };
      }
    })(),
    { dim },
  );
  return file;
}

export interface PassOptions {
  /** Bags read ahead while one computes (Cohort's `readAhead`): 1 overlaps reads with compute, 0 does not. */
  readAhead?: 0 | 1;
  /** Train (a trainer step with Adam per bag) instead of inference. */
  train?: boolean;
  /** Skip the warm-up bag (the caller warmed the model up already). */
  warm?: boolean;
}

/**
 * Streams every bag of `file` through the model (inference: `forwardBag`; training: `trainStep`
 * with Adam) and times the pass, the bag cache off so every bag is read from the file.
 */
export async function cohortThroughput(
  model: MilModel,
  file: string,
  opts: PassOptions = {},
): Promise<CohortThroughput> {
  const cohort = await Cohort.open(file, { cacheBytes: 0, readAhead: opts.readAhead ?? 1 });
  const optimizer = opts.train ? new Adam(model.trainableVariables(), { lr: 2e-4, weightDecay: 1e-5 }) : undefined;
  const target: Target = { kind: 'class', label: 1, numClasses: 2 };
  try {
    const step = async (bag: StepBag) => {
      if (optimizer) return void (await trainStep(model, bag, target, optimizer));
      const logits = tf.tidy(() => forwardBag(model, bag, { training: false }).logits);
      await logits.data();
      logits.dispose();
    };
    if (!opts.warm) await step(await cohort.bag(0)); // warm-up: kernels, heap growth
    let instances = 0;
    let bags = 0;
    let wait = 0;
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    const it = cohort.iterate();
    for (;;) {
      const w0 = performance.now();
      const r = await it.next(); // with readAhead 1 this bag was read during the previous step
      wait += performance.now() - w0;
      if (r.done) break;
      await step(r.value);
      instances += r.value.numInstances;
      bags++;
    }
    const seconds = (performance.now() - t0) / 1000;
    const cpu = process.cpuUsage(c0);
    return {
      bags,
      instances,
      dim: cohort.dim,
      seconds,
      cpuSeconds: (cpu.user + cpu.system) / 1e6,
      bagsPerSecond: bags / seconds,
      instancesPerSecond: instances / seconds,
      waitSeconds: wait / 1000,
      peakRssMB: Math.round(process.resourceUsage().maxRSS / 1024),
    };
  } finally {
    optimizer?.dispose();
    await cohort.close();
  }
}

/** Temp dir for a synthetic cohort, removed by the returned function. */
export function tempCohortDir(): { dir: string; remove(): void } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'milkit-bench-cohort-'));
  return { dir, remove: () => fs.rmSync(dir, { recursive: true, force: true }) };
}
