/**
 * Seeded pseudo-random numbers (pure TypeScript, browser-safe): the same seed gives the same
 * splits, bags, masks, bootstrap samples and augmentations on every machine.
 * Generator: mulberry32 (32-bit state; fast, good enough for sampling, not for cryptography).
 */
/**
 * What code that draws random integers needs. `Rng` is the seeded implementation; MHIM's masking
 * also accepts a replay of recorded draws through it (`MhimModel.setRandomSource`), which is how
 * its steps are compared with the authors' recorded permutations.
 */
export interface RandomSource {
  /** Uniform integer in [0, n). */
  int(n: number): number;
}

export class Rng implements RandomSource {
  private state: number;

  constructor(seed: number) {
    this.state = hashSeed(seed);
  }

  /** Uniform float in [0, 1). */
  next(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  /** Uniform integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }

  /** Uniform float in [lo, hi). */
  uniform(lo: number, hi: number): number {
    return lo + (hi - lo) * this.next();
  }

  /** Standard normal (Box–Muller). */
  normal(mean = 0, sd = 1): number {
    let u = 0;
    while (u === 0) u = this.next();
    return mean + sd * Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * this.next());
  }

  /** Shuffles `a` in place (Fisher–Yates) and returns it. */
  shuffle<T>(a: T[]): T[] {
    for (let i = a.length - 1; i > 0; i--) {
      const j = this.int(i + 1);
      [a[i], a[j]] = [a[j], a[i]];
    }
    return a;
  }

  /** `k` distinct indices from [0, n), in random order (partial Fisher–Yates). */
  sample(n: number, k: number): number[] {
    if (k > n) throw new Error(`cannot sample ${k} distinct items from ${n}`);
    const idx = Array.from({ length: n }, (_, i) => i);
    for (let i = 0; i < k; i++) {
      const j = i + this.int(n - i);
      [idx[i], idx[j]] = [idx[j], idx[i]];
    }
    return idx.slice(0, k);
  }

  /** A 32-bit integer, e.g. to seed tfjs initialisers or a child generator. */
  uint32(): number {
    return Math.floor(this.next() * 4294967296) >>> 0;
  }
}

/** Spreads nearby seeds (0, 1, 2, ...) over the state space (murmur3 finaliser). */
function hashSeed(seed: number): number {
  let h = (Math.floor(seed) ^ 0x9e3779b9) >>> 0;
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}
