/**
 * Linear probe of patch features (pure TS, no tfjs): can a linear classifier tell the witness
 * patches (nines, cancerous nuclei) from the rest? It explains the MIL rows: attention MIL can only
 * pick out witnesses its features separate. Seeded 2-fold (halves swap roles): each half's
 * held-out AUC of a class-balanced, L2-regularised logistic regression fitted by full-batch
 * gradient descent on features standardised with the training half's statistics.
 */
import { binaryAuc } from '../metrics/auc';
import { Rng } from '../random';

export interface ProbeOptions {
  seed?: number;
  iterations?: number;
  learningRate?: number;
  l2?: number;
}

function fitAndScore(
  x: Float32Array,
  dim: number,
  y: Uint8Array,
  train: number[],
  test: number[],
  o: Required<ProbeOptions>,
): number {
  const mean = new Float64Array(dim);
  const sd = new Float64Array(dim);
  for (const i of train) for (let d = 0; d < dim; d++) mean[d] += x[i * dim + d] / train.length;
  for (const i of train) for (let d = 0; d < dim; d++) sd[d] += (x[i * dim + d] - mean[d]) ** 2 / train.length;
  for (let d = 0; d < dim; d++) sd[d] = Math.sqrt(sd[d]) || 1;
  const z = (i: number, d: number) => (x[i * dim + d] - mean[d]) / sd[d];
  const pos = train.filter((i) => y[i] === 1).length;
  // Class-balanced weights: witnesses are rare (~10 % nines), so plain loss would ignore them.
  const weight = [0.5 / Math.max(1, train.length - pos), 0.5 / Math.max(1, pos)];
  const w = new Float64Array(dim);
  let b = 0;
  const grad = new Float64Array(dim);
  for (let it = 0; it < o.iterations; it++) {
    grad.fill(0);
    let gb = 0;
    for (const i of train) {
      let s = b;
      for (let d = 0; d < dim; d++) s += w[d] * z(i, d);
      const g = weight[y[i]] * (1 / (1 + Math.exp(-s)) - y[i]);
      for (let d = 0; d < dim; d++) grad[d] += g * z(i, d);
      gb += g;
    }
    for (let d = 0; d < dim; d++) w[d] -= o.learningRate * (grad[d] + o.l2 * w[d]);
    b -= o.learningRate * gb;
  }
  const scores = test.map((i) => {
    let s = b;
    for (let d = 0; d < dim; d++) s += w[d] * z(i, d);
    return s;
  });
  return binaryAuc(
    test.map((i) => y[i]),
    scores,
  );
}

/** Held-out instance AUC of a linear probe on `features` `[n × dim]`, one value per half. */
export function linearProbeAuc(
  features: Float32Array,
  dim: number,
  labels: Uint8Array,
  opts: ProbeOptions = {},
): number[] {
  const o: Required<ProbeOptions> = { seed: 0, iterations: 200, learningRate: 1, l2: 1e-3, ...opts };
  const n = labels.length;
  if (features.length !== n * dim)
    throw new Error(`linear probe: ${features.length} feature values for ${n} labels × ${dim}`);
  const order = new Rng(o.seed).shuffle([...Array(n).keys()]);
  const half = [order.slice(0, n >> 1), order.slice(n >> 1)];
  return [
    fitAndScore(features, dim, labels, half[0], half[1], o),
    fitAndScore(features, dim, labels, half[1], half[0], o),
  ];
}
