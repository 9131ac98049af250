/**
 * Seeded k-means (k-means++ start, then Lloyd iterations) on row vectors: pure TypeScript, no tfjs,
 * shared with the browser through `core.ts`. IBMIL builds its confounder dictionary with it.
 */
import { Rng } from '../random';

export interface KMeansResult {
  /** `k × dim` centroids, row-major. */
  centroids: Float32Array;
  /** Cluster of each point. */
  assignment: Int32Array;
  /** Points per cluster. */
  sizes: number[];
  /** Sum of squared distances of the points to their centroids. */
  inertia: number;
}

export function kMeans(
  points: ArrayLike<number>[],
  k: number,
  opts: { seed?: number; iterations?: number } = {},
): KMeansResult {
  const n = points.length;
  if (n === 0) throw new Error('kMeans: no points');
  if (!Number.isInteger(k) || k < 1 || k > n)
    throw new Error(`kMeans: k must be an integer in 1..${n} (the number of points), got ${k}`);
  const dim = points[0].length;
  for (const [i, p] of points.entries())
    if (p.length !== dim) throw new Error(`kMeans: point ${i} has ${p.length} values, point 0 has ${dim}`);
  const rng = new Rng(opts.seed ?? 0);
  const dist2 = (p: ArrayLike<number>, c: Float32Array, j: number) => {
    let s = 0;
    for (let d = 0; d < dim; d++) s += (p[d] - c[j * dim + d]) ** 2;
    return s;
  };
  // k-means++: each next centre drawn with probability ∝ squared distance to the nearest chosen one.
  const centroids = new Float32Array(k * dim);
  centroids.set(Array.from(points[rng.int(n)]), 0);
  const nearest = points.map((p) => dist2(p, centroids, 0));
  for (let j = 1; j < k; j++) {
    const total = nearest.reduce((a, b) => a + b, 0);
    let pick = 0;
    if (total > 0) {
      let r = rng.next() * total;
      while (pick < n - 1 && (r -= nearest[pick]) > 0) pick++;
    } else pick = rng.int(n);
    centroids.set(Array.from(points[pick]), j * dim);
    points.forEach((p, i) => (nearest[i] = Math.min(nearest[i], dist2(p, centroids, j))));
  }
  const assignment = new Int32Array(n);
  let inertia = 0;
  for (let it = 0; it < (opts.iterations ?? 100); it++) {
    let changed = it === 0;
    inertia = 0;
    points.forEach((p, i) => {
      let best = 0;
      let bestD = Infinity;
      for (let j = 0; j < k; j++) {
        const d = dist2(p, centroids, j);
        if (d < bestD) [best, bestD] = [j, d];
      }
      if (assignment[i] !== best) changed = true;
      assignment[i] = best;
      inertia += bestD;
    });
    if (!changed) break;
    const sums = new Float64Array(k * dim);
    const counts = new Array<number>(k).fill(0);
    points.forEach((p, i) => {
      counts[assignment[i]]++;
      for (let d = 0; d < dim; d++) sums[assignment[i] * dim + d] += p[d];
    });
    // An emptied cluster keeps its previous centre (it can win points back next iteration).
    for (let j = 0; j < k; j++)
      if (counts[j] > 0) for (let d = 0; d < dim; d++) centroids[j * dim + d] = sums[j * dim + d] / counts[j];
  }
  const sizes = new Array<number>(k).fill(0);
  assignment.forEach((a) => sizes[a]++);
  return { centroids, assignment, sizes, inertia };
}
