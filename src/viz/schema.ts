/**
 * The versioned JSON payloads milkit puts into notebook outputs (one custom MIME type per view).
 * Pure TypeScript: the kernel helpers build them, the JupyterLab plugin renders them, and a saved
 * notebook stores them, so every field is plain JSON and numbers are rounded to stay compact.
 *
 * Versioning: each payload carries `version`. A reader accepts exactly the versions listed in
 * VIZ_VERSIONS and rejects anything else with a VizSchemaError that says what to update.
 * Adding an optional field keeps the version; renaming, removing or changing a field's meaning
 * bumps it.
 *
 * Size limit: a bag may carry at most MAX_INSTANCES instances. Per instance a view stores a score
 * (4 significant digits, ≈ 10 bytes of JSON), optionally a second score, a coordinate pair (≈ 12
 * bytes) and an instance label (2 bytes): ≈ 35 bytes, so 15,000 instances ≈ 0.5 MB and the
 * 50,000 limit ≈ 1.7 MB.
 */

export const VIZ_MIME = {
  attention: 'application/vnd.milkit.attention+json',
  masking: 'application/vnd.milkit.masking+json',
  training: 'application/vnd.milkit.training+json',
  results: 'application/vnd.milkit.results+json',
} as const;

export type VizKind = keyof typeof VIZ_MIME;
export type VizMime = (typeof VIZ_MIME)[VizKind];

/** The payload versions this build of milkit writes (the last one) and reads (all listed). */
export const VIZ_VERSIONS: { readonly [K in VizKind]: readonly number[] } = {
  attention: [1],
  masking: [1],
  training: [1],
  results: [1],
};

/** Most instances one attention or masking view may carry (see the size estimate above). */
export const MAX_INSTANCES = 50_000;
/** Significant digits kept for scores and metric values. */
export const SCORE_DIGITS = 4;
/** Most points kept per training curve; longer curves are thinned evenly (first and last kept). */
export const MAX_CURVE_POINTS = 2_000;

/** Bad or unsupported payload: names the view and the field. */
export class VizSchemaError extends Error {
  constructor(
    readonly kind: string,
    readonly problem: string,
    readonly field?: string,
  ) {
    super(`milkit ${kind} output${field ? `, field "${field}"` : ''}: ${problem}`);
    this.name = 'VizSchemaError';
  }
}

/** `x` rounded to `digits` significant digits (keeps tiny attention weights distinguishable). */
export function roundSig(x: number, digits = SCORE_DIGITS): number {
  if (x === 0 || !Number.isFinite(x)) return x;
  return Number(x.toPrecision(digits));
}

/** A plain rounded number array from any numeric array (Float32Array included). */
export function roundedArray(values: ArrayLike<number>, digits = SCORE_DIGITS): number[] {
  const out = new Array<number>(values.length);
  for (let i = 0; i < values.length; i++) out[i] = roundSig(values[i], digits);
  return out;
}

/** What the views need to know about a bag (a milkit `Bag` fits; features are never stored). */
export interface BagRef {
  id: string;
  label?: number;
  /** Patch coordinates interleaved `[x0, y0, x1, y1, ...]`. */
  coords?: ArrayLike<number>;
  /** Known instance labels (evaluation only). */
  instanceLabels?: ArrayLike<number>;
  numInstances?: number;
}

/** The per-instance fields shared by the attention and masking views. */
export interface InstanceLayout {
  bagId: string;
  bagLabel?: number;
  /** Number of instances N. */
  n: number;
  /** Interleaved `[x0, y0, ...]` (length 2N), when the bag has coordinates. */
  coords?: number[];
  /** Side of one patch in coordinate units (the smallest step between coordinates), when coords exist. */
  patchSize?: number;
  instanceLabels?: number[];
}

/** Builds the shared instance fields and checks lengths against N. */
export function instanceLayout(kind: VizKind, bag: BagRef, n: number): InstanceLayout {
  if (!Number.isInteger(n) || n < 1) throw new VizSchemaError(kind, `a bag needs at least one instance, got ${n}`, 'n');
  if (n > MAX_INSTANCES) {
    throw new VizSchemaError(
      kind,
      `bag "${bag.id}" has ${n} instances; views carry at most ${MAX_INSTANCES} (subsample the bag first)`,
      'n',
    );
  }
  const layout: InstanceLayout = { bagId: bag.id, n };
  if (bag.label !== undefined) layout.bagLabel = bag.label;
  if (bag.coords) {
    if (bag.coords.length !== 2 * n)
      throw new VizSchemaError(
        kind,
        `bag "${bag.id}" has ${bag.coords.length / 2} coordinate pairs for ${n} scores`,
        'coords',
      );
    layout.coords = Array.from(bag.coords, Math.round);
    layout.patchSize = patchStep(layout.coords);
  }
  if (bag.instanceLabels) {
    if (bag.instanceLabels.length !== n)
      throw new VizSchemaError(
        kind,
        `bag "${bag.id}" has ${bag.instanceLabels.length} instance labels for ${n} scores`,
        'instanceLabels',
      );
    layout.instanceLabels = Array.from(bag.instanceLabels);
  }
  return layout;
}

/** Smallest positive gap between distinct x or y values: the patch grid step (1 if none). */
export function patchStep(coords: ArrayLike<number>): number {
  let step = Infinity;
  for (const axis of [0, 1]) {
    const values = new Set<number>();
    for (let i = axis; i < coords.length; i += 2) values.add(coords[i]);
    const sorted = [...values].sort((a, b) => a - b);
    for (let i = 1; i < sorted.length; i++) step = Math.min(step, sorted[i] - sorted[i - 1]);
  }
  return Number.isFinite(step) && step > 0 ? step : 1;
}
