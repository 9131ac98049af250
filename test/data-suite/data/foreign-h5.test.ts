/**
 * Every feature-file layout in ../shared/data/foreign/h5 (h5py, CLAM, TRIDENT) converts with exactly
 * the values in the files. The reference is an independent HDF5 reader: jsfive (pure JavaScript,
 * no libhdf5), with the LZF decoder written below from the LZF format (liblzf) rather than the
 * plugin milkit uses. Labels, patients and the notices are checked against the CSVs.
 */
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Cohort, MilkitDataError } from '../../../src/data';
import { stratifiedKFold } from '../../../src/data/splits';
import { convertH5 } from '../../../src/data/convert';
import { tempDir } from '../../helpers/tmp';
import { sharedData } from '../shared-data';

interface Jsfive {
  File: new (buffer: ArrayBuffer, name: string) => { get(name: string): { value: number[]; shape: number[] } };
  Filters: Map<number, (buf: ArrayBuffer, itemsize: number, clientData: number[]) => ArrayBuffer>;
}
// eslint-disable-next-line @typescript-eslint/no-require-imports -- jsfive ships no type declarations
const jsfive = require('jsfive') as Jsfive;

/** LZF (liblzf) decompression: literal runs (ctrl < 32) and back references (length, offset). */
function lzfDecompress(input: Uint8Array, outLength: number): Uint8Array {
  const out = new Uint8Array(outLength);
  let ip = 0;
  let op = 0;
  while (ip < input.length) {
    const ctrl = input[ip++];
    if (ctrl < 32) {
      for (let k = 0; k <= ctrl; k++) out[op++] = input[ip++];
    } else {
      let len = ctrl >> 5;
      if (len === 7) len += input[ip++];
      let ref = op - ((ctrl & 0x1f) << 8) - input[ip++] - 1;
      for (let k = 0; k < len + 2; k++) out[op++] = out[ref++];
    }
  }
  assert.equal(op, outLength, 'LZF chunk decodes to its declared size');
  return out;
}
// h5py's LZF filter (id 32000) stores the uncompressed chunk size as its third client value.
jsfive.Filters.set(
  32000,
  (buf, _itemsize, clientData) => lzfDecompress(new Uint8Array(buf), clientData[2]).buffer as ArrayBuffer,
);

function jsfiveRead(file: string): { features: number[]; coords?: number[]; shape: number[] } {
  const bytes = fs.readFileSync(file);
  const f = new jsfive.File(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.length) as ArrayBuffer, file);
  const feats = f.get('features');
  let coords: number[] | undefined;
  try {
    coords = Array.from(f.get('coords').value, Number);
  } catch {
    coords = undefined;
  }
  return { features: Array.from(feats.value, (v) => Math.fround(v)), coords, shape: feats.shape };
}

/** Converts and compares every bag of the cohort with jsfive's read of its .h5 file. */
async function assertMatchesFiles(out: string, fileOf: (id: string) => string): Promise<Cohort> {
  const c = await Cohort.open(out);
  for (const info of c.bags) {
    const bag = await c.bag(info.id);
    const ref = jsfiveRead(fileOf(info.id));
    assert.equal(bag.features.length, ref.features.length, `${info.id}: values`);
    for (let k = 0; k < ref.features.length; k++)
      if (bag.features[k] !== ref.features[k])
        assert.fail(`${info.id}: feature value ${k} is ${bag.features[k]}, the file holds ${ref.features[k]}`);
    assert.deepEqual(Array.from(bag.coords ?? []), ref.coords ?? [], `${info.id}: coords`);
  }
  return c;
}

describe('data-suite: foreign .h5 feature files (h5py, CLAM, TRIDENT)', function () {
  this.timeout(120_000);
  const root = sharedData('foreign/h5');
  const dir = tempDir();
  const quiet = { onNotice: () => undefined };

  for (const name of ['lzf', 'uncompressed_contiguous', 'float16']) {
    it(`${name}: every value equals an independent read (jsfive)`, async () => {
      const notices: string[] = [];
      const out = path.join(dir, `${name}.arrow`);
      const s = await convertH5(path.join(root, name, 'feats'), out, {
        labels: path.join(root, name, 'labels.csv'),
        onNotice: (n) => notices.push(n),
      });
      assert.deepEqual([s.bags, s.instances, s.dim], [6, 180, 256]);
      const c = await assertMatchesFiles(out, (id) => path.join(root, name, 'feats', `${id}.h5`));
      assert.deepEqual(
        c.bags.map((b) => b.label),
        [0, 1, 0, 1, 0, 1],
      );
      await c.close();
      if (name === 'float16') assert.deepEqual(notices, ['features stored as float16 were widened to float32 (exact)']);
      else assert.deepEqual(notices, []);
    });
  }

  it('lzf: the coordinates are the real positions (the chunks are LZF-compressed, not stored raw)', async () => {
    const c = await Cohort.open(path.join(dir, 'lzf.arrow'));
    const bag = await c.bag(0);
    assert.deepEqual(Array.from(bag.coords!.slice(0, 6)), [1024, 1024, 1536, 1024, 2048, 1024]);
    await c.close();
  });

  it(
    'clam: h5_files/ found, [1,N,D] features, class ' + 'names, case_id as the patient (no case on two sides)',
    async () => {
      const notices: string[] = [];
      const out = path.join(dir, 'clam.arrow');
      const labels = path.join(root, 'clam', 'tumor_vs_normal_dummy_clean.csv');
      await convertH5(path.join(root, 'clam'), out, { labels, onNotice: (n) => notices.push(n) });
      assert.equal(notices.length, 2);
      assert.match(notices[0], /reading the \.h5 files in .*clam\/h5_files/);
      assert.match(notices[1], /patients from column "case_id"/);
      const c = await assertMatchesFiles(out, (id) => path.join(root, 'clam', 'h5_files', `${id}.h5`));
      assert.deepEqual(c.classes, ['normal_tissue', 'tumor_tissue']);
      const rows = fs
        .readFileSync(labels, 'utf8')
        .trim()
        .split(/\r?\n/)
        .slice(1)
        .map((l) => l.split(','));
      assert.deepEqual(
        c.bags.map((b) => [b.patientId, b.id, c.classes![b.label!]]),
        rows,
      );
      assert.equal(new Set(c.bags.map((b) => b.patientId)).size, 15);
      for (const fold of stratifiedKFold(c.bags, { k: 5, seed: 3 })) {
        const side = (ids: readonly number[]) => new Set(ids.map((i) => c.bags[i].patientId));
        const train = side(fold.train);
        for (const p of side(fold.test)) assert.ok(!train.has(p), `case ${p} on both sides`);
      }
      await c.close();
    },
  );

  it('clam: --patient-column overrides case_id, and a missing column is refused', async () => {
    const labels = path.join(root, 'clam', 'tumor_vs_normal_dummy_clean.csv');
    const out = path.join(dir, 'clam-slide.arrow');
    await convertH5(path.join(root, 'clam'), out, { labels, patientColumn: 'slide_id', ...quiet });
    const c = await Cohort.open(out);
    assert.equal(new Set(c.bags.map((b) => b.patientId)).size, 20);
    await c.close();
    await assert.rejects(
      convertH5(path.join(root, 'clam'), out, { labels, patientColumn: 'patient', ...quiet }),
      /tumor_vs_normal_dummy_clean\.csv, field "patient": line 1: no patient column "patient"/,
    );
  });

  const trident = () => path.join(root, 'trident', '20x_256px_0px_overlap', 'features_uni_v1');
  for (const variant of ['labels.csv', 'labels_with_ext.csv', 'bom-crlf']) {
    it(`trident (${variant}): the nested features folder, TCGA ids, every value equal`, async () => {
      let labels = path.join(root, 'trident', variant === 'bom-crlf' ? 'labels.csv' : variant);
      if (variant === 'bom-crlf') {
        const text = fs.readFileSync(labels, 'utf8').replace(/\r?\n/g, '\r\n');
        labels = path.join(dir, 'bom.csv');
        fs.writeFileSync(labels, `\uFEFF${text}`);
      }
      const out = path.join(dir, `trident-${variant}.arrow`);
      const s = await convertH5(path.join(root, 'trident'), out, { labels, ...quiet });
      assert.deepEqual([s.bags, s.dim], [20, 256]);
      const c = await assertMatchesFiles(out, (id) => path.join(trident(), `${id}.h5`));
      const expected = fs
        .readFileSync(path.join(root, 'trident', 'labels.csv'), 'utf8')
        .trim()
        .split(/\r?\n/)
        .slice(1)
        .map((l) => l.split(','));
      assert.deepEqual(
        c.bags.map((b) => [b.id, String(b.label)]),
        expected,
      );
      await c.close();
    });
  }

  it('trident labels_mismatch.csv: refused naming the missing slides, or left out with --skip-missing', async () => {
    const labels = path.join(root, 'trident', 'labels_mismatch.csv');
    const out = path.join(dir, 'mismatch.arrow');
    await assert.rejects(convertH5(path.join(root, 'trident'), out, { labels, ...quiet }), (e: unknown) => {
      assert.ok(e instanceof MilkitDataError);
      assert.match(
        e.message,
        /labels_mismatch\.csv, bag "TCGA-MISSING-1": line 21: 2 of 21 slides have no feature file/,
      );
      assert.match(e.message, /Fix: remove those rows .* --skip-missing/);
      return true;
    });
    assert.ok(!fs.existsSync(out));
    const notices: string[] = [];
    const s = await convertH5(path.join(root, 'trident'), out, {
      labels,
      skipMissing: true,
      onNotice: (n) => notices.push(n),
    });
    assert.equal(s.bags, 19);
    assert.ok(notices.some((n) => /2 slides .* have no \.h5 file and are left out/.test(n)));
    assert.ok(notices.some((n) => /1 \.h5 files .* have no row .* TCGA-A0-A000/.test(n)));
  });
});
