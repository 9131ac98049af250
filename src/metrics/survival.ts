/**
 * Survival analysis helpers (pure TypeScript): discrete-time bins, risk, Harrell's C-index.
 * Numerics follow MHIM-MIL / PORPOISE (see the project's MHIM reference notes, §5).
 */
import { checkPaired } from './util';

export interface SurvivalBinning {
  /** numBins + 1 increasing edges; bag with time t falls in bin b when edges[b] ≤ t < edges[b+1]. */
  edges: number[];
  /** The bin of every input time. */
  bins: number[];
}

/**
 * Bins follow-up times into `numBins` (default 4) intervals cut at the quantiles of the UNCENSORED
 * times (pandas `qcut`, linear quantiles); the outer edges are then widened to the minimum − 1e-6 and
 * maximum + 1e-6 of ALL times, and every time goes to `[edges[b], edges[b+1])` (pandas `cut(right=False)`).
 * Throws when no time is uncensored, or when the quantiles repeat (fewer distinct event times than bins).
 */
export function survivalBins(
  times: ArrayLike<number>,
  events: ArrayLike<number | boolean>,
  numBins = 4,
): SurvivalBinning {
  checkPaired('survivalBins', times, events, 'times', 'events');
  const observed = Array.from(times)
    .filter((_, i) => Number(events[i]) === 1)
    .sort((a, b) => a - b);
  if (observed.length === 0)
    throw new Error(
      'survivalBins: every time is censored; the bins are cut at ' +
        'quantiles of observed event times, so there are none to cut',
    );
  const q = (p: number) => {
    const pos = (observed.length - 1) * p;
    const lo = Math.floor(pos);
    return observed[lo] + (observed[Math.min(lo + 1, observed.length - 1)] - observed[lo]) * (pos - lo);
  };
  const edges = Array.from({ length: numBins + 1 }, (_, b) => q(b / numBins));
  for (let b = 1; b < edges.length; b++) {
    if (!(edges[b] > edges[b - 1]))
      throw new Error(
        `survivalBins: quantile edges repeat (${edges.join(', ')}): too few distinct event times for ${numBins} bins`,
      );
  }
  const all = Array.from(times);
  edges[0] = Math.min(...all) - 1e-6;
  edges[numBins] = Math.max(...all) + 1e-6;
  const bins = all.map((t) => {
    let b = 0;
    while (b < numBins - 1 && t >= edges[b + 1]) b++;
    return b;
  });
  return { edges, bins };
}

/** Risk score of discrete-time hazard logits: h = sigmoid(logit), S = cumprod(1 − h), risk = −ΣS. */
export function riskFromHazardLogits(logits: ArrayLike<number>): number {
  let s = 1;
  let sum = 0;
  for (let k = 0; k < logits.length; k++) {
    s *= 1 - 1 / (1 + Math.exp(-logits[k]));
    sum += s;
  }
  return -sum;
}

export interface ConcordanceResult {
  /** Harrell's C; NaN when there is no comparable pair (e.g. every time censored). */
  cIndex: number;
  concordant: number;
  discordant: number;
  /** Comparable pairs whose risks tie within `tiedTol` (each counts ½). */
  tiedRisk: number;
  /** Pairs of an event and a censoring at the same time (comparable; counted in the denominator). */
  tiedTime: number;
  comparable: number;
  reason?: string;
}

/**
 * Harrell's concordance index exactly as scikit-survival's `concordance_index_censored`: a pair
 * (i, j) is comparable when i has an event and t_i < t_j, or t_i = t_j and j is censored; it is
 * concordant when risk_i > risk_j, and a risk tie (|Δ| ≤ tiedTol) counts ½. Events at the same time
 * are not compared. `events[i]` is 1 (or true) for an observed event.
 */
export function concordanceIndex(
  times: ArrayLike<number>,
  events: ArrayLike<number | boolean>,
  risks: ArrayLike<number>,
  tiedTol = 1e-8,
): ConcordanceResult {
  checkPaired('concordanceIndex', times, risks, 'times', 'risks');
  checkPaired('concordanceIndex', times, events, 'times', 'events');
  const n = times.length;
  const ev = (i: number) => Number(events[i]) === 1;
  let concordant = 0,
    discordant = 0,
    tiedRisk = 0,
    tiedTime = 0,
    comparable = 0;
  for (let i = 0; i < n; i++) {
    if (!ev(i)) continue;
    for (let j = 0; j < n; j++) {
      if (j === i) continue;
      const later = times[j] > times[i];
      const censoredSameTime = times[j] === times[i] && !ev(j);
      if (!later && !censoredSameTime) continue;
      comparable++;
      if (censoredSameTime) tiedTime++;
      const d = risks[i] - risks[j];
      if (Math.abs(d) <= tiedTol) tiedRisk++;
      else if (d > 0) concordant++;
      else discordant++;
    }
  }
  if (comparable === 0) {
    const reason = Array.from({ length: n }, (_, i) => i).some(ev)
      ? 'no comparable pair (no event precedes another time)'
      : 'every time is censored: no comparable pair';
    return { cIndex: NaN, concordant, discordant, tiedRisk, tiedTime, comparable, reason };
  }
  return { cIndex: (concordant + 0.5 * tiedRisk) / comparable, concordant, discordant, tiedRisk, tiedTime, comparable };
}
