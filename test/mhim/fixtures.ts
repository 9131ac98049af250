/** Small real models and synthetic bags for the MHIM tests (real tfjs, real AB-MIL code). */
import { Abmil, ABMIL_DEFAULTS } from '../../src/models/abmil';
import type { MilModel, StepBag } from '../../src/models/types';
import { Rng } from '../../src/random';

/** The AB-MIL inside MHIM-MIL (ReLU attention, no biases), shrunk: 16 → 8 features. */
export function smallAbmil(seed = 1): (role: 'student' | 'teacher') => MilModel {
  return (role) =>
    new Abmil({
      ...ABMIL_DEFAULTS,
      inputDim: 16,
      embedDim: 8,
      numClasses: 2,
      attention: 'relu',
      seed: role === 'teacher' ? seed + 1 : seed,
    });
}

/**
 * Synthetic MIL task: a bag is positive iff it holds at least one "witness" instance, whose first
 * feature is shifted by +3 (instances are otherwise N(0, 1)).
 */
export function syntheticBags(count: number, size: number, dim = 16, seed = 7): { bag: StepBag; label: number }[] {
  const rng = new Rng(seed);
  return Array.from({ length: count }, (_, b) => {
    const n = size + rng.int(size);
    const features = Float32Array.from({ length: n * dim }, () => rng.normal());
    const label = b % 2;
    if (label === 1) for (let w = 0; w < 2; w++) features[rng.int(n) * dim] += 3;
    return { bag: { id: `bag${b}`, features, numInstances: n, dim }, label };
  });
}
