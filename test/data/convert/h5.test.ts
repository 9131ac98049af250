import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Cohort, MilkitDataError } from '../../../src/data';
import { convertH5, loadH5wasm } from '../../../src/data/convert';
import { randomFloats, tempDir } from '../../helpers/tmp';

async function rejects(p: Promise<unknown>, ...parts: string[]): Promise<void> {
  await assert.rejects(p, (e: unknown) => {
    assert.ok(e instanceof MilkitDataError, `expected MilkitDataError, got ${e}`);
    for (const part of parts) assert.ok(e.message.includes(part), `"${e.message}" lacks "${part}"`);
    return true;
  });
}

/** Writes a real CLAM/TRIDENT-style slide file with h5wasm itself. */
async function writeSlide(
  file: string,
  n: number,
  dim: number,
  seed: number,
  opts: { batchDim?: boolean; coords?: boolean; float64?: boolean } = {},
) {
  const h5 = await loadH5wasm();
  const f = new h5.File(file, 'w');
  const feats = randomFloats(n * dim, seed);
  f.create_dataset({
    name: 'features',
    data: opts.float64 ? Float64Array.from(feats) : feats,
    shape: opts.batchDim ? [1, n, dim] : [n, dim],
  });
  if (opts.coords !== false) {
    f.create_dataset({
      name: 'coords',
      data: BigInt64Array.from({ length: 2 * n }, (_, i) => BigInt(i * 256 + seed)),
      shape: [n, 2],
    });
  }
  f.close();
  return feats;
}

describe('data/convert/h5: CLAM/TRIDENT slide files → cohort', () => {
  const dir = tempDir();
  const slides = path.join(dir, 'slides');
  fs.mkdirSync(slides);
  const labels = (name: string, text: string) => {
    const file = path.join(dir, name);
    fs.writeFileSync(file, text);
    return file;
  };

  it('converts features, int64 coords, [1,N,D] features, labels and patients', async () => {
    const a = await writeSlide(path.join(slides, 'slideA.h5'), 5, 8, 1);
    const b = await writeSlide(path.join(slides, 'slideB.h5'), 3, 8, 2, { batchDim: true, float64: true });
    await writeSlide(path.join(slides, 'unlabelled.h5'), 2, 8, 3);
    const file = labels('labels.csv', 'slide_id,label,patient_id\nslideB,tumor,P1\nslideA,normal,P1\n');
    const summary = await convertH5(slides, path.join(dir, 'slides.arrow'), { labels: file });
    assert.deepEqual([summary.bags, summary.instances, summary.dim], [2, 8, 8]);
    assert.deepEqual(summary.classes, ['normal', 'tumor']);
    const c = await Cohort.open(path.join(dir, 'slides.arrow'));
    try {
      assert.deepEqual(
        c.bags.map((x) => [x.id, x.label, x.patientId]),
        [
          ['slideB', 1, 'P1'],
          ['slideA', 0, 'P1'],
        ],
      );
      assert.equal(c.metadata.get('milkit.classes'), '["normal","tumor"]');
      const bagA = await c.bag('slideA');
      assert.deepEqual(Array.from(bagA.features), Array.from(a));
      assert.deepEqual(Array.from(bagA.coords!.slice(0, 4)), [1, 257, 513, 769]);
      assert.deepEqual(Array.from((await c.bag('slideB')).features), Array.from(b));
    } finally {
      await c.close();
    }
  });

  it('keeps integer labels and reads survival columns; coords are optional', async () => {
    const d = path.join(dir, 'surv');
    fs.mkdirSync(d);
    await writeSlide(path.join(d, 's1.h5'), 2, 4, 5, { coords: false });
    await writeSlide(path.join(d, 's2.h5'), 3, 4, 6, { coords: false });
    const file = labels('surv.csv', 'slide_id,label,time,event\ns1,2,10.5,1\ns2,0,3,0\n');
    // Label 2 without a 1 is a gap: it needs the class names (or it would be refused).
    await convertH5(d, path.join(dir, 'surv.arrow'), { labels: file, classes: ['a', 'b', 'c'] });
    const c = await Cohort.open(path.join(dir, 'surv.arrow'));
    assert.deepEqual(
      c.bags.map((x) => [x.label, x.time, x.event, x.patientId]),
      [
        [2, 10.5, 1, 's1'],
        [0, 3, 0, 's2'],
      ],
    );
    assert.equal(c.hasCoords, false);
    await c.close();
  });

  describe('bad input names the file, slide and field', () => {
    const bad = path.join(dir, 'bad');
    const out = path.join(dir, 'bad.arrow');
    before(async () => {
      fs.mkdirSync(bad);
      await writeSlide(path.join(bad, 'good.h5'), 4, 6, 1);
      await writeSlide(path.join(bad, 'wide.h5'), 4, 7, 2);
      await writeSlide(path.join(bad, 'nocoords.h5'), 4, 6, 3, { coords: false });
      const h5 = await loadH5wasm();
      const f = new h5.File(path.join(bad, 'nofeat.h5'), 'w');
      f.create_dataset({ name: 'feats', data: new Float32Array(4), shape: [2, 2] });
      f.close();
      const g = new h5.File(path.join(bad, 'badcoords.h5'), 'w');
      g.create_dataset({ name: 'features', data: new Float32Array(12), shape: [2, 6] });
      g.create_dataset({ name: 'coords', data: new Int32Array(6), shape: [3, 2] });
      g.close();
      const n = new h5.File(path.join(bad, 'nan.h5'), 'w');
      n.create_dataset({ name: 'features', data: new Float32Array([1, 2, 3, 4, 5, NaN]), shape: [1, 6] });
      n.close();
      fs.writeFileSync(path.join(bad, 'junk.h5'), 'not hdf5 at all');
    });
    const run = (csv: string) => convertH5(bad, out, { labels: labels('bad.csv', csv) });
    it('a slide without a feature file', () =>
      rejects(
        run('slide_id,label\ngood,1\nghost,0\n'),
        'bad.csv',
        'bag "ghost"',
        'line 3',
        'no feature file',
        '--skip-missing',
      ));
    it('a file without "features"', () =>
      rejects(run('slide_id,label\nnofeat,1\n'), 'nofeat.h5', 'field "features"', 'found: feats'));
    it('a feature width that differs', () =>
      rejects(
        run('slide_id,label\ngood,1\nwide,0\n'),
        'wide.h5',
        'bag "wide"',
        'field "features"',
        'width 7 differs from 6',
      ));
    it('coords that do not match the features', () =>
      rejects(run('slide_id,label\nbadcoords,1\n'), 'badcoords.h5', 'field "coords"', 'must be [2, 2]'));
    it('coords in some files only', () =>
      rejects(run('slide_id,label\ngood,1\nnocoords,0\n'), 'nocoords.h5', 'bag "nocoords"', 'field "coords"'));
    it('NaN features', () => rejects(run('slide_id,label\nnan,1\n'), 'bag "nan"', 'NaN', 'field "features"'));
    it('a file that is not HDF5', () => rejects(run('slide_id,label\njunk,1\n'), 'junk.h5', 'not an HDF5 file'));
    it('a missing label', () =>
      rejects(run('slide_id,label\ngood,\n'), 'bad.csv', 'bag "good"', 'field "label"', 'line 2', 'missing label'));
    it('a labels CSV without slide_id or label', async () => {
      await rejects(run('slide,label\ngood,1\n'), 'bad.csv', 'field "slide_id"');
      await rejects(run('slide_id,class\ngood,1\n'), 'bad.csv', 'field "label"');
    });
    it('a ragged labels row', () =>
      rejects(run('slide_id,label\ngood,1,extra\n'), 'bad.csv', 'line 2', '3 cells, the header has 2'));
    it('a folder that does not exist', () =>
      rejects(
        convertH5(path.join(dir, 'nowhere'), out, { labels: labels('x.csv', 'slide_id,label\na,1\n') }),
        'nowhere',
        'not a folder',
      ));
  });
});
