/**
 * The bad-input corpus, part two: mistakes in how the CLI is called (flags, model configs), split
 * files, damaged checkpoints and run folders. Built on one small cohort and one trained run (1 epoch,
 * 2 folds) made with the real CLI; every case must end in one clear error like the file cases.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Case } from './cases';

const BIN = path.join(__dirname, '..', '..', '..', 'bin', 'milkit.js');

function milkit(args: string[]): void {
  const r = spawnSync(process.execPath, [BIN, ...args, '--quiet'], {
    encoding: 'utf8',
    env: { ...process.env, MILKIT_BACKEND: 'cpu' },
  });
  if (r.status !== 0) throw new Error(`milkit ${args.join(' ')} failed: ${r.stderr}`);
}

/** 12 bags of 4 instances × 3 features; bag bK belongs to patient pK/2 (two bags per patient). */
function cohortCsv(): string {
  const rows = ['bag_id,bag_label,patient,f1,f2,f3'];
  for (let b = 0; b < 12; b++)
    for (let i = 0; i < 4; i++) rows.push(`b${b},${b % 2},p${b >> 1},${(b % 2) + i * 0.1},${i},${b * 0.01}`);
  return `${rows.join('\n')}\n`;
}

export function buildRunCorpus(dir: string): Case[] {
  const p = (...parts: string[]) => path.join(dir, ...parts);
  const write = (rel: string, content: string | Buffer) => {
    fs.mkdirSync(path.dirname(p(rel)), { recursive: true });
    fs.writeFileSync(p(rel), content);
    return p(rel);
  };
  const copy = (from: string, to: string) => {
    fs.cpSync(from, to, { recursive: true });
    return to;
  };
  const cases: Case[] = [];
  const add = (name: string, args: string[], names: string[]) => cases.push({ name, args, names });

  // One cohort with patients (two bags each), one of another feature width, one trained run.
  const csv = write('run/c.csv', cohortCsv());
  const cohort = p('run', 'c.arrow');
  milkit(['convert', 'csv', csv, '--out', cohort, '--patient-column', 'patient']);
  const narrow = p('run', 'narrow.arrow');
  write(
    'run/narrow.csv',
    cohortCsv()
      .replace(/,[^,\n]*$/gm, '')
      .replace(',f3', ''),
  );
  milkit(['convert', 'csv', p('run', 'narrow.csv'), '--out', narrow, '--patient-column', 'patient']);
  const trained = p('run', 'trained');
  const trainArgs = ['train', '--model', 'mean-mil', '--data', cohort, '--folds', '2', '--epochs', '1', '--seed', '3'];
  milkit([...trainArgs, '--out', trained]);

  // --- flags and model configs (train) ---
  const train = (name: string, extra: string[], names: string[], base = true) =>
    add(
      `flags: ${name}`,
      base
        ? ['train', '--model', 'abmil', '--data', cohort, '--epochs', '1', '--out', p('flags', name), ...extra]
        : extra,
      names,
    );
  train('unknown option', ['--epoch', '3'], ['--epoch', '--epochs']);
  train('number flag given text', ['--lr', 'fast'], ['--lr', 'fast']);
  train('negative epochs', ['--epochs', '-1'], ['epochs', '-1']);
  train('fractional epochs', ['--epochs', '2.5'], ['epochs', '2.5']);
  train('zero learning rate', ['--lr', '0'], ['lr']);
  train('negative weight decay', ['--weight-decay', '-1'], ['weight-decay']);
  train('one fold', ['--folds', '1'], ['folds', '1']);
  train('more folds than patients', ['--folds', '50'], ['folds', '50', '6 patients']);
  train('validation fraction above 1', ['--val-fraction', '1.5'], ['val-fraction', '1.5']);
  train('unknown selection', ['--select', 'best'], ['--select', 'best']);
  train('zero accumulation', ['--accumulate', '0'], ['accumulate']);
  train('negative warm-up', ['--warmup', '-1'], ['warmup']);
  train('negative bootstrap', ['--bootstrap', '-5'], ['bootstrap']);
  train('zero repeats', ['--repeats', '0'], ['repeats']);
  train('fractional seed', ['--seed', '1.5'], ['seed', '1.5']);
  train('zero patience', ['--patience', '0', '--val-fraction', '0.3'], ['patience']);
  train('early stopping without validation', ['--patience', '3'], ['--patience', '--val-fraction']);
  train('unknown monitor', ['--monitor', 'acuracy'], ['acuracy', 'accuracy']);
  train('unknown MHIM version', ['--mhim', 'v3'], ['--mhim', 'v3']);
  train('MHIM score without MHIM', ['--mhim-score', 'class-aware'], ['--mhim-score']);
  train('resume and overwrite', ['--resume', '--overwrite'], ['--resume', '--overwrite']);
  train('stray argument', ['extra'], ['extra']);
  train('model config not JSON', ['--model-config', '{embedDim: 4}'], ['--model-config']);
  train('model config an array', ['--model-config', '[4]'], ['--model-config']);
  train('model config negative width', ['--model-config', '{"embedDim":-4}'], ['abmil', 'embedDim', '-4']);
  train('model config zero width', ['--model-config', '{"embedDim":0}'], ['abmil', 'embedDim']);
  train('model config fractional width', ['--model-config', '{"embedDim":2.5}'], ['abmil', 'embedDim', '2.5']);
  train('model config width as text', ['--model-config', '{"embedDim":"big"}'], ['abmil', 'embedDim', 'big']);
  train('model config dropout above 1', ['--model-config', '{"dropout":1.5}'], ['abmil', 'dropout', '1.5']);
  train('model config boolean as text', ['--model-config', '{"gated":"yes"}'], ['abmil', 'gated', 'yes']);
  train('model config unknown choice', ['--model-config', '{"activation":"swish"}'], ['abmil', 'activation', 'swish']);
  train('model config typo', ['--model-config', '{"embeddim":4}'], ['abmil', 'embeddim', 'embedDim']);
  train('model config null', ['--model-config', '{"dropout":null}'], ['abmil', 'dropout']);
  train('model config list of text', ['--model-config', '{"hidden":["a"]}'], ['hidden']);
  add(
    'flags: unknown model',
    ['train', '--model', 'abmill', '--data', cohort, '--out', p('flags', 'abmill')],
    ['abmill', 'abmil'],
  );
  add('flags: model missing', ['train', '--data', cohort], ['--model']);
  add('flags: data missing', ['train', '--model', 'abmil'], ['--data']);
  add('flags: data not found', ['train', '--model', 'abmil', '--data', p('nope.arrow')], ['nope.arrow', 'not found']);
  add('flags: unknown command', ['trian', '--model', 'abmil'], ['trian', 'train']);
  add('flags: unknown data set', ['dataset', 'musk3', '--out', p('flags', 'm.arrow')], ['musk3', 'musk1']);
  add('flags: eval without a model folder', ['eval', '--data', cohort], ['--model-dir']);
  add(
    'flags: predict without data',
    ['predict', '--model-dir', path.join(trained, 'rep0-fold0'), '--out', p('flags', 'preds')],
    ['--data'],
  );
  add('flags: splits with one fold', ['splits', cohort, '--folds', '1', '--out', p('flags', 's.json')], ['folds']);
  add(
    'flags: splits validation fraction 1',
    ['splits', cohort, '--val', '1', '--out', p('flags', 'v.json')],
    ['val', '1'],
  );

  // --- split files (train --splits) ---
  const ids = Array.from({ length: 12 }, (_, b) => `b${b}`);
  const split = (name: string, content: unknown, names: string[], extra: string[] = []) => {
    const file = write(`splits/${name}.json`, typeof content === 'string' ? content : JSON.stringify(content));
    add(
      `splits: ${name}`,
      [
        'train',
        '--model',
        'abmil',
        '--data',
        cohort,
        '--epochs',
        '1',
        '--splits',
        file,
        '--out',
        p('sruns', name),
        ...extra,
      ],
      [`${name}.json`, ...names],
    );
  };
  const milkitSplits = (s: unknown) => ({ format: 'milkit-splits', version: 1, splits: s });
  const fold = (train: string[], test: string[], val?: string[]) => ({ train, test, ...(val ? { val } : {}) });
  split('not-json', '{"format": "milkit-splits", ', ['JSON']);
  split('not-an-object', '[1, 2]', []);
  split('unknown-format', { format: 'sklearn', splits: [] }, ['format']);
  split('future-version', { format: 'milkit-splits', version: 9, splits: [[fold(ids.slice(0, 8), ids.slice(8))]] }, [
    'version',
  ]);
  split('no-repetitions', milkitSplits([]), ['splits']);
  split('unknown-bag', milkitSplits([[fold([...ids.slice(0, 8), 'ghost'], ids.slice(8))]]), ['bag "ghost"']);
  split('bag-on-both-sides', milkitSplits([[fold(ids.slice(0, 9), ids.slice(8))]]), ['bag "b8"']);
  split('patient-on-both-sides', milkitSplits([[fold(ids.slice(0, 7), ids.slice(7))]]), ['patient', 'p3']);
  split('empty-test', milkitSplits([[fold(ids, [])]]), ['test', 'empty']);
  split('empty-train', milkitSplits([[fold([], ids)]]), ['train', 'empty']);
  split('no-test-key', milkitSplits([[{ train: ids }]]), ['test']);
  split('validation-overlaps-test', milkitSplits([[fold(ids.slice(0, 6), ids.slice(8), ids.slice(8))]]), ['bag "b8"']);
  split('duplicate-bag', milkitSplits([[fold(['b0', 'b0', ...ids.slice(1, 8)], ids.slice(8))]]), ['bag "b0"']);
  split('bag-id-number', milkitSplits([[fold([0, 1, 2, 3] as unknown as string[], ids.slice(8))]]), ['train']);
  const mask = [1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0];
  const inverse = mask.map((m) => 1 - m);
  split(
    'mask-wrong-length',
    {
      folds: [
        [
          [1, 1, 0],
          [0, 0, 1],
        ],
      ],
    },
    ['12 bags'],
  );
  split('mask-not-binary', { folds: [[[...mask.slice(0, 11), 2], inverse]] }, ['2']);
  split('mask-all-train', { folds: [[mask.map(() => 1), inverse]] }, ['test', 'empty']);
  split(
    'more-repeats-than-file',
    milkitSplits([[fold(ids.slice(0, 8), ids.slice(8))]]),
    ['--repeats', '1'],
    ['--repeats', '3'],
  );
  add(
    'splits: file missing',
    ['train', '--model', 'abmil', '--data', cohort, '--splits', p('splits', 'nope.json'), '--out', p('sruns', 'x')],
    ['nope.json', 'not found'],
  );

  // --- checkpoints (eval / predict on damaged model files) ---
  const fold0 = path.join(trained, 'rep0-fold0');
  const ckpt = fs.readFileSync(path.join(fold0, 'model.ckpt'));
  const headerLength = ckpt.readUInt32LE(8);
  const header = JSON.parse(ckpt.subarray(12, 12 + headerLength).toString('utf8'));
  const withHeader = (h: unknown) => {
    const json = Buffer.from(JSON.stringify(h));
    const pad = (8 - ((12 + json.length) % 8)) % 8;
    const len = Buffer.alloc(4);
    len.writeUInt32LE(json.length + pad);
    return Buffer.concat([
      ckpt.subarray(0, 8),
      len,
      json,
      Buffer.from(' '.repeat(pad)),
      ckpt.subarray(12 + headerLength + ((8 - ((12 + headerLength) % 8)) % 8)),
    ]);
  };
  const damaged = (name: string, bytes: Buffer, names: string[], command = 'eval') => {
    write(`ckpt/${name}/model.ckpt`, bytes);
    add(
      `checkpoint: ${name}`,
      command === 'eval'
        ? ['eval', '--model-dir', p('ckpt', name), '--data', cohort]
        : ['predict', '--model-dir', p('ckpt', name), '--data', cohort, '--out', p('ckpt', `${name}-preds`)],
      ['model.ckpt', ...names],
    );
  };
  damaged('truncated', ckpt.subarray(0, ckpt.length - 100), ['truncated']);
  damaged('header-cut', ckpt.subarray(0, 40), []);
  damaged('text', Buffer.from('not a checkpoint\n'), ['not a milkit checkpoint']);
  damaged('empty', Buffer.alloc(0), []);
  const badJson = Buffer.from(ckpt);
  badJson.write('}}}}', 14, 'latin1');
  damaged('header-not-json', badJson, []);
  damaged('future-version', withHeader({ ...header, version: 99 }), ['version']);
  damaged('training-state-as-model', fs.readFileSync(path.join(fold0, 'last.ckpt')), ['last.ckpt']);
  damaged('unknown-model', withHeader({ ...header, meta: { ...header.meta, model: { name: 'nomil', config: {} } } }), [
    'nomil',
  ]);
  damaged('tensor-missing', withHeader({ ...header, tensors: header.tensors.slice(1) }), ['model/']);
  damaged(
    'tensor-shape',
    withHeader({ ...header, tensors: [{ ...header.tensors[0], shape: [1, 1] }, ...header.tensors.slice(1)] }),
    ['model/'],
  );
  damaged('no-task', withHeader({ ...header, meta: { ...header.meta, task: undefined } }), ['meta.task']);
  damaged('truncated (predict)', ckpt.subarray(0, ckpt.length - 100), ['truncated'], 'predict');
  fs.mkdirSync(p('ckpt', 'no-model'), { recursive: true });
  add(
    'checkpoint: folder without models',
    ['eval', '--model-dir', p('ckpt', 'no-model'), '--data', cohort],
    ['no-model', 'model.ckpt'],
  );
  add(
    'checkpoint: model folder missing',
    ['eval', '--model-dir', p('ckpt', 'nowhere'), '--data', cohort],
    ['nowhere', 'not found'],
  );
  add(
    'checkpoint: cohort of another feature width',
    ['eval', '--model-dir', fold0, '--data', narrow],
    ['narrow.arrow', 'features', '3'],
  );
  add(
    'checkpoint: predict with a cohort of another width',
    ['predict', '--model-dir', fold0, '--data', narrow, '--out', p('ckpt', 'narrow-preds')],
    ['narrow.arrow', 'features', '3'],
  );

  // --- run folders (train --out / --resume) ---
  const run = (name: string, prepare: (dir: string) => void, extra: string[], names: string[]) => {
    const folder = copy(trained, p('runs', name));
    prepare(folder);
    add(`run folder: ${name}`, [...trainArgs, '--out', folder, ...extra], [name, ...names]);
  };
  const none = () => undefined;
  run('resume-other-epochs', none, ['--resume', '--epochs', '2'], ['epochs']);
  run('resume-other-seed', none, ['--resume', '--seed', '4'], ['seed']);
  run('resume-other-folds', none, ['--resume', '--folds', '3'], ['split']);
  run('resume-other-lr', none, ['--resume', '--lr', '0.01'], ['lr']);
  add(
    'run folder: resume with another model',
    [
      ...trainArgs.map((a) => (a === 'mean-mil' ? 'max-mil' : a)),
      '--out',
      copy(trained, p('runs', 'other-model')),
      '--resume',
    ],
    ['other-model', 'model'],
  );
  add(
    'run folder: resume on other data',
    [...trainArgs.map((a) => (a === cohort ? narrow : a)), '--out', copy(trained, p('runs', 'other-data')), '--resume'],
    ['other-data', 'data'],
  );
  run('finished-run-without-resume', none, [], ['finished run', '--overwrite']);
  const unfinish = (d: string) => {
    // What a killed run leaves: the last fold without its result, the manifest not marked finished.
    fs.rmSync(path.join(d, 'rep0-fold1', 'result.json'));
    const manifest = JSON.parse(fs.readFileSync(path.join(d, 'run.json'), 'utf8'));
    fs.writeFileSync(path.join(d, 'run.json'), JSON.stringify({ ...manifest, finished: false }));
  };
  run('unfinished-run-without-resume', unfinish, [], ['unfinished run', '1 fold done', '--resume']);
  run(
    'locked-by-live-process',
    (d) =>
      write(
        path.relative(dir, path.join(d, 'run.lock')),
        JSON.stringify({ host: os.hostname(), pid: 1, at: '2026-12-07T20:00:00Z', what: 'milkit train' }),
      ),
    ['--resume'],
    ['run.lock', 'pid 1'],
  );
  run(
    'locked-by-other-host',
    (d) =>
      write(
        path.relative(dir, path.join(d, 'run.lock')),
        JSON.stringify({ host: 'node-77', pid: 4242, at: '2026-12-07T20:00:00Z', what: 'milkit train' }),
      ),
    ['--resume'],
    ['run.lock', 'node-77'],
  );
  run(
    'run-json-not-json',
    (d) => write(path.relative(dir, path.join(d, 'run.json')), '{"fingerprint": '),
    ['--resume'],
    ['run.json'],
  );
  run('run-json-missing', (d) => fs.rmSync(path.join(d, 'run.json')), ['--resume'], ['run.json']);
  run(
    'fold-result-not-json',
    (d) => write(path.relative(dir, path.join(d, 'rep0-fold0', 'result.json')), '{'),
    ['--resume'],
    ['result.json'],
  );
  run(
    'fold-result-of-another-run',
    (d) => {
      const f = path.join(d, 'rep0-fold0', 'result.json');
      const r = JSON.parse(fs.readFileSync(f, 'utf8'));
      fs.writeFileSync(f, JSON.stringify({ ...r, fingerprint: `sha256:${'0'.repeat(64)}` }));
    },
    ['--resume'],
    ['result.json', 'fingerprint'],
  );
  run(
    'fold-result-swapped',
    (d) => {
      const a = path.join(d, 'rep0-fold0', 'result.json');
      const b = path.join(d, 'rep0-fold1', 'result.json');
      const ra = fs.readFileSync(a);
      fs.copyFileSync(b, a);
      fs.writeFileSync(b, ra);
    },
    ['--resume'],
    ['result.json'],
  );
  run(
    'last-checkpoint-damaged',
    (d) => {
      fs.rmSync(path.join(d, 'rep0-fold1', 'result.json'));
      fs.rmSync(path.join(d, 'rep0-fold1', 'model.ckpt'));
      const f = path.join(d, 'rep0-fold1', 'last.ckpt');
      fs.writeFileSync(f, fs.readFileSync(f).subarray(0, 200));
    },
    ['--resume'],
    ['last.ckpt'],
  );
  run(
    'last-checkpoint-of-another-run',
    (d) => {
      fs.rmSync(path.join(d, 'rep0-fold1', 'result.json'));
      fs.rmSync(path.join(d, 'rep0-fold1', 'model.ckpt'));
      fs.copyFileSync(path.join(d, 'rep0-fold0', 'last.ckpt'), path.join(d, 'rep0-fold1', 'last.ckpt'));
    },
    ['--resume'],
    ['last.ckpt', 'fingerprint'],
  );
  const asFile = write('runs/a-file', 'x');
  add('run folder: --out is a file', [...trainArgs, '--out', asFile], ['a-file']);
  add(
    'flags: eval with a negative bootstrap',
    ['eval', '--model-dir', trained, '--data', cohort, '--bootstrap', '-1'],
    ['--bootstrap'],
  );
  add(
    'run folder: eval on a run with a damaged fold model',
    ['eval', '--model-dir', copy(trained, p('runs', 'eval-damaged')), '--data', cohort],
    ['model.ckpt'],
  );
  fs.writeFileSync(p('runs', 'eval-damaged', 'rep0-fold1', 'model.ckpt'), ckpt.subarray(0, 500));
  // The start-up line and progress bars (stderr) are not part of an error: run quietly, as scripts do.
  for (const c of cases) if (c.args[0] === 'train' || c.args[0] === 'eval') c.args.push('--quiet');
  return cases;
}
