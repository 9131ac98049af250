/**
 * Cohort inference throughput: bags per second for a whole cohort streamed from an Arrow file.
 *
 * Writes a synthetic cohort (bags of N ~ U[min, max] instances × D, uniform features) to a temp
 * dir, then runs the model's forward on every bag as `Cohort.iterate()` streams them (the bag
 * cache off, so every bag is read from the file): the next bag is requested before the current
 * one is computed, so its read overlaps the computation. Reports bags/s and instances/s over the
 * whole pass (after one warm-up bag), the time spent waiting for data, and the peak RSS.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { Cohort, type MilModel, Rng, writeCohort } from 'milkit';

export interface CohortThroughput {
  bags: number;
  instances: number;
  dim: number;
  seconds: number;
  bagsPerSecond: number;
  instancesPerSecond: number;
  /** Seconds the loop waited for the next bag (reads not hidden behind computation). */
  waitSeconds: number;
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

/** Streams every bag of `file` through `model.forward` (inference) and times the pass. */
export async function cohortThroughput(model: MilModel, file: string): Promise<CohortThroughput> {
  const cohort = await Cohort.open(file, { cacheBytes: 0 });
  try {
    const infer = async (features: Float32Array, n: number, dim: number) => {
      const logits = tf.tidy(() => model.forward(tf.tensor2d(features, [n, dim]), { training: false }).logits);
      await logits.data();
      logits.dispose();
    };
    const first = await cohort.bag(0); // warm-up: kernels, heap growth
    await infer(first.features, first.numInstances, first.dim);
    const it = cohort.iterate();
    let instances = 0;
    let bags = 0;
    let wait = 0;
    const t0 = performance.now();
    let next = it.next();
    for (;;) {
      const w0 = performance.now();
      const r = await next;
      wait += performance.now() - w0;
      if (r.done) break;
      next = it.next(); // the read of bag i+1 overlaps the forward of bag i
      await infer(r.value.features, r.value.numInstances, r.value.dim);
      instances += r.value.numInstances;
      bags++;
    }
    const seconds = (performance.now() - t0) / 1000;
    return {
      bags,
      instances,
      dim: cohort.dim,
      seconds,
      bagsPerSecond: bags / seconds,
      instancesPerSecond: instances / seconds,
      waitSeconds: wait / 1000,
      peakRssMB: Math.round(process.resourceUsage().maxRSS / 1024),
    };
  } finally {
    await cohort.close();
  }
}

/** Temp dir for a synthetic cohort, removed by the returned function. */
export function tempCohortDir(): { dir: string; remove(): void } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'milkit-bench-cohort-'));
  return { dir, remove: () => fs.rmSync(dir, { recursive: true, force: true }) };
}
