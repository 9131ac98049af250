/**
 * The two patch data sets of the SSL experiments (experiments/ssl.ts), each as ONE pool of
 * patches plus bag plans (lists of pool indices) for any bag size K. Every encoder featurises the
 * pool once; a bag of any K is then a lookup, and all encoders see exactly the same instances.
 *
 * - MNIST-bags with few witnesses (the seed paper's large-bag setting): a seeded pool of MNIST
 *   training digits; `bags` bags, every other one positive with 1..`maxWitnesses` nines among K
 *   digits, the rest non-nines. Bag b has the same label and number of nines at every K.
 * - Colon (CRCHistoPhenotypes): all 20,280 nucleus patches, bag = patient; a bag of size K keeps
 *   a seeded sample of K of the patient's patches, or all of them when the patient has fewer.
 */
import * as path from 'node:path';
import {
  type AugmentConfig,
  COLON_PATCH_SIZE,
  DEFAULT_AUGMENT,
  DIGIT_AUGMENT,
  type PatchSet,
  Rng,
  colonPatchBags,
  dataRoot,
  loadMnist,
} from 'milkit';

/** One bag: its label and which pool patches it holds. */
export interface BagPlan {
  id: string;
  label: number;
  patientId: string;
  members: number[];
}

export interface ExperimentData {
  name: string;
  /** Pool of RGB patches (grey images repeated over the 3 channels). */
  pool: PatchSet;
  /** Channels of the original images (1: grey), for raw-pixel cohorts. */
  channels: 1 | 3;
  /** Instance label of each pool patch (target digit / cancerous nucleus). */
  instanceLabels: Uint8Array;
  /** Augmentations suited to the images, for SSL pretraining. */
  augment: AugmentConfig;
  bags(k: number): BagPlan[];
}

/** A 32-bit mix of several integers, for per-(bag, K) seeds that do not overlap. */
function mix(...xs: number[]): number {
  let h = 0x811c9dc5;
  for (const x of xs) h = Math.imul(h ^ (x >>> 0), 0x01000193) >>> 0;
  return h;
}

export function mnistExperimentData(opts: {
  poolSize: number;
  bags: number;
  maxWitnesses: number;
  target?: number;
  seed: number;
}): ExperimentData {
  const target = opts.target ?? 9;
  const mnist = loadMnist('train');
  const chosen = new Rng(mix(opts.seed, 1)).sample(mnist.count, Math.min(opts.poolSize, mnist.count));
  const n = chosen.length;
  const pixels = new Uint8Array(n * 28 * 28 * 3);
  const instanceLabels = new Uint8Array(n);
  chosen.forEach((d, i) => {
    instanceLabels[i] = mnist.labels[d] === target ? 1 : 0;
    for (let p = 0; p < 784; p++) pixels.fill(mnist.pixels[d * 784 + p], (i * 784 + p) * 3, (i * 784 + p) * 3 + 3);
  });
  const targets = [...instanceLabels.keys()].filter((i) => instanceLabels[i] === 1);
  const others = [...instanceLabels.keys()].filter((i) => instanceLabels[i] === 0);
  return {
    name: 'mnist',
    pool: { pixels, size: 28, n },
    channels: 1,
    instanceLabels,
    augment: DIGIT_AUGMENT,
    bags(k) {
      return Array.from({ length: opts.bags }, (_, b) => {
        const label = b % 2;
        const witnesses = label ? 1 + new Rng(mix(opts.seed, 2, b)).int(Math.min(opts.maxWitnesses, k)) : 0;
        const rng = new Rng(mix(opts.seed, 3, b, k));
        const members = [
          ...Array.from({ length: witnesses }, () => targets[rng.int(targets.length)]),
          ...Array.from({ length: k - witnesses }, () => others[rng.int(others.length)]),
        ];
        const id = `bag-${String(b + 1).padStart(4, '0')}`;
        return { id, label, patientId: id, members: rng.shuffle(members) };
      });
    },
  };
}

export async function colonExperimentData(opts: { dir?: string; seed: number }): Promise<ExperimentData> {
  const patients: { id: string; label: number; patientId: string; start: number; n: number }[] = [];
  const chunks: Uint8Array[] = [];
  const labels: number[] = [];
  let n = 0;
  for await (const bag of colonPatchBags({ dir: opts.dir ?? path.join(dataRoot(), 'colon-crchp') })) {
    patients.push({ id: bag.id, label: bag.label ?? 0, patientId: bag.patientId ?? bag.id, start: n, n: bag.n });
    chunks.push(bag.pixels);
    labels.push(...Array.from(bag.instanceLabels ?? new Int32Array(bag.n)));
    n += bag.n;
  }
  const pixels = new Uint8Array(n * COLON_PATCH_SIZE * COLON_PATCH_SIZE * 3);
  let offset = 0;
  for (const c of chunks) {
    pixels.set(c, offset);
    offset += c.length;
  }
  return {
    name: 'colon',
    pool: { pixels, size: COLON_PATCH_SIZE, n },
    channels: 3,
    instanceLabels: Uint8Array.from(labels),
    augment: DEFAULT_AUGMENT,
    bags(k) {
      return patients.map((p, b) => {
        const all = Array.from({ length: p.n }, (_, i) => p.start + i);
        const members =
          p.n <= k
            ? all
            : new Rng(mix(opts.seed, 4, b, k))
                .sample(p.n, k)
                .sort((x, y) => x - y)
                .map((i) => p.start + i);
        return { id: p.id, label: p.label, patientId: p.patientId, members };
      });
    },
  };
}
