import { strict as assert } from 'node:assert';
import {
  binaryAuc,
  bootstrap,
  bootstrapRecord,
  concordanceIndex,
  meanSd,
  quantile,
  riskFromHazardLogits,
  survivalBins,
} from '../../src/core';
import { Rng } from '../../src/random';

const close = (a: number, b: number, tol = 1e-9) => assert.ok(Math.abs(a - b) <= tol, `${a} ≠ ${b}`);

describe('metrics: bootstrap', () => {
  const values = Array.from({ length: 50 }, (_, i) => (i * 7) % 13);
  const meanOf = (ix: number[]) => ix.reduce((s, i) => s + values[i], 0) / ix.length;

  it('equals a plain re-implementation: same seeded resamples, percentile interval, mean ± sample sd', () => {
    const got = bootstrap(values.length, meanOf, { resamples: 200, seed: 11 });
    const rng = new Rng(11);
    const stats: number[] = [];
    for (let r = 0; r < 200; r++) stats.push(meanOf(Array.from({ length: 50 }, () => rng.int(50))));
    stats.sort((a, b) => a - b);
    const m = stats.reduce((s, x) => s + x, 0) / 200;
    const sd = Math.sqrt(stats.reduce((s, x) => s + (x - m) ** 2, 0) / 199);
    close(got.mean, m);
    close(got.sd, sd);
    // numpy 'linear' percentile: position (n−1)q = 199 × 0.025 = 4.975
    close(got.lower, stats[4] + 0.975 * (stats[5] - stats[4]));
    close(got.upper, stats[194] + 0.025 * (stats[195] - stats[194]));
  });
  it('is reproducible with a seed and changes with another seed', () => {
    assert.deepEqual(bootstrap(50, meanOf, { seed: 1 }), bootstrap(50, meanOf, { seed: 1 }));
    assert.notDeepEqual(bootstrap(50, meanOf, { seed: 1 }), bootstrap(50, meanOf, { seed: 2 }));
  });
  it('the sd of the mean is close to σ/√n and the 95% interval contains the sample mean', () => {
    const r = bootstrap(values.length, meanOf, { resamples: 2000, seed: 5 });
    const { mean, sd } = meanSd(values);
    const se = (sd * Math.sqrt(49 / 50)) / Math.sqrt(50);
    assert.ok(Math.abs(r.sd - se) / se < 0.1, `bootstrap sd ${r.sd} vs ${se}`);
    assert.ok(r.lower < mean && mean < r.upper);
  });
  it('leaves out and counts resamples where the metric is undefined; several metrics share resamples', () => {
    const labels = [0, 1, 1, 1, 1, 1];
    const scores = [0.1, 0.9, 0.8, 0.7, 0.6, 0.5];
    const r = bootstrapRecord(
      6,
      (ix) => ({
        auc: binaryAuc(
          ix.map((i) => labels[i]),
          ix.map((i) => scores[i]),
        ),
        n: ix.length,
      }),
      { resamples: 300, seed: 4 },
    );
    assert.ok(r.auc.undefinedResamples > 0, 'some resamples miss the single negative');
    assert.equal(r.auc.mean, 1);
    assert.equal(r.n.mean, 6);
    assert.equal(r.n.undefinedResamples, 0);
    assert.throws(() => bootstrap(0, meanOf), /empty input/);
  });
  it('meanSd uses n − 1 and skips NaN; quantile interpolates linearly', () => {
    const s = meanSd([1, 2, 3, NaN]);
    close(s.mean, 2);
    close(s.sd, 1);
    assert.equal(s.n, 3);
    close(quantile([1, 2, 4, 10], 0.75), 5.5);
  });
});

describe('metrics: survival bins (quartiles of uncensored times)', () => {
  it('cuts at the event-time quartiles, widens the outer edges to all times, bins left-closed', () => {
    const times = [1, 2, 4, 6, 8, 10, 12];
    const events = [0, 1, 1, 1, 1, 1, 0]; // uncensored 2 4 6 8 10 → quartiles 2 4 6 8 10
    const { edges, bins } = survivalBins(times, events);
    close(edges[0], 1 - 1e-6);
    assert.deepEqual(edges.slice(1, 4), [4, 6, 8]);
    close(edges[4], 12 + 1e-6);
    assert.deepEqual(bins, [0, 0, 1, 2, 3, 3, 3]); // 4 ∈ [4, 6), 8 ∈ [8, 12]
  });
  it('interpolates quantiles linearly (pandas qcut)', () => {
    const { edges } = survivalBins([1, 2, 4, 10], [1, 1, 1, 1]); // positions 0.75, 1.5, 2.25
    assert.deepEqual(edges.slice(1, 4), [1.75, 3, 5.5]);
  });
  it('all censored, repeated quantiles and empty input are clear errors', () => {
    assert.throws(() => survivalBins([1, 2, 3], [0, 0, 0]), /every time is censored/);
    assert.throws(() => survivalBins([1, 1, 1, 1, 2], [1, 1, 1, 1, 1]), /quantile edges repeat/);
    assert.throws(() => survivalBins([], []), /empty input/);
  });
  it('risk = −Σ cumprod(1 − sigmoid(logit))', () => {
    close(riskFromHazardLogits([0, 0]), -(0.5 + 0.25));
    close(riskFromHazardLogits([Math.log(3), 0]), -(0.25 + 0.125)); // sigmoid(ln 3) = 0.75
  });
});

describe('metrics: Harrell C-index (scikit-survival conventions)', () => {
  it('is 1 for a perfect ordering, counting only pairs whose earlier time is an event', () => {
    // events at t=1,2,4; censored at t=3. Comparable: (1,2) (1,3) (1,4) (2,3) (2,4) = 5
    const r = concordanceIndex([1, 2, 3, 4], [1, 1, 0, 1], [4, 3, 2, 1]);
    assert.equal(r.comparable, 5);
    assert.equal(r.cIndex, 1);
    assert.equal(concordanceIndex([1, 2, 3, 4], [1, 1, 0, 1], [1, 2, 3, 4]).cIndex, 0);
  });
  it('handles tied times and tied risks (worked example: 0.625)', () => {
    // i=0 (event, t=1): vs censored j=1 at the same time (comparable, risk tie → ½),
    // vs j=2 (0.5 < 0.7, discordant), vs j=3 (0.5 > 0.1, concordant); i=2 (t=2): vs j=3 concordant.
    const r = concordanceIndex([1, 1, 2, 3], [1, 0, 1, 0], [0.5, 0.5 + 1e-9, 0.7, 0.1]);
    assert.deepEqual(
      { c: r.concordant, d: r.discordant, tr: r.tiedRisk, tt: r.tiedTime, n: r.comparable },
      { c: 2, d: 1, tr: 1, tt: 1, n: 4 },
    );
    close(r.cIndex, 2.5 / 4);
    // a risk difference above tied_tol is not a tie
    assert.equal(concordanceIndex([1, 2], [1, 0], [0.5, 0.5 + 1e-7]).cIndex, 0);
  });
  it('two events at the same time are not compared; no comparable pair or all censored → NaN with a reason', () => {
    const same = concordanceIndex([1, 1], [1, 1], [0.2, 0.9]);
    assert.ok(Number.isNaN(same.cIndex));
    assert.match(same.reason!, /no comparable pair/);
    const censored = concordanceIndex([1, 2, 3], [0, 0, 0], [1, 2, 3]);
    assert.ok(Number.isNaN(censored.cIndex));
    assert.match(censored.reason!, /every time is censored/);
    assert.throws(() => concordanceIndex([], [], []), /empty input/);
  });
});
