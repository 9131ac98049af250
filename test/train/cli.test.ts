import { strict as assert } from 'node:assert';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as A from 'apache-arrow';
import { backendInfo } from '../../src/backend';
import { main } from '../../src/cli/main';
import { readCheckpoint } from '../../src/persist';
import { tempDir } from '../helpers/tmp';
import { writeToyCohort } from './fixtures';

/** Runs `milkit ...` in-process and captures stdout / stderr. */
async function milkit(...args: string[]): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const [w1, w2] = [process.stdout.write, process.stderr.write];
  process.stdout.write = ((s: string) => (out.push(String(s)), true)) as typeof process.stdout.write;
  process.stderr.write = ((s: string) => (err.push(String(s)), true)) as typeof process.stderr.write;
  try {
    const code = await main(args);
    return { code, out: out.join(''), err: err.join('') };
  } finally {
    process.stdout.write = w1;
    process.stderr.write = w2;
  }
}

const MODEL = ['--model', 'abmil', '--model-config', '{"embedDim":16,"dropout":0}'];

describe('cli: milkit train / eval / predict', function () {
  this.timeout(300_000);
  const dir = tempDir();
  let data: string;
  before(async () => {
    data = await writeToyCohort(dir, { bags: 24, dim: 6 });
  });

  it('train --json prints summary.<metric>.mean / .sd and writes results.json + results.csv', async () => {
    const out = path.join(dir, 'run');
    const model = ['--model', 'abmil', '--model-config', '{"embedDim":64,"dropout":0}'];
    const r = await milkit(
      'train',
      ...model,
      '--data',
      data,
      '--folds',
      '3',
      '--epochs',
      '15',
      '--lr',
      '5e-3',
      '--standardize',
      '--out',
      out,
      '--json',
      '--quiet',
    );
    assert.equal(r.code, 0, r.err);
    const j = JSON.parse(r.out);
    assert.equal(j.folds.length, 3);
    for (const m of ['auc', 'accuracy', 'f1', 'kappa']) {
      assert.equal(typeof j.summary[m].mean, 'number', m);
      assert.equal(typeof j.summary[m].sd, 'number', m);
    }
    assert.ok(j.summary.auc.mean > 0.8, `AUC ${j.summary.auc.mean}`);
    assert.equal(j.model.name, 'abmil');
    assert.ok(fs.existsSync(path.join(out, 'results.json')) && fs.existsSync(path.join(out, 'results.csv')));
    const again = await milkit('train', ...MODEL, '--data', data, '--out', out, '--quiet');
    assert.equal(again.code, 1, 'refuses to overwrite a finished run');
    assert.match(again.err, /already holds a finished run\. Fix: choose another output folder, or pass --overwrite/);
  });

  it('eval re-scores every fold model with its training threshold; predict writes CSV and Arrow', async () => {
    const run = path.join(dir, 'run');
    const e = await milkit('eval', '--model-dir', run, '--data', data, '--json', '--quiet');
    assert.equal(e.code, 0, e.err);
    const j = JSON.parse(e.out);
    assert.equal(j.models.length, 3);
    assert.ok(Number.isFinite(j.models[0].metrics.accuracyYouden));
    assert.ok(j.summary.auc.mean > 0.8);

    const p = await milkit(
      'predict',
      '--model-dir',
      run,
      '--fold',
      'rep0-fold1',
      '--data',
      data,
      '--out',
      path.join(dir, 'pred', 'toy'),
      '--json',
      '--quiet',
    );
    assert.equal(p.code, 0, p.err);
    const info = JSON.parse(p.out);
    assert.equal(info.bags, 24);
    const bags = fs
      .readFileSync(path.join(dir, 'pred', 'toy.bags.csv'), 'utf8')
      .trim()
      .split('\n');
    assert.equal(bags.length, 25);
    assert.equal(bags[0], 'bag_id,label,prob_0,prob_1,predicted,predicted_youden');
    const inst = A.tableFromIPC(fs.readFileSync(path.join(dir, 'pred', 'toy.instances.arrow')));
    assert.equal(inst.numRows, info.instances);
    assert.deepEqual(
      inst.schema.fields.map((f) => f.name),
      ['bag_id', 'instance', 'attention'],
    );
    // attention sums to 1 within each bag
    const sums = new Map<string, number>();
    for (const row of inst) sums.set(row.bag_id, (sums.get(row.bag_id) ?? 0) + row.attention);
    for (const s of sums.values()) assert.ok(Math.abs(s - 1) < 1e-4);
    // Labels, predictions and instance indices are int32, not float64; the schema names the source.
    const bagTable = A.tableFromIPC(fs.readFileSync(path.join(dir, 'pred', 'toy.bags.arrow')));
    for (const name of ['label', 'predicted', 'predicted_youden'])
      assert.equal(String(bagTable.schema.fields.find((f) => f.name === name)!.type), 'Int32', name);
    assert.equal(String(inst.schema.fields.find((f) => f.name === 'instance')!.type), 'Int32');
    assert.equal(bagTable.schema.metadata.get('milkit.source'), data);
    assert.deepEqual(
      bagTable.getChild('label')!.toArray(),
      Int32Array.from(bags.slice(1).map((l) => Number(l.split(',')[1]))),
    );
    // A folder argument means files inside it, not hidden dot files next to it.
    const folder = await milkit(
      'predict',
      '--model-dir',
      run,
      '--fold',
      'rep0-fold1',
      '--data',
      data,
      '--out',
      `${path.join(dir, 'preds')}/`,
      '--quiet',
    );
    assert.equal(folder.code, 0, folder.err);
    assert.deepEqual(fs.readdirSync(path.join(dir, 'preds')).sort(), [
      'bags.arrow',
      'bags.csv',
      'instances.arrow',
      'instances.csv',
    ]);
    const ambiguous = await milkit('predict', '--model-dir', run, '--data', data, '--out', path.join(dir, 'x'));
    assert.equal(ambiguous.code, 2);
    assert.match(ambiguous.err, /choose one with --fold \(rep0-fold0, rep0-fold1, rep0-fold2\)/);
  });

  it('SIGINT finishes the step, checkpoints and exits 130; --resume reaches the uninterrupted result', async () => {
    const big = await writeToyCohort(dir, { bags: 40, dim: 16, name: 'big' });
    const args = [
      ...MODEL,
      '--data',
      big,
      '--folds',
      '2',
      '--repeats',
      '1',
      '--epochs',
      '10',
      '--lr',
      '3e-3',
      '--seed',
      '9',
    ];
    const full = path.join(dir, 'full');
    assert.equal((await milkit('train', ...args, '--out', full, '--quiet')).code, 0);

    const out = path.join(dir, 'interrupted');
    const script =
      `require(${JSON.stringify(path.resolve(__dirname, '../../src/cli/main.ts'))}).main(` +
      `${JSON.stringify(['train', ...args, '--out', out])}).then((c) => { process.exitCode = c; });`;
    const child = spawn(process.execPath, ['--require', 'tsx/cjs', '-e', script], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, MILKIT_BACKEND: backendInfo()!.name },
    }); // same numerics as this process
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += d));
    const ckpt = path.join(out, 'rep0-fold0', 'last.ckpt');
    while (!fs.existsSync(ckpt) && child.exitCode === null) await new Promise((r) => setTimeout(r, 20));
    child.kill('SIGINT');
    const code = await new Promise<number | null>((r) => child.once('exit', (c) => r(c)));
    assert.equal(code, 130, stderr);
    assert.match(stderr, /interrupted: finishing the current step and writing a checkpoint/);
    assert.match(stderr, /--resume/);
    assert.ok(
      !fs.existsSync(path.join(out, 'results.json')) ||
        JSON.parse(fs.readFileSync(path.join(out, 'results.json'), 'utf8')).interrupted,
    );

    const resumed = await milkit('train', ...args, '--out', out, '--resume', '--quiet');
    assert.equal(resumed.code, 0, resumed.err);
    for (const fold of ['rep0-fold0', 'rep0-fold1']) {
      const w = (d: string) =>
        readCheckpoint(path.join(d, fold, 'model.ckpt')).tensors.map((t) => Array.from(t.values));
      assert.deepEqual(w(out), w(full), fold);
    }
  });
});
