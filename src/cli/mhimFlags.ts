/**
 * `milkit train --mhim v1|v2` and every MHIM-MIL hyperparameter as a flag. A flag left out keeps the
 * version's published default (mhim/config.ts: MHIM_V1, MHIM_V2), which its help shows; each help
 * names the authors' option it stands for, so their commands translate flag by flag.
 */
import { MHIM_V1, MHIM_V2, type MhimInit, type MhimOverrides } from '../mhim';
import { UsageError } from './flags';
import type { FlagSpec, FlagValues } from './flags';

const defaults = (pick: (c: typeof MHIM_V2) => unknown) => `v2 ${String(pick(MHIM_V2))}, v1 ${String(pick(MHIM_V1))}`;
const grnDefault = (pick: (g: NonNullable<typeof MHIM_V2.grn>) => unknown) => String(pick(MHIM_V2.grn!));

export const MHIM_FLAGS: FlagSpec = {
  mhim: {
    type: 'string',
    help:
      'wrap the model in MHIM-MIL: v1 or v2 (teacher, hard-instance masking, consistency ' +
      'loss); the --mhim-* flags below override the version’s published defaults',
  },
  'mhim-score': {
    type: 'string',
    help:
      'instance scores: attention or class-aware (--attn2score; needs a model ' +
      'with a classifier, e.g. abmil, transmil) (v2 class-aware, v1 attention)',
  },
  'mhim-mask-high': {
    type: 'number',
    help: `βh, share of the highest-scored instances masked (--mask_ratio_h) (${defaults((c) => c.mask.highRatio)})`,
  },
  'mhim-mask-high-random': {
    type: 'number',
    help:
      `r of RHSM: mask a random r of the top βh/r (--mask_ratio_hr; 1 = ` +
      `exactly the top βh) (${defaults((c) => c.mask.highRandomRatio)})`,
  },
  'mhim-mask-low': {
    type: 'number',
    help: `share of the lowest-scored instances masked (--mask_ratio_l) (${defaults((c) => c.mask.lowRatio)})`,
  },
  'mhim-mask-random': {
    type: 'number',
    help: `share of the bag masked at random (--mask_ratio) (${defaults((c) => c.mask.randomRatio)})`,
  },
  'mhim-decay': {
    type: 'boolean',
    help: `cosine decay of βh to 0 over training (--mrh_sche) (${defaults((c) => c.decayHighRatio)})`,
  },
  'mhim-alpha': {
    type: 'number',
    help: `α, weight of the consistency loss (--aux_alpha / v1 --cl_alpha) (${defaults((c) => c.consistencyWeight)})`,
  },
  'mhim-tau': {
    type: 'number',
    help: `τ, teacher temperature of the consistency loss (--temp_t) (${defaults((c) => c.temperature)})`,
  },
  'mhim-momentum': { type: 'number', help: `teacher EMA momentum (--mm) (${defaults((c) => c.teacherMomentum)})` },
  'mhim-momentum-schedule': {
    type: 'boolean',
    help: `cosine schedule of the teacher momentum to 1 (--mm_sche) (${defaults((c) => c.momentumSchedule)})`,
  },
  'mhim-grn': {
    type: 'boolean',
    help: 'the Global Recycle Network (--merge_enable; --no-mhim-grn turns it off) (v2 on, v1 off)',
  },
  'mhim-grn-queries': {
    type: 'number',
    help: `K, global queries of the GRN (--merge_k) (${grnDefault((g) => g.numQueries)})`,
  },
  'mhim-grn-keep': {
    type: 'number',
    help:
      `share of the kept instances the student encodes, the rest is ` +
      `recycled (--merge_ratio) (${grnDefault((g) => g.keepFraction)})`,
  },
  'mhim-grn-momentum': {
    type: 'number',
    help: `EMA momentum of the GRN queries (--merge_mm) (${grnDefault((g) => g.queryMomentum)})`,
  },
  'mhim-seed': { type: 'number', help: 'seed of the masking and GRN random streams (default: the fold’s model seed)' },
  'teacher-init': {
    type: 'string',
    help:
      'run folder of a finished plain run of the same model, data and splits: each ' +
      'fold’s teacher starts from that fold’s model (the authors’ --teacher_init)',
  },
  'student-init': {
    type: 'string',
    help:
      'run folder as for --teacher-init: each fold’s student starts ' +
      'from that fold’s model (paper §4.5.4; see --student-init-layers)',
  },
  'student-init-layers': {
    type: 'string',
    help:
      'what --student-init copies: projection (the instance ' +
      'projection, v1’s --init_stu_type fc) or all (default projection)',
  },
};

/** The MHIM settings the flags ask for, or undefined without `--mhim` (then every --mhim-* flag is refused). */
export function mhimFromFlags(f: FlagValues): { mhim: MhimOverrides; init?: MhimInit } | undefined {
  const version = f.mhim as string | undefined;
  const given = Object.keys(MHIM_FLAGS).filter((k) => k !== 'mhim' && f[k] !== undefined);
  if (version === undefined) {
    if (given.length) throw new UsageError(`--${given[0]} needs --mhim v1 or --mhim v2`);
    return undefined;
  }
  if (version !== 'v1' && version !== 'v2') throw new UsageError(`--mhim must be v1 or v2, got ${version}`);
  const num = (k: string) => f[k] as number | undefined;
  const ratio = (k: string, lo: number, loOpen: boolean) => {
    const v = num(k);
    if (v !== undefined && !((loOpen ? v > lo : v >= lo) && v <= 1))
      throw new UsageError(`--${k} must be in ${loOpen ? '(' : '['}${lo}, 1], got ${v}`);
    return v;
  };
  const score = f['mhim-score'] as string | undefined;
  if (score !== undefined && score !== 'attention' && score !== 'class-aware')
    throw new UsageError(`--mhim-score must be attention or class-aware, got ${score}`);
  const layers = f['student-init-layers'] as string | undefined;
  if (layers !== undefined && layers !== 'projection' && layers !== 'all')
    throw new UsageError(`--student-init-layers must be projection or all, got ${layers}`);
  if (layers !== undefined && f['student-init'] === undefined)
    throw new UsageError('--student-init-layers needs --student-init RUN_DIR');
  const positive = (k: string, integer = false) => {
    const v = num(k);
    if (v !== undefined && !(v > 0 && (!integer || Number.isInteger(v))))
      throw new UsageError(`--${k} must be a positive ${integer ? 'integer' : 'number'}, got ${v}`);
    return v;
  };
  const grnFlags = ['mhim-grn-queries', 'mhim-grn-keep', 'mhim-grn-momentum'].filter((k) => f[k] !== undefined);
  if (f['mhim-grn'] === false && grnFlags.length)
    throw new UsageError(`--${grnFlags[0]} needs the GRN (drop --no-mhim-grn)`);
  const grnOn = f['mhim-grn'] ?? version === 'v2';
  const grn = grnOn
    ? {
        numQueries: positive('mhim-grn-queries', true),
        keepFraction: ratio('mhim-grn-keep', 0, true),
        queryMomentum: ratio('mhim-grn-momentum', 0, false),
      }
    : null;
  const mhim: MhimOverrides = {
    version,
    score: score as MhimOverrides['score'],
    mask: {
      highRatio: ratio('mhim-mask-high', 0, false),
      highRandomRatio: ratio('mhim-mask-high-random', 0, true),
      lowRatio: ratio('mhim-mask-low', 0, false),
      randomRatio: ratio('mhim-mask-random', 0, false),
    },
    decayHighRatio: f['mhim-decay'] as boolean | undefined,
    consistencyWeight: num('mhim-alpha'),
    temperature: positive('mhim-tau'),
    teacherMomentum: ratio('mhim-momentum', 0, false),
    momentumSchedule: f['mhim-momentum-schedule'] as boolean | undefined,
    grn,
    seed: num('mhim-seed'),
  };
  const alpha = num('mhim-alpha');
  if (alpha !== undefined && !(alpha >= 0)) throw new UsageError(`--mhim-alpha must be ≥ 0, got ${alpha}`);
  const init: MhimInit = {
    teacher: f['teacher-init'] as string | undefined,
    student: f['student-init'] as string | undefined,
    studentLayers: layers as MhimInit['studentLayers'],
  };
  return { mhim: dropUndefined(mhim), ...(init.teacher || init.student ? { init: dropUndefined(init) } : {}) };
}

/** The object without its undefined entries (nested plain objects too), so presets fill them. */
function dropUndefined<T extends object>(o: T): T {
  return Object.fromEntries(
    Object.entries(o)
      .filter(([, v]) => v !== undefined)
      .map(([k, v]) => [k, v && typeof v === 'object' && !Array.isArray(v) ? dropUndefined(v) : v]),
  ) as T;
}
