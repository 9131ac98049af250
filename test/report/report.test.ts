/**
 * `milkit report` on a real (tiny) training run: the run folder records test predictions, the
 * report's numbers agree with results.json and with a by-hand confusion matrix, and the HTML is
 * self-contained (inline SVG, no external resources). The browser stage opens it in Chromium.
 */
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { main } from '../../src/cli/main';
import { readRun, summariseRun } from '../../src/report';
import { tempDir } from '../helpers/tmp';
import { writeToyCohort } from '../train/fixtures';

async function milkit(...args: string[]): Promise<{ code: number; out: string }> {
  const out: string[] = [];
  const [w1, w2] = [process.stdout.write, process.stderr.write];
  process.stdout.write = ((s: string) => (out.push(String(s)), true)) as typeof process.stdout.write;
  process.stderr.write = (() => true) as typeof process.stderr.write;
  try {
    return { code: await main(args), out: out.join('') };
  } finally {
    process.stdout.write = w1;
    process.stderr.write = w2;
  }
}

describe('milkit report', function () {
  this.timeout(300_000);
  const dir = tempDir();
  let run: string;
  before(async () => {
    const data = await writeToyCohort(dir, { bags: 24, dim: 6 });
    run = path.join(dir, 'run');
    const r = await milkit(
      'train',
      ...['--model', 'abmil', '--model-config', '{"embedDim":16,"dropout":0}'],
      ...['--data', data, '--folds', '3', '--val-fraction', '0.25', '--epochs', '3', '--out', run, '--quiet'],
    );
    assert.equal(r.code, 0);
  });

  it('each fold records its test predictions (ids, labels, probabilities summing to 1)', () => {
    const r = readRun(run);
    assert.equal(r.folds.length, 3);
    for (const f of r.folds) {
      assert.equal(f.predictions!.bagIds.length, f.sizes.test);
      for (const p of f.predictions!.probabilities) assert.ok(Math.abs(p[0] + p[1] - 1) < 1e-3);
    }
  });

  it('pooled confusion matrix and CIs come from those predictions', () => {
    const r = readRun(run);
    const d = summariseRun(run, r);
    const pooled = r.folds.reduce((a, f) => a + f.sizes.test, 0);
    assert.equal(
      d.confusion.argmax.flat().reduce((a, b) => a + b, 0),
      pooled,
    );
    let correct = 0;
    for (const f of r.folds)
      f.predictions!.labels.forEach(
        (y, i) => (correct += Number(f.predictions!.probabilities[i][1] >= 0.5) === y ? 1 : 0),
      );
    assert.equal(d.confusion.argmax[0][0] + d.confusion.argmax[1][1], correct);
    const ci = d.intervals.auc;
    assert.ok(ci.lower <= ci.upper && ci.lower >= 0 && ci.upper <= 1);
    // The point estimate is the AUC of all pooled test bags, by hand: the share of (positive,
    // negative) pairs ranked right, ties counting half.
    const bags = r.folds.flatMap((f) => f.predictions!.labels.map((y, i) => [y, f.predictions!.probabilities[i][1]]));
    const pos = bags.filter(([y]) => y === 1).map(([, p]) => p);
    const neg = bags.filter(([y]) => y === 0).map(([, p]) => p);
    let right = 0;
    for (const a of pos) for (const b of neg) right += a > b ? 1 : a === b ? 0.5 : 0;
    assert.ok(Math.abs(d.pooled.auc - right / (pos.length * neg.length)) < 1e-9, `pooled AUC ${d.pooled.auc}`);
    // At the Youden threshold only when every fold has one (a one-class validation set has none).
    if (r.folds.every((f) => Number.isFinite(f.threshold?.threshold ?? NaN)))
      assert.equal(
        d.confusion.youden!.flat().reduce((a, b) => a + b, 0),
        pooled,
      );
    else assert.equal(d.confusion.youden, undefined);
  });

  it('writes one self-contained HTML file with every section', async () => {
    const out = path.join(dir, 'report.html');
    const r = await milkit('report', run, '--out', out);
    assert.equal(r.code, 0);
    assert.ok(r.out.includes(`report: ${out}`));
    const html = fs.readFileSync(out, 'utf8');
    for (const h of [
      'Summary',
      'Training curves per fold',
      'ROC and precision–recall',
      'Confusion matrix',
      'Top attention bags',
    ])
      assert.ok(html.includes(`<h2>${h}`), h);
    assert.ok(html.includes('95 % CI') && html.includes('class="summary"'));
    // The ROC legend reports the point estimate with its interval, not the bootstrap mean.
    const d = summariseRun(run, readRun(run));
    const ci = d.intervals.auc;
    const interval = `95 % CI ${ci.lower.toFixed(3)}–${ci.upper.toFixed(3)}`;
    const legend = `pooled test bags, AUC ${d.pooled.auc.toFixed(3)} (${interval})`;
    assert.ok(html.includes(legend), legend);
    assert.equal((html.match(/<h2>/g) ?? []).length, 5);
    assert.ok((html.match(/<svg/g) ?? []).length >= 6, 'inline SVG figures');
    assert.ok(!/(?:href|src)="(?!data:)/.test(html), 'no external resources');
    assert.ok(!/\sid=/.test(html), 'no element ids');
    assert.ok(html.includes('data-choose="metric"') && html.includes('data-choose="scale"'), 'the interactive choices');
  });

  it('a folder without results.json gets one clear error', async () => {
    const r = await milkit('report', dir);
    assert.notEqual(r.code, 0);
  });
});
