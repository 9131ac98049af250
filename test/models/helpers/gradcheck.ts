/**
 * Central-difference gradient checks of float32 tfjs code (run on the cpu backend).
 *
 * tfjs computes in float32 only, so the numeric side is built to be trustworthy there:
 *  - the function must be deterministic (two evaluations at the same point agree bit for bit):
 *    dropout off or fixed random streams, else a difference measures the noise, not the slope;
 *  - an estimate is a pair of steps (h, h/2) whose central differences agree, at a step whose
 *    float32 rounding (16 ulps of f over 2h) stays under 2 % of the gradient's scale. It starts at
 *    `eps`; where that pair does not match, the step walks down to eps/64 (a ReLU or max switching
 *    within the step: a kink) and up to 32·eps (rounding), also with Richardson's extrapolation;
 *  - tolerance relative to the tensor's gradient: |analytic − numeric| ≤ rtol·|numeric| +
 *    atol·scale + the estimate's own uncertainty (its steps' disagreement and rounding), `scale`
 *    the largest |numeric| of the checked coordinates;
 *  - a coordinate whose usable estimates spread beyond the tolerance (a kink closer than any usable
 *    step) is not compared, and is printed with its analytic value; more than half of a
 *    variable's coordinates unresolved fails, and so does any resolved mismatch;
 *  - the gradient must stand well above float32 rounding noise, else the check proves nothing; a
 *    variable that gets no gradient by construction is checked with `expectZeroGrad`, which prints why.
 * Small tensors are checked at every coordinate. MILKIT_GRADCHECK_LOG=<file> appends one JSON line
 * per checked variable (its max relative error, scale, steps and unresolved coordinates) for reports. */
import * as fs from 'node:fs';
import * as tf from '@tensorflow/tfjs';
import { strict as assert } from 'node:assert';

/** Runs `fn` on the cpu backend and restores the previous backend afterwards. */
export async function onCpu<T>(fn: () => T | Promise<T>): Promise<T> {
  const previous = tf.getBackend();
  await tf.setBackend('cpu');
  try {
    return await fn();
  } finally {
    await tf.setBackend(previous);
  }
}

/** Tensors up to this size have every coordinate checked, whatever `coords` lists. */
const CHECK_ALL_UP_TO = 32;
/** Steps tried (× eps) when eps and eps/2 give no matching estimate: smaller (kinks), larger (rounding). */
const LADDER = [0.5, 0.25, 0.125, 0.0625, 0.03125, 2, 4, 8, 16, 32];

export interface GradComparison {
  /** Flat indices checked. */
  checked: number[];
  analytic: number[];
  numeric: number[];
  /** Disagreement of the two steps each numeric value comes from. */
  uncertainty: number[];
  /** The smaller of those two steps. */
  step: number[];
  /** Coordinates whose slope no step resolves in float32 (estimates spread beyond the tolerance). */
  unresolved: number[];
  /** Largest |numeric|. */
  scale: number;
  /** Float32 rounding noise of a central difference at the largest step tried. */
  noise: number;
  /** max |analytic − numeric| / scale over the resolved coordinates. */
  maxRelError: number;
}

/** Evaluates f with coordinate i of v moved by delta (v is restored by the caller). */
function evalAt(f: () => tf.Scalar, v: tf.Variable, base: Float32Array, i: number, delta: number): number {
  const p = base.slice();
  p[i] += delta;
  v.assign(tf.tensor(p, v.shape));
  const y = tf.tidy(f);
  const out = y.dataSync()[0];
  y.dispose();
  return out;
}

/** Analytic vs numeric gradient of f w.r.t. v at `coords` (file comment); asserts only determinism. */
export function compareGradient(
  f: () => tf.Scalar,
  v: tf.Variable,
  coords: number[],
  eps = 1e-2,
  rtol = 2e-2,
  atol = 2e-3,
): GradComparison {
  const { grads, value } = tf.variableGrads(f, [v]);
  const analyticAll = grads[v.name].dataSync().slice();
  const f0 = value.dataSync()[0];
  tf.dispose([value, ...Object.values(grads)]);
  const base = v.dataSync().slice() as Float32Array;
  const again = tf.tidy(f);
  const f1 = again.dataSync()[0];
  again.dispose();
  assert.ok(
    Object.is(f0, f1),
    `d/d${v.name}: f is not deterministic (${f0} then ${f1} at the same point): ` +
      'turn dropout off and fix the random streams',
  );
  const checked = v.size <= CHECK_ALL_UP_TO ? Array.from({ length: v.size }, (_, i) => i) : coords;
  const analytic = checked.map((i) => analyticAll[i]);
  const memo = checked.map(() => new Map<number, number>());
  const central = (k: number, h: number) => {
    if (!memo[k].has(h))
      memo[k].set(h, (evalAt(f, v, base, checked[k], h) - evalAt(f, v, base, checked[k], -h)) / (2 * h));
    return memo[k].get(h)!;
  };
  try {
    const scale = Math.max(...checked.map((_, k) => Math.abs(central(k, eps / 2))));
    // A step is usable while its rounding noise stays under 2 % of the gradient's scale.
    const usable = (h: number) => floatNoise(f0, h) <= scale / 50;
    const tolerance = (n: number, h: number) => rtol * Math.abs(n) + atol * scale + floatNoise(f0, h);
    const result = checked.map((_, k) => {
      // Steps (h, h/2) whose estimates agree: the slope is resolved there.
      const pair = (h: number) => {
        const [a, b] = [central(k, h), central(k, h / 2)];
        const d = Math.abs(a - b);
        return usable(h / 2) && d <= tolerance(b, h / 2) / 2 ? { value: b, d, step: h / 2 } : undefined;
      };
      const matches = (p?: { value: number; d: number; step: number }) =>
        p !== undefined && Math.abs(analytic[k] - p.value) <= tolerance(p.value, p.step) + p.d;
      const first = pair(eps);
      if (matches(first)) return { ...first!, unresolved: false };
      // Richardson's extrapolation of h, h/2 and h/4 cancels the h² error of large steps, which
      // small gradients of a loss that float32 rounds coarsely need.
      const richardson = (h: number) => {
        const [a, b, c] = [central(k, h), central(k, h / 2), central(k, h / 4)];
        const [r1, r2] = [b + (b - a) / 3, c + (c - b) / 3];
        const d = Math.abs(r1 - r2);
        return usable(h / 8) && d <= tolerance(r2, h / 8) / 2 ? { value: r2, d, step: h / 8 } : undefined;
      };
      const pairs = [
        ...LADDER.map((m) => pair(eps * m)),
        ...LADDER.filter((m) => m > 1).map((m) => richardson(eps * m)),
      ].filter((p) => p !== undefined);
      const hit = pairs.find(matches);
      if (hit) return { ...hit, unresolved: false };
      // No resolved estimate matches. Where the usable estimates themselves spread beyond the
      // tolerance, or too few steps are usable, the slope is not resolvable here in float32 (a ReLU
      // or max switching within the step): reported, not compared. Otherwise it is a mismatch.
      const estimates = [eps, eps / 2, ...LADDER.map((m) => eps * m)].filter(usable).map((h) => central(k, h));
      const pick = first ?? pairs[0] ?? { value: central(k, eps / 2), d: 0, step: eps / 2 };
      const spread = estimates.length >= 2 ? Math.max(...estimates) - Math.min(...estimates) : Infinity;
      return { ...pick, unresolved: pairs.length === 0 || spread > tolerance(pick.value, pick.step) };
    });
    const numeric = result.map((r) => r.value);
    return {
      checked,
      analytic,
      numeric,
      uncertainty: result.map((r) => r.d + floatNoise(f0, r.step)),
      step: result.map((r) => r.step),
      unresolved: checked.filter((_, k) => result[k].unresolved),
      scale,
      noise: floatNoise(f0, eps * Math.max(...LADDER)),
      maxRelError:
        Math.max(0, ...analytic.map((a, k) => (result[k].unresolved ? 0 : Math.abs(a - numeric[k])))) / scale,
    };
  } finally {
    v.assign(tf.tensor(base, v.shape));
  }
}

/**
 * Rounding noise of a float32 central difference at step h: f's own rounding over 2h. 16 ulps of
 * f: a loss sums many rounded terms (MIREL's Dirichlet KL differences lgamma values near 6.6, so
 * its losses are off by ~1e-6 at f ≈ 0.9, 17 ulps).
 */
function floatNoise(f0: number, h: number): number {
  return (16 * 2 ** -24 * Math.max(Math.abs(f0), 1)) / (2 * h);
}

function log(v: tf.Variable, c: GradComparison, label?: string): void {
  const file = process.env.MILKIT_GRADCHECK_LOG;
  if (!file) return;
  const steps = [...new Set(c.step)].sort((a, b) => a - b);
  fs.appendFileSync(
    file,
    `${JSON.stringify({
      variable: label ?? v.name,
      coords: c.checked.length,
      scale: c.scale,
      maxRelError: c.maxRelError,
      steps,
      unresolved: c.unresolved,
    })}\n`,
  );
}

/**
 * Asserts that tfjs's gradient of f with respect to v (with milkit's registered gradients) matches
 * central differences at `coords` (every coordinate of a small tensor); see the file comment.
 * `eps` is the first step tried; `label` names the variable in messages.
 */
export function expectGradMatches(
  f: () => tf.Scalar,
  v: tf.Variable,
  coords: number[],
  eps = 1e-2,
  rtol = 2e-2,
  atol = 2e-3,
  label = v.name,
): GradComparison {
  const c = compareGradient(f, v, coords, eps, rtol, atol);
  log(v, c, label);
  assert.ok(
    c.scale >= 50 * c.noise,
    `d/d${label}: the numeric gradient (max ${c.scale.toExponential(2)} over ${c.checked.length} coordinates) ` +
      `is not well above float32 rounding noise (${c.noise.toExponential(2)}): the check would prove nothing ` +
      '(a gradient that is zero by construction: expectZeroGrad)',
  );
  if (c.unresolved.length) {
    const spread = c.unresolved.map((i) => `[${i}] analytic ${c.analytic[c.checked.indexOf(i)].toExponential(3)}`);
    console.log(
      `      d/d${label}: not checked at ${spread.join(', ')}: central differences from ` +
        `${(eps / 64).toExponential(1)} to ${(eps * 32).toExponential(1)} disagree beyond the tolerance ` +
        '(a ReLU or max switching within the step)',
    );
  }
  assert.ok(
    c.unresolved.length <= c.checked.length / 2,
    `d/d${label}: ${c.unresolved.length} of ${c.checked.length} coordinates unresolved: ` +
      'the check would prove little here',
  );
  c.checked.forEach((i, k) => {
    if (c.unresolved.includes(i)) return;
    const tol = rtol * Math.abs(c.numeric[k]) + atol * c.scale;
    assert.ok(
      Math.abs(c.analytic[k] - c.numeric[k]) <= tol + c.uncertainty[k],
      `d/d${label}[${i}]: analytic ${c.analytic[k]} vs numeric ${c.numeric[k]} ` +
        `(step ${c.step[k].toExponential(1)}, gradient scale ${c.scale.toExponential(2)})`,
    );
  });
  return c;
}

/**
 * For a variable whose gradient is zero by construction: prints the reason and asserts that both
 * the analytic gradient and central differences are zero at every checked coordinate (relative to
 * `reference`, the size of the model's other gradients).
 */
export function expectZeroGrad(
  f: () => tf.Scalar,
  v: tf.Variable,
  coords: number[],
  reason: string,
  reference: number,
  label = v.name,
): void {
  const c = compareGradient(f, v, coords);
  console.log(`      ${label}: zero gradient by construction (${reason})`);
  const largest = Math.max(...c.analytic.map(Math.abs), c.scale);
  assert.ok(
    largest <= 1e-4 * reference + 10 * c.noise,
    `d/d${label}: expected a zero gradient (${reason}), ` +
      `got ${largest.toExponential(2)} against ${reference.toExponential(2)} elsewhere`,
  );
}

/** Why the bias of an attention scorer's last layer gets no gradient. */
export const SHIFT_INVARIANT =
  'the bias of the last attention layer adds one constant to every score, and a softmax over the instances ignores it';

/** A few spread-out flat indices of a tensor of `size` elements. */
export function someCoords(size: number, count = 6): number[] {
  return Array.from(
    { length: Math.min(count, size) },
    (_, i) => Math.floor((i * size) / Math.min(count, size) + (size > count ? 1 : 0)) % size,
  );
}

export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  assert.equal(a.length, b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}
