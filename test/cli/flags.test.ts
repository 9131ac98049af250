import { strict as assert } from 'node:assert';
import { UsageError, describeFlags, kebab, parseFlags, type FlagSpec } from '../../src/cli/flags';
import { Progress } from '../../src/cli/progress';

describe('cli/flags: the tiny flag parser', () => {
  const spec: FlagSpec = {
    out: { type: 'string', alias: 'o', help: 'output' },
    'train-bags': { type: 'number', default: 200, help: 'bags' },
    json: { type: 'boolean', help: 'json' },
  };

  it('parses values, =values, aliases, booleans, --no-x, defaults, negative numbers and --', () => {
    assert.deepEqual(parseFlags(['a', '--out', 'x.arrow', '--train-bags=50', '--json', 'b'], spec), {
      flags: { out: 'x.arrow', 'train-bags': 50, json: true },
      positional: ['a', 'b'],
    });
    assert.deepEqual(parseFlags(['-o', 'y', '--no-json', '--train-bags', '-3', '--', '--json'], spec), {
      flags: { out: 'y', 'train-bags': -3, json: false },
      positional: ['--json'],
    });
    assert.deepEqual(parseFlags([], spec).flags, { 'train-bags': 200 });
  });

  it('rejects unknown options with a hint, missing values and non-numbers', () => {
    assert.throws(
      () => parseFlags(['--train-bag', '3'], spec),
      (e: unknown) =>
        e instanceof UsageError && e.message === 'unknown option --train-bag' && e.fix === 'did you mean --train-bags?',
    );
    assert.throws(() => parseFlags(['--out'], spec), /--out needs a value/);
    assert.throws(() => parseFlags(['--train-bags', 'many'], spec), /--train-bags must be a number, got "many"/);
    assert.throws(() => parseFlags(['--json=maybe'], spec), /--json takes no value/);
  });

  it('checks ranges, whole numbers and choices where the flag declares them, naming the fix', () => {
    const ranged: FlagSpec = {
      epochs: { type: 'number', integer: true, min: 1, help: '' },
      lr: { type: 'number', min: 0, exclusiveMin: true, help: '' },
      frac: { type: 'number', min: 0, below: 1, help: '' },
      select: { type: 'string', choices: ['val', 'last', 'test'], help: '' },
    };
    const fails = (argv: string[], message: RegExp, fix: RegExp) =>
      assert.throws(
        () => parseFlags(argv, ranged),
        (e: unknown) => e instanceof UsageError && message.test(e.message) && fix.test(e.fix ?? ''),
      );
    fails(['--epochs', '-1'], /--epochs must be at least 1, got "-1"/, /a whole number ≥ 1/);
    fails(['--epochs', '2.5'], /--epochs must be a whole number, got "2.5"/, /a whole number ≥ 1/);
    fails(['--lr', '0'], /--lr must be greater than 0/, /> 0/);
    fails(['--frac', '1'], /--frac must be below 1/, /≥ 0 and < 1/);
    fails(['--select', 'lst'], /--select must be one of val, last, test, got "lst"/, /did you mean --select last\?/);
    assert.deepEqual(parseFlags(['--epochs', '3', '--lr', '1e-3', '--frac', '0', '--select', 'test'], ranged).flags, {
      epochs: 3,
      lr: 1e-3,
      frac: 0,
      select: 'test',
    });
  });

  it('describes flags and converts option names', () => {
    const text = describeFlags(spec);
    assert.match(text, /-o, --out <string>\s+output/);
    assert.match(text, /--train-bags <number>\s+bags \(default 200\)/);
    assert.equal(kebab('meanBagSize'), 'mean-bag-size');
  });
});

describe('cli/progress: TTY-aware progress bar', () => {
  function fakeStream(isTTY: boolean) {
    const writes: string[] = [];
    return { writes, stream: { isTTY, write: (s: string) => writes.push(s) } as unknown as NodeJS.WriteStream };
  }

  it('redraws in place on a TTY and ends with one newline', () => {
    const { writes, stream } = fakeStream(true);
    const p = new Progress('work', 4, { stream });
    p.update(1);
    p.update(4);
    p.done();
    assert.ok(writes[0].startsWith('\rwork [######------------------] 1/4 25%'), writes[0]);
    assert.ok(
      writes.slice(0, -1).every((w) => !w.includes('\n')),
      'no newline while running',
    );
    const last = writes.at(-1)!;
    assert.match(last, /^\rwork: 4\/4 done in \d+\.\d s/);
    assert.ok(last.endsWith('\u001b[K\n'), JSON.stringify(last));
  });

  it('prints nothing but the final line for short work off a TTY, and nothing at all when disabled', () => {
    const { writes, stream } = fakeStream(false);
    const p = new Progress('work', 100, { stream });
    for (let i = 1; i <= 100; i++) p.update(i);
    p.done('ok');
    assert.equal(writes.length, 1);
    assert.match(writes[0], /^work: 100\/100 done in \d+\.\d s \(ok\)\n$/);
    const quiet = fakeStream(false);
    const q = new Progress('work', 3, { stream: quiet.stream, enabled: false });
    q.update(1);
    q.done();
    assert.equal(quiet.writes.length, 0);
  });

  it('appends the status (e.g. the whole run ETA), computed at each draw, to running lines only', () => {
    const { writes, stream } = fakeStream(true);
    let calls = 0;
    const p = new Progress('fold 1/50', 4, { stream, status: () => `run ETA ${++calls} min` });
    p.update(1);
    (p as unknown as { lastDraw: number }).lastDraw = 0; // the next draw is not throttled
    p.update(2);
    p.done();
    assert.match(writes[0], /^\rfold 1\/50 \[#+-+\] 1\/4 25%.* · run ETA 1 min/);
    assert.ok(writes[1].endsWith(' · run ETA 2 min\u001b[K'), JSON.stringify(writes[1]));
    assert.match(writes[2], /^\rfold 1\/50: 4\/4 done in/);
    assert.ok(!writes[2].includes('run ETA'), writes[2]);
  });

  it('prints a plain line per 10% once work runs longer than a second off a TTY', async () => {
    const { writes, stream } = fakeStream(false);
    const p = new Progress('slow', 20, { stream });
    (p as unknown as { start: number }).start -= 5000; // as if it started 5 s ago
    for (let i = 1; i <= 20; i++) p.update(i);
    p.done();
    assert.equal(writes.length, 10 + 1, writes.join(''));
    assert.ok(writes.every((w) => w.endsWith('\n') && !w.includes('\r')));
  });
});
