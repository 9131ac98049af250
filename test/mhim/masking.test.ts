import { strict as assert } from 'node:assert';
import { Rng } from '../../src/random';
import { cosineSchedule, selectMask, splitForRecycle, topK } from '../../src/mhim/masking';

const arr = (a: Int32Array) => Array.from(a);
/** Scores 0..n-1 shuffled by a fixed permutation, so rank ≠ index. */
function scoresOf(n: number): Float32Array {
  const s = new Float32Array(n);
  for (let i = 0; i < n; i++) s[i] = (i * 37) % n; // 37 coprime with the sizes used
  return s;
}

describe('mhim/masking', () => {
  it('topK: k largest / smallest in index order, ties by lower index', () => {
    const s = [0.1, 0.9, 0.5, 0.9, 0.3];
    assert.deepEqual(arr(topK(s, 2)), [1, 3]);
    assert.deepEqual(arr(topK(s, 3)), [1, 2, 3]);
    assert.deepEqual(arr(topK(s, 2, false)), [0, 4]);
    assert.deepEqual(arr(topK(s, 0)), []);
    assert.deepEqual(arr(topK(s, 9)), [0, 1, 2, 3, 4]);
    assert.deepEqual(arr(topK([2, 2, 2, 2], 2)), [0, 1]);
  });

  it('topK agrees with a full sort on random data', () => {
    const rng = new Rng(3);
    const s = Float32Array.from({ length: 1000 }, () => Math.round(rng.next() * 50)); // many ties
    const ref = Array.from(s.keys()).sort((a, b) => s[b] - s[a] || a - b);
    for (const k of [1, 7, 100, 999, 1000])
      assert.deepEqual(
        arr(topK(s, k)),
        ref.slice(0, k).sort((a, b) => a - b),
      );
  });

  it('HSM masks exactly the top ceil(N·βh) and keeps the rest in original order', () => {
    // scores: index 7 → 9, index 4 → 8, index 1 → 7 (for s[i] = 7i mod 10)
    const s = Float32Array.from({ length: 10 }, (_, i) => (7 * i) % 10);
    const m = selectMask(s, { highRatio: 0.25 }, new Rng(1)); // ceil(2.5) = 3
    assert.deepEqual(arr(m.maskedHigh), [1, 4, 7]);
    assert.deepEqual(arr(m.kept), [0, 2, 3, 5, 6, 8, 9]);
    assert.equal(m.maskedLow.length + m.maskedRandom.length, 0);
    assert.equal(m.total, 10);
  });

  it('counts use the code float arithmetic: ceil(100·0.07) = 8, ceil(100·0.03) = 3', () => {
    assert.equal(selectMask(scoresOf(100), { highRatio: 0.07 }, new Rng(1)).maskedHigh.length, 8);
    assert.equal(selectMask(scoresOf(100), { highRatio: 0.03 }, new Rng(1)).maskedHigh.length, 3);
  });

  it('RHSM: candidates = top ceil(N·βh/r), a random ceil(k·r) of them are masked', () => {
    const n = 1000;
    const s = scoresOf(n); // a permutation of 0..999
    const top = new Set(arr(topK(s, 100))); // βh/r = 0.05/0.5 → 100 candidates
    const seen = new Set<string>();
    for (const seed of [1, 2, 3]) {
      const m = selectMask(s, { highRatio: 0.05, highRandomRatio: 0.5 }, new Rng(seed));
      assert.equal(m.maskedHigh.length, 50); // ceil(100·0.5)
      for (const i of m.maskedHigh) assert.ok(top.has(i), `${i} is not a candidate`);
      assert.equal(m.kept.length, 950);
      seen.add(arr(m.maskedHigh).join());
      // same seed → same mask
      assert.deepEqual(
        arr(selectMask(s, { highRatio: 0.05, highRandomRatio: 0.5 }, new Rng(seed)).maskedHigh),
        arr(m.maskedHigh),
      );
    }
    assert.equal(seen.size, 3, 'different seeds give different masks');
  });

  it('RHSM with βh/r > 1 falls back to random masking of βh of the bag', () => {
    const s = scoresOf(100);
    const m = selectMask(s, { highRatio: 0.6, highRandomRatio: 0.5 }, new Rng(5));
    assert.equal(m.maskedHigh.length, 60);
    const top60 = new Set(arr(topK(s, 60)));
    assert.ok(
      arr(m.maskedHigh).some((i) => !top60.has(i)),
      'fallback picks outside the top scores',
    );
  });

  it('LSM masks the lowest scores; RSM masks a random fraction; combined as random → low → high', () => {
    const s = Float32Array.from({ length: 20 }, (_, i) => i); // score = index
    const low = selectMask(s, { highRatio: 0, lowRatio: 0.2 }, new Rng(1));
    assert.deepEqual(arr(low.maskedLow), [0, 1, 2, 3]);
    const rnd = selectMask(s, { highRatio: 0, randomRatio: 0.5 }, new Rng(1));
    assert.equal(rnd.maskedRandom.length, 10);
    assert.equal(rnd.kept.length, 10);

    const all = selectMask(s, { randomRatio: 0.5, lowRatio: 0.2, highRatio: 0.2 }, new Rng(9));
    const r = all.maskedRandom.length; // 10
    assert.equal(r, 10);
    // As in the authors' code, low/high count from the whole bag after the random stage:
    // ceil(20·0.2) = 4 candidates each, merged with the random ones (overlaps count once, as
    // torch.unique does), so each masks 4 minus the ones the random stage took already.
    const lowCand = [0, 1, 2, 3];
    const highCand = [19, 18, 17, 16];
    assert.deepEqual(
      arr(all.maskedLow),
      lowCand.filter((i) => !arr(all.maskedRandom).includes(i)).sort((a, b) => a - b),
    );
    assert.deepEqual(
      arr(all.maskedHigh),
      highCand.filter((i) => !arr(all.maskedRandom).includes(i)).sort((a, b) => a - b),
    );
    const union = new Set([...all.maskedRandom, ...all.maskedLow, ...all.maskedHigh, ...all.kept]);
    assert.equal(union.size, 20);
    assert.equal(all.kept.length, 20 - r - all.maskedLow.length - all.maskedHigh.length);
    assert.deepEqual(
      arr(all.kept),
      [...arr(all.kept)].sort((a, b) => a - b),
    );
  });

  it('never empties a bag: 1 instance untouched, 2 instances keep 1, 100% masking keeps 1', () => {
    for (const cfg of [
      { highRatio: 0.03 },
      { highRatio: 1 },
      { randomRatio: 1 },
      { highRatio: 0.5, highRandomRatio: 0.5 },
      { lowRatio: 1, highRatio: 1 },
    ]) {
      assert.deepEqual(arr(selectMask([0.4], cfg, new Rng(1)).kept), [0]);
      const two = selectMask([0.9, 0.1], cfg, new Rng(1));
      assert.ok(two.kept.length >= 1, JSON.stringify(cfg));
      assert.equal(selectMask(scoresOf(50), cfg, new Rng(2)).kept.length >= 1, true);
    }
    // HSM on 2 instances masks the higher-scored one
    assert.deepEqual(arr(selectMask([0.9, 0.1], { highRatio: 0.03 }, new Rng(1)).kept), [1]);
    assert.equal(selectMask([], { highRatio: 0.5 }, new Rng(1)).kept.length, 0);
  });

  it('rejects bad configs and NaN scores with a clear error', () => {
    assert.throws(() => selectMask([1, 2], { highRatio: 1.5 }, new Rng(1)), /highRatio/);
    assert.throws(() => selectMask([1, 2], { highRandomRatio: 0 }, new Rng(1)), /highRandomRatio/);
    assert.throws(() => selectMask([1, NaN], { highRatio: 0.5 }, new Rng(1)), /instance 1 is NaN/);
  });

  it('cosine decay of βh over global iterations (DINO cosine_scheduler)', () => {
    // β(t) = 0.5·βh·(1 + cos(π t / T)), βh = 0.04, T = 100
    assert.equal(cosineSchedule(0.04, 0, 0, 100), 0.04);
    assert.ok(Math.abs(cosineSchedule(0.04, 0, 50, 100) - 0.02) < 1e-15);
    assert.ok(Math.abs(cosineSchedule(0.04, 0, 25, 100) - 0.02 * (1 + Math.SQRT1_2)) < 1e-15);
    assert.ok(Math.abs(cosineSchedule(0.04, 0, 100, 100)) < 1e-15);
    assert.ok(Math.abs(cosineSchedule(0.04, 0, 500, 100)) < 1e-15, 'clamped past the end');
    // momentum schedule 0.9999 → 1
    assert.ok(Math.abs(cosineSchedule(0.9999, 1, 50, 100) - 0.99995) < 1e-12);
    assert.throws(() => cosineSchedule(1, 0, 0, 0), /total/);
  });

  it('GRN split: floor(L·f) student tokens, the rest recycled, never 0 student tokens', () => {
    const kept = Int32Array.from([2, 3, 5, 7, 11, 13, 17, 19, 23, 29]);
    const sp = splitForRecycle(kept, 0.8, new Rng(4));
    assert.equal(sp.student.length, 8);
    assert.equal(sp.recycled.length, 2);
    assert.deepEqual(
      [...sp.student, ...sp.recycled].sort((a, b) => a - b),
      arr(kept),
    );
    assert.deepEqual(
      arr(splitForRecycle(kept, 0.8, new Rng(4), true).student),
      [...arr(sp.student)].sort((a, b) => a - b),
    );
    const one = splitForRecycle(Int32Array.from([4]), 0.8, new Rng(1));
    assert.deepEqual([arr(one.student), arr(one.recycled)], [[4], []]);
    assert.throws(() => splitForRecycle(kept, 0, new Rng(1)), /keepFraction/);
  });
});
