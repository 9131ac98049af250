import { strict as assert } from 'node:assert';
import { median, summarizeBags } from '../../src/core';

describe('data/summary: cohort summaries', () => {
  it('hand-worked: sizes, labels, patients, metadata keys', () => {
    const s = summarizeBags([
      { label: 1, patientId: 'a', numInstances: 4, meta: { site: 'x' } },
      { label: 0, patientId: 'a', numInstances: 10 },
      { label: 1, patientId: 'b', numInstances: 1, meta: { split: 'train' } },
    ]);
    assert.deepEqual(s, {
      bags: 3,
      patients: 2,
      instances: 15,
      instancesPerBag: { min: 1, median: 4, max: 10, mean: 5 },
      labels: { 0: 1, 1: 2 },
      metaKeys: ['site', 'split'],
    });
  });

  it('summarises survival: events, censored, time range and median', () => {
    const s = summarizeBags([
      { time: 5, event: 1, patientId: 'a', numInstances: 2 },
      { time: 1, event: 0, patientId: 'b', numInstances: 2 },
      { time: 9, event: 1, patientId: 'c', numInstances: 2 },
      { time: 3, event: 0, patientId: 'd', numInstances: 2 },
    ]);
    assert.deepEqual(s.survival, { events: 2, censored: 2, time: { min: 1, median: 4, max: 9 } });
    assert.deepEqual(s.labels, {});
    assert.equal(median([3, 1, 2]), 2);
    assert.equal(summarizeBags([]).instancesPerBag.max, 0);
  });
});
