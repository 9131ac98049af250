/**
 * The shared runner of experiments/ (experiments/common/runner.ts): flags, job selection, resuming,
 * keeping unmeasured cells from the previous table (never across settings), `--tables-only`, and
 * `--jobs` running jobs in child processes. The experiment here is a small real one: its jobs write
 * unit files, its assembly reads them back into a reproduction table.
 */
import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { readReproduction, writeReproduction } from 'milkit';
import {
  type Context,
  type Experiment,
  type Job,
  commandOf,
  keptNote,
  matches,
  mergeRows,
  parseFlags,
  readTable,
  runExperiment,
  selectJobs,
  writeTable,
} from '../../../experiments/common/runner';
import { tempDir } from '../../helpers/tmp';

const settings = {
  scale: { type: 'number', default: 1, help: 'multiplies every value' },
  label: { type: 'string', default: 'x', help: 'row label prefix' },
  fast: { type: 'boolean', help: 'a flag' },
} as const;

/** Rows a, b, c; each job writes `<out>/<row>.json` with its value (scale × row number) and counts its runs. */
function toyExperiment(runs: string[]): Experiment<typeof settings> {
  const unit = (ctx: Context<typeof settings>, row: string) => path.join(ctx.out, `${row}.json`);
  return {
    name: 'toy',
    title: 'a toy experiment',
    out: 'runs/toy',
    settings,
    tables: () => ['toy'],
    jobs: (ctx) =>
      ['a', 'b', 'c'].map((row, i): Job => ({
        id: `rows/${row}`,
        needs: row === 'c' ? ['rows/a'] : [],
        done: () => fs.existsSync(unit(ctx, row)),
        run: async () => {
          runs.push(row);
          fs.mkdirSync(ctx.out, { recursive: true });
          fs.writeFileSync(unit(ctx, row), JSON.stringify((i + 1) * ctx.settings.scale));
        },
      })),
    assemble: (ctx) => {
      const planned = ['a', 'b', 'c'].map((row) => {
        const file = unit(ctx, row);
        return {
          id: `rows/${row}`,
          label: `${ctx.settings.label}-${row}`,
          cells: [fs.existsSync(file) ? [JSON.parse(fs.readFileSync(file, 'utf8')) as number] : undefined],
        };
      });
      const protocol = `scale ${ctx.settings.scale}.`;
      const merged = mergeRows(planned, readTable(ctx.results, 'toy'), protocol, ['value'], 'toy.json');
      if (!merged.rows.length) return [];
      return [
        writeTable(
          ctx.results,
          'toy',
          { columns: ['value'], rows: merged.rows },
          { command: ctx.command, protocol: protocol + keptNote(merged, ctx.out) },
        ),
      ];
    },
  };
}

describe('experiments/common/runner: flags', () => {
  const exp = toyExperiment([]);

  it('parses the common flags and the settings (defaults, numbers, booleans), and says which were given', () => {
    const f = parseFlags(exp, ['--scale', '2.5', '--fast', '--only', 'rows/a, rows/b', '--jobs=2']);
    assert.deepEqual(f.settings, { scale: 2.5, label: 'x', fast: true });
    assert.deepEqual([...f.given].sort(), ['fast', 'scale']);
    assert.deepEqual(
      [f.out, f.results, f.only, f.jobs, f.tablesOnly],
      ['runs/toy', 'results', ['rows/a', 'rows/b'], 2, false],
    );
  });

  it('refuses unknown flags, malformed numbers and a bad --jobs, naming the flag', () => {
    assert.throws(() => parseFlags(exp, ['--scael', '2']), /Unknown option '--scael'[\s\S]*--scale/);
    assert.throws(() => parseFlags(exp, ['--scale', 'two']), /--scale must be a number, got "two"/);
    assert.throws(() => parseFlags(exp, ['--jobs', '0']), /--jobs must be a positive integer/);
  });

  it('the command names the npm script, a non-default --out and every non-default setting', () => {
    assert.equal(commandOf(exp, 'runs/toy', parseFlags(exp, ['--scale', '1']).settings), 'npm run reproduce:toy');
    assert.equal(
      commandOf(exp, 'runs/other', parseFlags(exp, ['--fast', '--label', 'a b', '--scale', '3']).settings),
      "npm run reproduce:toy -- --out runs/other --scale 3 --label 'a b' --fast",
    );
  });
});

describe('experiments/common/runner: job selection', () => {
  const done = new Set<string>();
  const job = (id: string, needs: string[] = []): Job => ({ id, needs, done: () => done.has(id), run: async () => {} });
  const jobs = [
    job('data/colon'),
    job('colon/baseline', ['data/colon']),
    job('colon/mhim-v2-ti', ['data/colon', 'colon/baseline']),
    job('mnist50/baseline'),
  ];

  it('ids match exactly, as a prefix ending at a slash, or as a * glob', () => {
    assert.ok(matches('colon/baseline', 'colon/baseline'));
    assert.ok(matches('colon/baseline', 'colon'));
    assert.ok(!matches('colon/baseline', 'col'));
    assert.ok(matches('attention/50/r1', 'attention/50'));
    assert.ok(matches('mnist/random/K64', '*/*/K64'));
    assert.ok(matches('mnist50/baseline', '*/baseline'));
    assert.ok(!matches('mnist/random/K640', '*/*/K64'));
  });

  it('pulls in the unfinished jobs a chosen one needs, in the order of the patterns', () => {
    assert.deepEqual(
      selectJobs(jobs, ['mnist50', 'colon/mhim-v2-ti']).map((j) => j.id),
      ['mnist50/baseline', 'data/colon', 'colon/baseline', 'colon/mhim-v2-ti'],
    );
    done.add('data/colon');
    assert.deepEqual(
      selectJobs(jobs, ['colon/mhim-v2-ti']).map((j) => j.id),
      ['colon/baseline', 'colon/mhim-v2-ti'],
    );
    assert.equal(selectJobs(jobs).length, 4, 'no --only: every job');
    assert.throws(
      () => selectJobs(jobs, ['colon/base', 'musk1']),
      /no job matches colon\/base, musk1; jobs: data\/colon/,
    );
  });
});

describe('experiments/common/runner: mergeRows', () => {
  const dir = tempDir();
  writeReproduction(
    dir,
    't',
    {
      columns: ['x', 'y'],
      rows: [
        { label: 'a', cells: [[1], [10]] },
        { label: 'b', cells: [[2], [20]] },
        { label: 'old', cells: [[3], null] },
      ],
    },
    { command: 'c', protocol: 'P. budget' },
  );
  const previous = readTable(dir, 't');

  it('fresh cells win, each missing cell comes from the previous table, unplanned rows are appended', () => {
    const planned = [
      { id: 'a', label: 'a', cells: [[9], undefined] },
      { id: 'b', label: 'b', cells: [undefined, undefined] },
      { id: 'c', label: 'c', cells: [undefined, undefined] },
    ];
    const merged = mergeRows(planned, previous, 'P.', ['x', 'y'], 't.json');
    assert.deepEqual(merged.rows, [
      { label: 'a', cells: [[9], [10]] },
      { label: 'b', cells: [[2], [20]] },
      { label: 'old', cells: [[3], null] },
    ]);
    assert.deepEqual(merged.kept, ['a', 'b', 'old']);
    assert.deepEqual(merged.missing, ['c']);
    assert.match(
      keptNote(merged, 'runs/x'),
      /^ 3 row\(s\) not measured in runs\/x kept from the table of \d{4}-\d\d-\d\d \(/,
    );
    assert.deepEqual(
      mergeRows(planned, previous, 'P.', ['x', 'y'], 't.json', true).rows.map((r) => r.label),
      ['a', 'b', 'c', 'old'],
      'emptyRows keeps the unmeasured row, empty',
    );
    assert.deepEqual(
      mergeRows([{ id: 'y', label: 'a', cells: [[5]] }], previous, 'P.', ['y'], 't.json').rows[0],
      { label: 'a', cells: [[5]] },
      'columns are matched by name',
    );
  });

  it('refuses to keep cells measured under other settings, and allows replacing every one of them', () => {
    const some = [{ id: 'a', label: 'a', cells: [[9], undefined] }];
    assert.throws(
      () => mergeRows(some, previous, 'Q.', ['x', 'y'], 't.json'),
      /t\.json holds rows measured under other settings that this run does not measure \(a; b; old\)/,
    );
    const all = ['a', 'b', 'old'].map((label) => ({ id: label, label, cells: [[5], [6]] }));
    assert.deepEqual(mergeRows(all, previous, 'Q.', ['x', 'y'], 't.json').kept, []);
  });
});

describe('experiments/common/runner: runExperiment', function () {
  this.timeout(60_000);
  const dir = tempDir();

  it(
    'runs the unfinished jobs, resumes, keeps what --only ' + 'leaves out, and --tables-only rewrites the Markdown',
    async () => {
      const runs: string[] = [];
      const exp = toyExperiment(runs);
      const results = path.join(dir, 'results');
      const out = path.join(dir, 'out');
      const written = await runExperiment(exp, ['--out', out, '--results', results]);
      assert.deepEqual(written, [path.join(results, 'toy.json')]);
      assert.deepEqual(runs, ['a', 'b', 'c']);
      const first = readReproduction(written[0]);
      assert.deepEqual(
        first.rows.map((r) => [r.label, r.cells[0]]),
        [
          ['x-a', [1]],
          ['x-b', [2]],
          ['x-c', [3]],
        ],
      );
      assert.equal(first.meta.command, `npm run reproduce:toy -- --out ${out}`);

      await runExperiment(exp, ['--out', out, '--results', results]);
      assert.deepEqual(runs, ['a', 'b', 'c'], 'finished jobs are skipped');

      // Re-measure only c in a fresh folder: c needs a, which runs too; b is kept from the table.
      const fresh = path.join(dir, 'fresh');
      await runExperiment(exp, ['--out', fresh, '--results', results, '--only', 'rows/c']);
      assert.deepEqual(runs.slice(3), ['a', 'c']);
      const second = readReproduction(written[0]);
      assert.deepEqual(second.rows, first.rows);
      assert.match(second.meta.protocol, /1 row\(s\) not measured in .*fresh kept from the table of/);

      // Other settings may not keep b: refused, the table left as it was.
      const before = fs.readFileSync(written[0], 'utf8');
      await assert.rejects(
        runExperiment(exp, [
          '--out',
          path.join(dir, 'other'),
          '--results',
          results,
          '--only',
          'rows/a',
          '--scale',
          '2',
        ]),
        /holds rows measured under other settings/,
      );
      assert.equal(fs.readFileSync(written[0], 'utf8'), before);

      const md = path.join(results, 'toy.md');
      const text = fs.readFileSync(md, 'utf8');
      fs.writeFileSync(md, 'stale');
      await runExperiment(exp, ['--results', results, '--tables-only', '--scale', '5']);
      assert.equal(fs.readFileSync(md, 'utf8'), text, 'the same Markdown, from the JSON alone');
      assert.equal(runs.length, 6, '--tables-only computes nothing');
    },
  );

  it('--jobs 2 runs jobs in child processes, a job after the jobs it needs', function () {
    this.timeout(120_000);
    const script = path.join(dir, 'pids.ts');
    const runner = path.resolve(__dirname, '../../../experiments/common/runner');
    fs.writeFileSync(
      script,
      `import * as fs from 'node:fs';
import * as path from 'node:path';
import { type Experiment, main } from ${JSON.stringify(runner)};
const unit = (out: string, id: string) => path.join(out, id + '.json');
const exp: Experiment<{}> = {
  name: 'pids', title: 'pids', out: 'runs/pids', settings: {}, tables: () => [],
  jobs: (ctx) => ['a', 'b', 'c'].map((id) => ({
    id, needs: id === 'c' ? ['a', 'b'] : [],
    done: () => fs.existsSync(unit(ctx.out, id)),
    run: async () => {
      const t0 = Date.now();
      while (Date.now() - t0 < 300);
      fs.mkdirSync(ctx.out, { recursive: true });
      fs.writeFileSync(unit(ctx.out, id), JSON.stringify({ pid: process.pid, start: t0, end: Date.now() }));
    },
  })),
  assemble: () => [],
};
main(exp, module);
`,
    );
    const out = path.join(dir, 'pids');
    const r = spawnSync(process.execPath, ['--import', 'tsx', script, '--out', out, '--jobs', '2'], {
      encoding: 'utf8',
      cwd: path.resolve(__dirname, '../../..'),
    });
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /3 of 3 jobs to do, 2 at a time/);
    const unitOf = (id: string) =>
      JSON.parse(fs.readFileSync(path.join(out, `${id}.json`), 'utf8')) as { pid: number; start: number; end: number };
    const [a, b, c] = ['a', 'b', 'c'].map(unitOf);
    assert.equal(new Set([a.pid, b.pid, c.pid, r.pid]).size, 4, 'each job in its own process');
    assert.ok(c.start >= Math.max(a.end, b.end), 'c started after a and b had finished');
    const again = spawnSync(process.execPath, ['--import', 'tsx', script, '--out', out, '--jobs', '2'], {
      encoding: 'utf8',
      cwd: path.resolve(__dirname, '../../..'),
    });
    assert.match(again.stdout, /0 of 3 jobs to do/);
  });
});
