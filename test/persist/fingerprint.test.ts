/**
 * Run fingerprints: the same parts give the same hash whatever the key order; different parts are
 * told apart and the differences are named field by field.
 */
import { strict as assert } from 'node:assert';
import { dataFingerprint, fingerprintDifferences, runFingerprint } from '../../src/persist';
import { canonicalJson } from '../../src/persist/fingerprint';

const parts = () => ({
  model: { name: 'abmil', config: { embedDim: 64, dropout: 0.25, seed: 7 } },
  training: { lr: 5e-3, epochs: 4, earlyStopping: undefined },
  seed: 7,
  split: { train: [0, 2, 3], val: [4], test: [1] },
});

describe('persist/fingerprint: what identifies a run, and what differs', () => {
  it('is stable: key order and undefined members do not matter; NaN is not null', () => {
    const a = runFingerprint(parts());
    const b = runFingerprint({
      split: { test: [1], val: [4], train: [0, 2, 3] },
      seed: 7,
      training: { epochs: 4, lr: 5e-3 },
      model: { config: { seed: 7, dropout: 0.25, embedDim: 64 }, name: 'abmil' },
    });
    assert.equal(a.hash, b.hash);
    assert.match(a.hash, /^sha256:[0-9a-f]{64}$/);
    assert.deepEqual(fingerprintDifferences(a, b), []);
    assert.notEqual(canonicalJson({ x: NaN }), canonicalJson({ x: null }));
    assert.equal(
      canonicalJson({ b: [1, Infinity], a: new Float32Array([0.5]) }),
      '{"a":[0.5],"b":[1,{"$number":"Infinity"}]}',
    );
  });

  it('names each differing field with the saved and the current value', () => {
    const saved = runFingerprint(parts());
    const p = parts();
    p.training.lr = 1e-3;
    p.model.config.embedDim = 128;
    p.split.train = [0, 2];
    (p as Record<string, unknown>).data = { bags: 24 };
    const diff = fingerprintDifferences(saved, runFingerprint(p));
    assert.deepEqual(diff, [
      'data: saved (absent), now {"bags":24}',
      'model.config.embedDim: saved 64, now 128',
      'split.train: saved 3 entries, now 2',
      'training.lr: saved 0.005, now 0.001',
    ]);
    const q = parts();
    q.split.test = [3];
    assert.deepEqual(fingerprintDifferences(saved, runFingerprint(q)), ['split.test[0]: saved 1, now 3']);
  });

  it('lists at most `limit` differences and shortens long values', () => {
    const many = (v: number) => runFingerprint(Object.fromEntries(Array.from({ length: 10 }, (_, i) => [`k${i}`, v])));
    const diff = fingerprintDifferences(many(1), many(2), 3);
    assert.deepEqual(diff, ['k0: saved 1, now 2', 'k1: saved 1, now 2', 'k2: saved 1, now 2', '…']);
    const long = fingerprintDifferences(runFingerprint({ s: 'a'.repeat(100) }), runFingerprint({ s: 'b' }));
    assert.ok(long[0].length < 100 && long[0].includes('…'), long[0]);
  });

  it('data: the bag table (ids, labels, patients, sizes) and the feature width, without reading features', () => {
    const bags = [
      { id: 'a', label: 0, patientId: 'p1', numInstances: 3 },
      { id: 'b', label: 1, patientId: 'p2', numInstances: 5 },
    ];
    const d = dataFingerprint(bags, 16);
    assert.equal(d.bags, 2);
    assert.equal(d.instances, 8);
    assert.equal(d.dim, 16);
    assert.deepEqual(
      dataFingerprint(
        bags.map((b) => ({ ...b })),
        16,
      ),
      d,
    );
    for (const changed of [
      dataFingerprint([bags[0], { ...bags[1], label: 0 }], 16),
      dataFingerprint([bags[0], { ...bags[1], patientId: 'p1' }], 16),
      dataFingerprint([bags[1], bags[0]], 16),
    ])
      assert.notEqual(changed.bagTable, d.bagTable);
    assert.notDeepEqual(dataFingerprint(bags, 32), d);
  });
});
