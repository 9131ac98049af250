/**
 * Reading a payload back (renderers, tests): accepts the JSON object or its string form (tslab's
 * `display.raw` sends strings), checks the version first, then the fields a renderer relies on.
 */
import type { AttentionPayload } from './attention';
import type { MaskingPayload } from './masking';
import { checkMaskingSettings } from './masking';
import type { ResultsPayload } from './results';
import type { TrainingPayload } from './training';
import { MAX_INSTANCES, VIZ_MIME, VIZ_VERSIONS, type VizKind, VizSchemaError } from './schema';

export interface VizPayloads {
  attention: AttentionPayload;
  masking: MaskingPayload;
  training: TrainingPayload;
  results: ResultsPayload;
}
export type VizPayload = VizPayloads[VizKind];

/** The view kind of a MIME type, or undefined if it is not one of milkit's. */
export function vizKindOf(mime: string): VizKind | undefined {
  return (Object.keys(VIZ_MIME) as VizKind[]).find((k) => VIZ_MIME[k] === mime);
}

/** Parses and checks a payload of the given kind (or MIME type); throws VizSchemaError. */
export function parseViz<K extends VizKind>(kindOrMime: K | (typeof VIZ_MIME)[K], data: unknown): VizPayloads[K] {
  const kind = (vizKindOf(kindOrMime) ?? kindOrMime) as K;
  if (!(kind in VIZ_VERSIONS))
    throw new VizSchemaError(
      String(kindOrMime),
      `unknown view type (expected one of ${Object.values(VIZ_MIME).join(', ')})`,
    );
  let obj = data;
  if (typeof data === 'string') {
    try {
      obj = JSON.parse(data);
    } catch (err) {
      throw new VizSchemaError(kind, `not valid JSON: ${(err as Error).message}`);
    }
  }
  if (typeof obj !== 'object' || obj === null || Array.isArray(obj))
    throw new VizSchemaError(kind, `expected a JSON object, got ${describe(obj)}`);
  const p = obj as Record<string, unknown>;
  const supported = VIZ_VERSIONS[kind];
  if (!supported.includes(p.version as number)) {
    const newer = typeof p.version === 'number' && p.version > Math.max(...supported);
    throw new VizSchemaError(
      kind,
      `unsupported version ${JSON.stringify(p.version)} (this milkit reads version ${supported.join(', ')})` +
        (newer ? '; the output was written by a newer milkit: update milkit / milkit-jupyterlab' : ''),
      'version',
    );
  }
  if (p.kind !== kind) throw new VizSchemaError(kind, `kind is ${JSON.stringify(p.kind)}, expected "${kind}"`, 'kind');
  CHECKS[kind](p, kind);
  return p as unknown as VizPayloads[K];
}

type Check = (p: Record<string, unknown>, kind: VizKind) => void;

const CHECKS: Record<VizKind, Check> = {
  attention(p, kind) {
    const n = checkLayout(p, kind);
    if (p.attention === undefined && p.probability === undefined)
      throw new VizSchemaError(kind, 'needs attention or probability', 'attention');
    if (p.attention !== undefined) numbers(p.attention, kind, 'attention', n);
    if (p.probability !== undefined) numbers(p.probability, kind, 'probability', n);
    if (p.bagProbabilities !== undefined) numbers(p.bagProbabilities, kind, 'bagProbabilities');
    positiveInt(p.top, kind, 'top');
  },
  masking(p, kind) {
    const n = checkLayout(p, kind);
    numbers(p.scores, kind, 'scores', n);
    if (p.scoreKind !== 'attention' && p.scoreKind !== 'probability')
      throw new VizSchemaError(kind, `must be "attention" or "probability"`, 'scoreKind');
    if (typeof p.settings !== 'object' || p.settings === null) throw new VizSchemaError(kind, 'missing', 'settings');
    checkMaskingSettings(p.settings as MaskingPayload['settings']);
  },
  training(p, kind) {
    if (!Array.isArray(p.series)) throw new VizSchemaError(kind, 'must be an array', 'series');
    p.series.forEach((s: Record<string, unknown>, i: number) => {
      if (typeof s?.metric !== 'string')
        throw new VizSchemaError(kind, 'metric must be a string', `series[${i}].metric`);
      numbers(s.x, kind, `series[${i}].x`);
      numbers(s.y, kind, `series[${i}].y`, (s.x as number[]).length);
    });
    if (typeof p.done !== 'boolean') throw new VizSchemaError(kind, 'must be true or false', 'done');
    if (p.summary !== undefined) parseViz('results', p.summary);
  },
  results(p, kind) {
    if (!Array.isArray(p.columns) || p.columns.some((c) => typeof c !== 'string'))
      throw new VizSchemaError(kind, 'must be an array of strings', 'columns');
    if (!Array.isArray(p.rows)) throw new VizSchemaError(kind, 'must be an array', 'rows');
    const cols = p.columns.length;
    p.rows.forEach((r: Record<string, unknown>, i: number) => {
      if (!Array.isArray(r?.cells) || r.cells.length !== cols)
        throw new VizSchemaError(kind, `needs ${cols} cells`, `rows[${i}].cells`);
      r.cells.forEach((c: Record<string, unknown> | null, j: number) => {
        if (c !== null && typeof c?.mean !== 'number')
          throw new VizSchemaError(kind, 'a cell is null or has a numeric mean', `rows[${i}].cells[${j}]`);
      });
    });
  },
};

function checkLayout(p: Record<string, unknown>, kind: VizKind): number {
  if (typeof p.bagId !== 'string') throw new VizSchemaError(kind, 'must be a string', 'bagId');
  const n = positiveInt(p.n, kind, 'n');
  if (n > MAX_INSTANCES) throw new VizSchemaError(kind, `${n} instances exceed the limit of ${MAX_INSTANCES}`, 'n');
  if (p.coords !== undefined) numbers(p.coords, kind, 'coords', 2 * n);
  if (p.instanceLabels !== undefined) numbers(p.instanceLabels, kind, 'instanceLabels', n);
  return n;
}

function positiveInt(v: unknown, kind: VizKind, field: string): number {
  if (!Number.isInteger(v) || (v as number) < 1)
    throw new VizSchemaError(kind, `must be a positive integer, got ${describe(v)}`, field);
  return v as number;
}

function numbers(v: unknown, kind: VizKind, field: string, length?: number): void {
  if (!Array.isArray(v)) throw new VizSchemaError(kind, `must be an array of numbers, got ${describe(v)}`, field);
  if (length !== undefined && v.length !== length)
    throw new VizSchemaError(kind, `has ${v.length} values, expected ${length}`, field);
  for (let i = 0; i < v.length; i++) {
    if (typeof v[i] !== 'number')
      throw new VizSchemaError(kind, `value ${i} is ${describe(v[i])}, not a number`, field);
  }
}

function describe(v: unknown): string {
  if (Array.isArray(v)) return 'an array';
  if (v === null) return 'null';
  return typeof v === 'string'
    ? `the string ${JSON.stringify(v.slice(0, 40))}`
    : `${typeof v} ${String(v).slice(0, 40)}`;
}
