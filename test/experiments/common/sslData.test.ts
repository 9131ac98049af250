import { strict as assert } from 'node:assert';
import { loadMnist } from 'milkit';
import { mnistExperimentData } from '../../../experiments/common/sslData';

describe('experiments/common/sslData: MNIST-bags with few witnesses as one digit pool + bag plans', () => {
  const opts = { poolSize: 3000, bags: 12, maxWitnesses: 3, seed: 4 };
  const data = mnistExperimentData(opts);

  it('pools seeded MNIST training digits as grey RGB patches with their nine/non-nine labels', () => {
    assert.deepEqual([data.pool.n, data.pool.size, data.channels], [3000, 28, 1]);
    assert.equal(data.pool.pixels.length, 3000 * 28 * 28 * 3);
    const p = data.pool.pixels;
    for (let i = 0; i < 28 * 28 * 3; i += 3) assert.ok(p[i] === p[i + 1] && p[i] === p[i + 2], 'grey: R = G = B');
    // About one digit in ten is a nine; the same seed gives the same pool.
    const nines = data.instanceLabels.reduce((s, v) => s + v, 0);
    assert.ok(nines > 200 && nines < 400, `${nines} nines in 3000 digits`);
    assert.deepEqual(mnistExperimentData(opts).pool.pixels.subarray(0, 5000), p.subarray(0, 5000));
    // The pool's first digit is a real MNIST training image.
    const mnist = loadMnist('train');
    const first = Array.from({ length: 784 }, (_, j) => p[3 * j]);
    let found = false;
    for (let d = 0; d < mnist.count && !found; d++) found = first.every((v, j) => mnist.pixels[d * 784 + j] === v);
    assert.ok(found);
  });

  it(
    'bags of exactly K digits: positives hold 1..3 nines, ' + 'negatives none, same labels and nine counts at every K',
    () => {
      const count = (plan: { members: number[] }) => plan.members.filter((m) => data.instanceLabels[m] === 1).length;
      const small = data.bags(16);
      const large = data.bags(256);
      assert.equal(small.length, 12);
      for (const [b, plan] of small.entries()) {
        assert.equal(plan.members.length, 16);
        assert.equal(large[b].members.length, 256);
        assert.ok(plan.members.every((m) => Number.isInteger(m) && m >= 0 && m < data.pool.n));
        assert.equal(plan.label, b % 2);
        assert.equal(large[b].label, plan.label);
        assert.equal(count(large[b]), count(plan));
        if (plan.label === 1) assert.ok(count(plan) >= 1 && count(plan) <= 3, `bag ${b}: ${count(plan)} nines`);
        else assert.equal(count(plan), 0);
      }
      // Deterministic, and the nines are shuffled in (not always first).
      assert.deepEqual(data.bags(16), small);
      assert.ok(small.some((p) => p.label === 1 && data.instanceLabels[p.members[0]] === 0));
    },
  );
});
