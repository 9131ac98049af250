/**
 * Summary statistics of a cohort's bag table (pure: works on `cohort.bags` in Node or a browser).
 * Used by `milkit inspect` and notebook displays.
 */
export interface CohortSummary {
  bags: number;
  patients: number;
  instances: number;
  instancesPerBag: { min: number; median: number; max: number; mean: number };
  /** Bags per class label, e.g. `{ "0": 45, "1": 47 }`; empty for survival-only cohorts. */
  labels: Record<string, number>;
  survival?: { events: number; censored: number; time: { min: number; median: number; max: number } };
  /** Free metadata keys (bag-table `meta_*` columns). */
  metaKeys: string[];
}

interface SummaryBag {
  label?: number;
  time?: number;
  event?: number;
  patientId: string;
  numInstances: number;
  meta?: Record<string, unknown>;
}

/** Median of a non-empty list (mean of the two middle values for even lengths). */
export function median(values: readonly number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

// Loops, not Math.min(...xs): spreading 100k+ bags overflows the call stack.
const minOf = (xs: readonly number[]) => xs.reduce((m, x) => (x < m ? x : m), Infinity);
const maxOf = (xs: readonly number[]) => xs.reduce((m, x) => (x > m ? x : m), -Infinity);

export function summarizeBags(bags: readonly SummaryBag[]): CohortSummary {
  const sizes = bags.map((b) => b.numInstances);
  const instances = sizes.reduce((a, b) => a + b, 0);
  const labels: Record<string, number> = {};
  for (const b of bags) if (b.label !== undefined) labels[b.label] = (labels[b.label] ?? 0) + 1;
  const timed = bags.filter((b) => b.time !== undefined);
  const summary: CohortSummary = {
    bags: bags.length,
    patients: new Set(bags.map((b) => b.patientId)).size,
    instances,
    instancesPerBag: bags.length
      ? { min: minOf(sizes), median: median(sizes), max: maxOf(sizes), mean: instances / bags.length }
      : { min: 0, median: 0, max: 0, mean: 0 },
    labels,
    metaKeys: [...new Set(bags.flatMap((b) => Object.keys(b.meta ?? {})))],
  };
  if (timed.length) {
    const times = timed.map((b) => b.time!);
    const events = timed.filter((b) => b.event === 1).length;
    summary.survival = {
      events,
      censored: timed.length - events,
      time: { min: minOf(times), median: median(times), max: maxOf(times) },
    };
  }
  return summary;
}
