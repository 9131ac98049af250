/**
 * The real built CLI (`node bin/milkit.js`, compiled by `npm run build`) in child processes:
 * output, --json, exit codes and error messages as a user sees them.
 */
import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as os from 'node:os';
import { loadH5wasm } from '../../src/data/convert';
import { randomFloats, tempDir } from '../helpers/tmp';

const ROOT = path.join(__dirname, '..', '..');

function milkit(args: string[], env: Record<string, string> = {}) {
  const r = spawnSync(process.execPath, [path.join(ROOT, 'bin', 'milkit.js'), ...args], {
    encoding: 'utf8',
    env: { ...process.env, MILKIT_BACKEND: 'cpu', MILKIT_DEBUG: '', ...env },
    timeout: 120_000,
  });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

describe('cli: the built milkit command', function () {
  this.timeout(180_000);
  const dir = tempDir();
  const csv = path.join(dir, 'inst.csv');

  before(() => {
    assert.ok(
      fs.existsSync(path.join(ROOT, 'dist', 'cli', 'main.js')),
      'dist/cli/main.js is missing: run `npm run build` first (npm test does)',
    );
    const rows = ['bag_id,bag_label,f1,f2,f3'];
    for (let b = 0; b < 6; b++) for (let i = 0; i <= b; i++) rows.push(`bag${b},${b % 2},${b},${i},${(b * i) / 10}`);
    fs.writeFileSync(csv, rows.join('\n'));
  });

  it('prints the command list (exit 2 without a command), the version and per-command help', () => {
    const none = milkit([]);
    assert.equal(none.code, 2);
    for (const c of ['info', 'convert', 'inspect', 'dataset']) assert.match(none.out, new RegExp(`\\n  ${c}\\s`));
    const version = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')).version;
    assert.equal(milkit(['--version']).out.trim(), version);
    const help = milkit(['convert', '--help']);
    assert.equal(help.code, 0);
    assert.match(help.out, /milkit convert csv <instances.csv> --out/);
  });

  it('info reports the backend, threads and skipped backends, also as JSON', () => {
    const text = milkit(['info']);
    assert.equal(text.code, 0, text.err);
    assert.match(text.out, /backend\s+cpu \(1 thread\)/);
    assert.match(text.out, new RegExp(`node\\s+${process.version.replace(/\./g, '\\.')}`));
    const j = JSON.parse(milkit(['info', '--json']).out);
    assert.equal(j.backend, 'cpu');
    assert.equal(j.threads, 1);
    assert.equal(j.node, process.version);
    assert.ok(Array.isArray(j.skipped));
    const auto = JSON.parse(milkit(['info', '--json'], { MILKIT_BACKEND: '' }).out);
    assert.ok(['tensorflow-gpu', 'tensorflow', 'wasm', 'cpu'].includes(auto.backend));
    // The GPU libraries looked for, where, and why the GPU backend did not load.
    assert.deepEqual(
      auto.gpu.libraries.map((l: { name: string }) => l.name),
      [
        'libcudart.so.11.0',
        'libcublas.so.11',
        'libcublasLt.so.11',
        'libcufft.so.10',
        'libcurand.so.10',
        'libcusolver.so.11',
        'libcusparse.so.11',
        'libcudnn.so.8',
      ],
    );
    if (auto.backend !== 'tensorflow-gpu') {
      const gpu = auto.skipped.find((s: { name: string }) => s.name === 'tensorflow-gpu');
      assert.match(gpu.reason, /CUDA 11\.2 \/ cuDNN 8\.1 libraries: \d of 8 found/);
      assert.match(gpu.reason, /NVIDIA driver: /);
    }
  });

  it('info finds a GPU library where LD_LIBRARY_PATH points', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'milkit-gpu-'));
    try {
      fs.writeFileSync(path.join(dir, 'libcudnn.so.8'), '');
      const j = JSON.parse(milkit(['info', '--json'], { MILKIT_BACKEND: 'cpu', LD_LIBRARY_PATH: dir }).out);
      const cudnn = j.gpu.libraries.find((l: { name: string }) => l.name === 'libcudnn.so.8');
      assert.equal(cudnn.path, path.join(dir, 'libcudnn.so.8'));
      assert.equal(j.gpu.searched[0], dir);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('convert csv → inspect (text, --json, --validate) with exact counts', () => {
    const out = path.join(dir, 'inst.arrow');
    const conv = milkit(['convert', 'csv', csv, '--out', out, '--json']);
    assert.equal(conv.code, 0, conv.err);
    assert.deepEqual(JSON.parse(conv.out), {
      instancePath: out,
      bagPath: path.join(dir, 'inst.bags.arrow'),
      bags: 6,
      instances: 21,
      dim: 3,
    });
    const j = JSON.parse(milkit(['inspect', out, '--json', '--validate']).out);
    assert.equal(j.bags, 6);
    assert.equal(j.instances, 21);
    assert.deepEqual(j.instancesPerBag, { min: 1, median: 3.5, max: 6, mean: 3.5 });
    assert.deepEqual(j.labels, { 0: 3, 1: 3 });
    assert.equal(j.featureDim, 3);
    assert.equal(j.coords, false);
    assert.equal(j.validated.bags, 6);
    assert.equal(j.files.instances, fs.statSync(out).size);
    const text = milkit(['inspect', out]);
    assert.match(text.out, /bags\s+6 \(6 patients\), 21 instances/);
    assert.match(text.out, /labels\s+0: 3 \(50\.0%\), 1: 3 \(50\.0%\)/);
  });

  it('convert h5 from real .h5 files', async () => {
    const h5 = await loadH5wasm();
    const slides = path.join(dir, 'slides');
    fs.mkdirSync(slides);
    for (const [i, id] of ['s1', 's2', 's3'].entries()) {
      const f = new h5.File(path.join(slides, `${id}.h5`), 'w');
      f.create_dataset({ name: 'features', data: randomFloats(4 * (i + 2), i + 1), shape: [i + 2, 4] });
      f.create_dataset({
        name: 'coords',
        data: BigInt64Array.from({ length: 2 * (i + 2) }, (_, k) => BigInt(k)),
        shape: [i + 2, 2],
      });
      f.close();
    }
    fs.writeFileSync(path.join(dir, 'labels.csv'), 'slide_id,label,patient_id\ns1,0,p1\ns2,1,p1\ns3,1,p2\n');
    const r = milkit([
      'convert',
      'h5',
      slides,
      '--labels',
      path.join(dir, 'labels.csv'),
      '-o',
      path.join(dir, 'slides.arrow'),
    ]);
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /wrote 3 bags, 9 instances, 4 features/);
    const j = JSON.parse(milkit(['inspect', path.join(dir, 'slides.arrow'), '--json']).out);
    assert.equal(j.patients, 2);
    assert.equal(j.coords, true);
  });

  it('dataset list, per-data-set help, and a small MNIST-bags build whose split file inspect checks', () => {
    assert.match(milkit(['dataset', 'list']).out, /mnist-bags\s+MNIST-bags/);
    assert.match(milkit(['dataset', 'mnist-bags', '--help']).out, /--train-bags <number>\s+training bags/);
    const out = path.join(dir, 'mnist.arrow');
    const r = milkit([
      'dataset',
      'mnist-bags',
      '--out',
      out,
      '--train-bags',
      '20',
      '--test-bags',
      '10',
      '--seed',
      '3',
      '--json',
    ]);
    assert.equal(r.code, 0, r.err);
    const j = JSON.parse(r.out);
    assert.equal(j.cohort.bags, 30);
    const ins = JSON.parse(milkit(['inspect', out, '--json']).out);
    assert.deepEqual(ins.splits, {
      file: path.join(dir, 'mnist.splits.json'),
      repetitions: 1,
      folds: 1,
      validation: false,
    });
    assert.equal(ins.featureDim, 784);
    assert.equal(ins.instanceLabels, true);
  });

  it('splits writes a patient-level split file that inspect accepts', () => {
    const cohort = path.join(dir, 'inst.arrow');
    const r = milkit(['splits', cohort, '--folds', '3', '--repeats', '2', '--seed', '4', '--json']);
    assert.equal(r.code, 0, r.err);
    const j = JSON.parse(r.out);
    assert.equal(j.file, path.join(dir, 'inst.splits.json'));
    assert.deepEqual(
      j.firstRepetition.map((f: { test: number }) => f.test),
      [2, 2, 2],
    );
    assert.deepEqual(
      j.firstRepetition.map((f: { testPositive: number }) => f.testPositive),
      [1, 1, 1],
    );
    const file = JSON.parse(fs.readFileSync(j.file, 'utf8'));
    assert.equal(file.format, 'milkit-splits');
    assert.equal(file.splits.length, 2);
    assert.match(milkit(['inspect', cohort]).out, /splits\s+2 × 3 folds, no patient leak/);
  });

  describe('errors: one line, exit code ≠ 0, no stack unless MILKIT_DEBUG', () => {
    it('bad CSV data → exit 1 naming file, line, bag and column', () => {
      const bad = path.join(dir, 'bad.csv');
      fs.writeFileSync(bad, 'bag_id,bag_label,f1\na,1,0.5\nb,0,oops\n');
      const r = milkit(['convert', 'csv', bad, '--out', path.join(dir, 'bad.arrow')]);
      assert.equal(r.code, 1);
      assert.equal(r.out, '');
      assert.match(
        r.err,
        new RegExp(
          /^milkit convert: file .*bad\.csv, bag "b", field "f1": line 3: non-numeric /.source +
            /value "oops"\. Fix: write a finite number in that cell \(or drop the row\)\n$/.source,
        ),
      );
      const debug = milkit(['convert', 'csv', bad, '--out', path.join(dir, 'bad.arrow')], { MILKIT_DEBUG: '1' });
      assert.match(debug.err, /\n\s+at /, 'stack trace with MILKIT_DEBUG');
    });
    it('a truncated cohort → exit 1 naming the file', () => {
      const src = path.join(dir, 'inst.arrow');
      const cut = path.join(dir, 'cut.arrow');
      fs.writeFileSync(cut, fs.readFileSync(src).subarray(0, 200));
      fs.copyFileSync(path.join(dir, 'inst.bags.arrow'), path.join(dir, 'cut.bags.arrow'));
      const r = milkit(['inspect', cut]);
      assert.equal(r.code, 1);
      assert.match(r.err, /cut\.arrow.*truncated/);
    });
    it('a split file with a patient leak → exit 1 naming the patient', () => {
      const cohort = path.join(dir, 'slides.arrow');
      const leak = path.join(dir, 'leak.json');
      fs.writeFileSync(
        leak,
        JSON.stringify({ format: 'milkit-splits', version: 1, splits: [[{ train: ['s1'], test: ['s2', 's3'] }]] }),
      );
      const r = milkit(['inspect', cohort, '--splits', leak]);
      assert.equal(r.code, 1);
      assert.match(r.err, /leak\.json.*patient "p1" has bags in both train and test \(patient leak\)/);
      fs.writeFileSync(
        leak,
        JSON.stringify({ format: 'milkit-splits', version: 1, splits: [[{ train: ['s1', 's2'], test: ['s3'] }]] }),
      );
      assert.match(milkit(['inspect', cohort, '--splits', leak]).out, /splits\s+1 × 1 folds, no patient leak/);
    });
    it('usage mistakes → exit 2 with a hint', () => {
      const unknown = milkit(['inspekt', 'x']);
      assert.equal(unknown.code, 2);
      assert.match(unknown.err, /^milkit: unknown command "inspekt". Fix: did you mean "milkit inspect"\?/);
      const opt = milkit(['inspect', 'x.arrow', '--jsn']);
      assert.equal(opt.code, 2);
      assert.match(
        opt.err,
        /unknown option --jsn. Fix: did you mean --json\?; milkit inspect --help lists the options\n$/,
      );
      const missing = milkit(['convert', 'csv', csv]);
      assert.equal(missing.code, 2);
      assert.match(missing.err, /--out is required/);
      const ds = milkit(['dataset', 'mnist', '--out', 'x']);
      assert.equal(ds.code, 2);
      assert.match(ds.err, /unknown data set "mnist". Fix: .*known: .*mnist-bags/);
      for (const r of [unknown, opt, missing, ds]) assert.equal(r.err.trim().split('\n').length, 1, r.err);
    });
  });
});
