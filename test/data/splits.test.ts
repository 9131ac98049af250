import { strict as assert } from 'node:assert';
import {
  MilkitDataError,
  carveValidation,
  checkSplit,
  parseSplitFile,
  repeatedKFold,
  splitFilePath,
  splitsFromFoldMasks,
  stratifiedKFold,
  toSplitFile,
  type Split,
  type SplitBag,
} from '../../src/core';

/** `labels[i]` for bag i; patient of bag i = `patients[i]` (default: its own). */
function cohort(labels: number[], patients?: string[]): SplitBag[] {
  return labels.map((label, i) => ({ id: `b${i}`, label, patientId: patients?.[i] ?? `p${i}` }));
}

function assertPartition(splits: Split[], n: number): void {
  const tested = splits.flatMap((s) => s.test).sort((a, b) => a - b);
  assert.deepEqual(
    tested,
    Array.from({ length: n }, (_, i) => i),
    'every bag is tested exactly once',
  );
  for (const s of splits) {
    assert.equal(s.train.length + s.test.length + (s.val?.length ?? 0), n);
  }
}

describe('data/splits: patient-level stratified splits', () => {
  it('hand-worked: 6 negatives + 4 positives, k = 2 → each test fold holds 3 negatives and 2 positives', () => {
    const bags = cohort([0, 0, 0, 0, 0, 0, 1, 1, 1, 1]);
    const splits = stratifiedKFold(bags, { k: 2, seed: 3 });
    assert.equal(splits.length, 2);
    assertPartition(splits, 10);
    for (const s of splits) {
      assert.equal(s.test.filter((i) => bags[i].label === 0).length, 3);
      assert.equal(s.test.filter((i) => bags[i].label === 1).length, 2);
      assert.deepEqual(
        [...s.train, ...s.test].sort((a, b) => a - b),
        Array.from({ length: 10 }, (_, i) => i),
      );
    }
  });

  it('hand-worked: a patient with 3 bags stays whole; the other folds balance around it', () => {
    // Patient A has bags 0,1,2 (all label 0); bags 3..8 are single-bag patients, label 0 (3,4,5) or 1 (6,7,8).
    const bags = cohort([0, 0, 0, 0, 0, 0, 1, 1, 1], ['A', 'A', 'A', 'p3', 'p4', 'p5', 'p6', 'p7', 'p8']);
    const splits = stratifiedKFold(bags, { k: 3, seed: 1 });
    assertPartition(splits, 9);
    const foldOfA = splits.findIndex((s) => s.test.includes(0));
    assert.deepEqual(
      splits[foldOfA].test.filter((i) => i <= 2),
      [0, 1, 2],
      'A is tested as a whole',
    );
    // Largest-first placement: A (3 negative bags) fills one fold's negatives; the 3 other negatives go to the other
    // two folds.
    assert.equal(splits[foldOfA].test.filter((i) => bags[i].label === 0).length, 3);
    for (const s of splits) {
      assert.equal(s.test.filter((i) => bags[i].label === 1).length, 1, 'one positive per fold');
      checkSplit(s, bags);
    }
  });

  it('never puts a patient on two sides, across many random cohorts, repeats and validation carving', () => {
    for (let seed = 0; seed < 20; seed++) {
      const n = 30 + seed;
      const bags = cohort(
        Array.from({ length: n }, (_, i) => ((i * 7 + seed) % 3 === 0 ? 1 : 0)),
        Array.from({ length: n }, (_, i) => `p${(i * 13 + seed) % 17}`),
      );
      const reps = repeatedKFold(bags, { k: 5, repeats: 2, seed, valFraction: 0.25 });
      assert.equal(reps.length, 2);
      for (const rep of reps) {
        assertPartition(rep, n);
        for (const s of rep) {
          assert.ok(s.val && s.val.length > 0, 'validation carved');
          checkSplit(s, bags);
          const side = (i: number) => (s.train.includes(i) ? 'train' : s.test.includes(i) ? 'test' : 'val');
          for (let i = 0; i < n; i++) {
            for (let j = 0; j < n; j++) if (bags[i].patientId === bags[j].patientId) assert.equal(side(i), side(j));
          }
        }
      }
    }
  });

  it('is reproducible with a seed and changes with another', () => {
    const bags = cohort(Array.from({ length: 40 }, (_, i) => i % 2));
    assert.deepEqual(stratifiedKFold(bags, { k: 4, seed: 7 }), stratifiedKFold(bags, { k: 4, seed: 7 }));
    assert.notDeepEqual(stratifiedKFold(bags, { k: 4, seed: 7 }), stratifiedKFold(bags, { k: 4, seed: 8 }));
    const reps = repeatedKFold(bags, { k: 4, repeats: 3, seed: 7 });
    assert.deepEqual(reps[0], stratifiedKFold(bags, { k: 4, seed: 7 }));
    assert.notDeepEqual(reps[1], reps[0]);
  });

  it('stratifies survival cohorts by event and balances fold sizes', () => {
    const bags = Array.from({ length: 23 }, (_, i) => ({
      id: `s${i}`,
      event: i % 4 === 0 ? 1 : 0,
      patientId: `s${i}`,
    }));
    const splits = stratifiedKFold(bags, { k: 5 });
    const sizes = splits.map((s) => s.test.length);
    assert.ok(Math.max(...sizes) - Math.min(...sizes) <= 1, `fold sizes ${sizes}`);
    const events = splits.map((s) => s.test.filter((i) => bags[i].event === 1).length);
    assert.ok(Math.max(...events) - Math.min(...events) <= 1, `events per fold ${events}`);
  });

  it('carves validation patients stratified by label from training only', () => {
    const bags = cohort(Array.from({ length: 20 }, (_, i) => (i < 10 ? 0 : 1)));
    const train = Array.from({ length: 16 }, (_, i) => i + 2);
    const { train: t, val } = carveValidation(bags, train, 0.25, 1);
    assert.equal(val.length, 4);
    assert.equal(val.filter((i) => bags[i].label === 1).length, 2);
    assert.deepEqual(
      [...t, ...val].sort((a, b) => a - b),
      train,
    );
  });

  it('rejects impossible settings', () => {
    assert.throws(() => stratifiedKFold(cohort([0, 1]), { k: 3 }), /3 folds need at least 3 patients/);
    assert.throws(() => stratifiedKFold(cohort([0, 1, 0]), { k: 1 }), /k ≥ 2/);
  });

  describe('split files', () => {
    const bags = cohort([0, 1, 0, 1], ['a', 'a', 'b', 'c']);

    it('reads MUSK-style training masks', () => {
      const splits = splitsFromFoldMasks(
        [
          [
            [1, 1, 0, 1],
            [0, 0, 1, 1],
          ],
        ],
        4,
      );
      assert.deepEqual(splits, [
        [
          { train: [0, 1, 3], test: [2] },
          { train: [2, 3], test: [0, 1] },
        ],
      ]);
      assert.deepEqual(
        parseSplitFile(
          {
            description: 'x',
            folds: [
              [
                [1, 1, 0, 1],
                [0, 0, 1, 1],
              ],
            ],
          },
          bags,
        ),
        splits,
      );
    });

    it('round-trips milkit split files by bag id', () => {
      const splits: Split[][] = [
        [
          { train: [0, 1], test: [3], val: [2] },
          { train: [2, 3], test: [0, 1] },
        ],
      ];
      const file = toSplitFile(
        splits,
        bags.map((b) => b.id!),
        'hand-made',
      );
      assert.deepEqual(file.splits[0][0], { train: ['b0', 'b1'], test: ['b3'], val: ['b2'] });
      assert.deepEqual(parseSplitFile(JSON.parse(JSON.stringify(file)), bags), splits);
      assert.equal(splitFilePath('/d/musk1.arrow'), '/d/musk1.splits.json');
      assert.equal(splitFilePath('/d/musk1.bags.arrow'), '/d/musk1.splits.json');
    });

    it('names the problem in a bad split file', () => {
      const err = (f: () => unknown, ...parts: string[]) => {
        assert.throws(
          f,
          (e: unknown) =>
            (e instanceof MilkitDataError && parts.every((p) => e.message.includes(p))) || assert.fail(String(e)),
        );
      };
      err(
        () =>
          parseSplitFile(
            {
              folds: [
                [
                  [1, 1, 0, 1],
                  [0, 1, 1, 1],
                ],
              ],
            },
            bags,
            'f.json',
          ),
        'f.json',
        'split [0][1]',
        'patient "a"',
        'patient leak',
      );
      err(
        () =>
          splitsFromFoldMasks(
            [
              [
                [1, 1, 0],
                [0, 0, 1],
              ],
            ],
            4,
            'f.json',
          ),
        'fold [0][0] has 3 entries',
        '4 bags',
      );
      err(
        () =>
          splitsFromFoldMasks(
            [
              [
                [1, 2, 0, 1],
                [0, 0, 1, 1],
              ],
            ],
            4,
          ),
        'expected 0 or 1, got 2',
      );
      err(
        () =>
          parseSplitFile(
            { format: 'milkit-splits', version: 1, splits: [[{ train: ['b0', 'zz'], test: ['b2'] }]] },
            bags,
            'g.json',
          ),
        'g.json',
        'bag "zz"',
        'not in the cohort',
      );
      err(
        () =>
          parseSplitFile({ format: 'milkit-splits', version: 1, splits: [[{ train: ['b2'], test: ['b2'] }]] }, bags),
        'bag "b2"',
        'both train and test',
      );
      err(() => parseSplitFile({ nope: 1 }, bags, 'h.json'), 'h.json', 'unknown split-file format');
    });
  });
});
