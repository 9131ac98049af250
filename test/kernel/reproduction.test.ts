/**
 * milkit-kernel: committed reproduction tables (real files written by writeReproduction) shown with
 * the published numbers beside ours, the "not measured yet" notice for a missing file, the notice
 * for an unreadable one, and the Figure-6-style hyperparameter curves.
 */
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { VIZ_MIME, parseViz } from 'milkit/core';
import { writeReproduction } from '../../src/train/reproduction';
import { settingOf, show } from '../../kernel-ext/src';
import { tempDir } from '../helpers/tmp';

// eslint-disable-next-line @typescript-eslint/no-require-imports -- tslab's display hook is an untyped internal module
const jupyter = require('tslab/dist/jupyter') as { lastWriteDisplayData: unknown };

type Data = Record<string, unknown>;

/** What the kernel would send while `fn` runs (as inside a tslab cell). */
function capture<T>(fn: () => T): { value: T; sent: Data[] } {
  const sent: Data[] = [];
  jupyter.lastWriteDisplayData = (msg: { data: Data }) => sent.push(msg.data);
  try {
    return { value: fn(), sent };
  } finally {
    jupyter.lastWriteDisplayData = null;
  }
}

function assertSelfContained(html: string): void {
  assert.ok(!/<script/i.test(html) && !/\son\w+=/i.test(html), 'no scripts');
  assert.ok(!/<svg/i.test(html), 'no inline SVG (stripped in untrusted notebooks): figures as PNG');
  const urls = (html.match(/(?:href|src)="[^"]*"/g) ?? []).filter((u) => !u.startsWith('src="data:image/png;base64,'));
  assert.deepEqual(urls, [], 'no external references');
}

const SWEEP = {
  title: 'MHIM-v2: βh',
  columns: ['auc', 'accuracy'],
  rows: [
    {
      label: 'βh = 0 (AB-MIL baseline)',
      cells: [
        [0.8, 0.84],
        [0.7, 0.74],
      ],
    },
    {
      label: 'βh = 0.4',
      cells: [
        [0.78, 0.8],
        [0.72, 0.7],
      ],
    },
    {
      label: 'βh = 0.01',
      cells: [
        [0.85, 0.87],
        [0.75, 0.77],
      ],
    },
    { label: 'AB-MIL (published setting)', cells: [{ mean: 0.83 }, null] },
  ],
};

describe('milkit-kernel reproduction tables and curves', () => {
  const dir = tempDir('milkit-repro-');
  after(() => (jupyter.lastWriteDisplayData = null));

  it('a measured file: our per-fold cells, the published column beside, protocol and command in the caption', () => {
    const file = writeReproduction(
      dir,
      'musk1',
      {
        title: 'MUSK1',
        columns: ['accuracy', 'auc'],
        rows: [
          {
            label: 'AB-MIL',
            cells: [
              [0.88, 0.86, 0.87],
              [0.94, 0.95, 0.93],
            ],
          },
          {
            label: 'gated AB-MIL',
            cells: [
              [0.86, 0.87],
              [0.92, 0.93],
            ],
          },
        ],
      },
      {
        command: 'npm run reproduce:musk1',
        protocol: '5 × 10-fold CV',
        published: {
          source: 'Ilse et al. 2018',
          values: { 'AB-MIL': { accuracy: 0.892 }, 'gated AB-MIL': { accuracy: 0.9 }, 'mi-Net': { accuracy: 0.889 } },
        },
      },
    );
    const { value: r, sent } = capture(() => show.reproduction(file, { command: 'unused when the file exists' }));
    assert.equal(r.status, 'measured');
    assert.equal(sent.length, 1);
    const payload = parseViz('results', sent[0][VIZ_MIME.results]);
    assert.deepEqual(payload.columns, ['accuracy', 'accuracy (published)', 'auc']);
    assert.equal(payload.rows[0].cells[0]!.mean, 0.87);
    assert.deepEqual(payload.rows[0].cells[0]!.values, [0.88, 0.86, 0.87], 'the per-fold values travel with the table');
    assert.equal(payload.rows[1].cells[1]!.mean, 0.9);
    assert.deepEqual(
      payload.rows[2],
      { label: 'mi-Net', cells: [null, { mean: 0.889 }, null] },
      'a published row we did not measure is still shown',
    );
    assert.equal(payload.title, 'MUSK1');
    for (const part of [
      'Protocol: 5 × 10-fold CV',
      'Published: Ilse et al. 2018',
      'Regenerate: npm run reproduce:musk1',
    ])
      assert.ok(payload.caption!.includes(part), part);
    const html = sent[0]['text/html'] as string;
    assertSelfContained(html);
    assert.ok(html.includes('0.870 ± 0.010') && html.includes('0.892'), 'ours and published in the fallback');
    assert.ok(String(sent[0]['text/plain']).includes('Regenerate: npm run reproduce:musk1'));
  });

  it('a missing file: one visible "not measured yet: run <command>" line, no table, no exception', () => {
    const file = path.join(dir, 'mnist-bags.json');
    const { value: r, sent } = capture(() =>
      show.reproduction(file, { command: 'milkit reproduce mnist-bags', title: 'MNIST-bags' }),
    );
    assert.equal(r.status, 'missing');
    assert.equal(r.table, undefined);
    assert.equal(sent.length, 1);
    // The words as HTML and text, and drawn as a PNG for image-only viewers (no milkit JSON: no table).
    assert.deepEqual(Object.keys(sent[0]).sort(), ['image/png', 'text/html', 'text/plain']);
    assert.equal(
      sent[0]['text/plain'],
      `MNIST-bags: not measured yet (${file} is not there): run milkit reproduce mnist-bags`,
    );
    assert.ok(
      (sent[0]['text/html'] as string).includes('<code') &&
        (sent[0]['text/html'] as string).includes('milkit reproduce mnist-bags'),
    );
  });

  it('an unreadable file says why (truncated JSON, another format, a broken table) instead of throwing', () => {
    const cases: [string, string, RegExp][] = [
      ['truncated.json', '{"format": "milkit-reproduction", "rows": [', /JSON/],
      ['other.json', JSON.stringify({ format: 'milkit-results', version: 1 }), /not a milkit reproduction file/],
      [
        'broken.json',
        JSON.stringify({
          format: 'milkit-reproduction',
          version: 1,
          name: 'x',
          columns: ['auc'],
          rows: [{ label: 'a', cells: [] }],
          meta: { command: 'c', protocol: 'p' },
        }),
        /0 cells for 1 columns/,
      ],
    ];
    for (const [name, text, why] of cases) {
      fs.writeFileSync(path.join(dir, name), text);
      const { value: r, sent } = capture(() => show.reproduction(path.join(dir, name), { command: 'make it' }));
      assert.equal(r.status, 'invalid', name);
      assert.match(r.message!, why);
      assert.match(r.message!, /regenerate it with make it$/);
      assert.equal(sent.length, 1);
    }
  });

  it('settingOf reads the swept value from a row label', () => {
    assert.deepEqual(settingOf('βh = 0.03'), { parameter: 'βh', x: 0.03 });
    assert.deepEqual(settingOf('βh = 0 (AB-MIL baseline)'), { parameter: 'βh', x: 0 });
    assert.deepEqual(settingOf('mask ratio 1e-2'), { parameter: 'mask ratio', x: 0.01 });
    assert.equal(settingOf('AB-MIL'), undefined);
  });

  it(
    'curves: one panel per metric, settings in value order, ' +
      'mean ± sd error bars, value-less rows as reference lines',
    () => {
      const { value: c, sent } = capture(() => show.curve(SWEEP));
      assert.equal(c.panels.length, 2);
      const auc = c.panels[0];
      assert.equal(auc.metric, 'auc');
      assert.equal(auc.parameter, 'βh');
      assert.deepEqual(
        auc.points.map((p) => p.x),
        [0, 0.01, 0.4],
      );
      assert.ok(Math.abs(auc.points[1].mean - 0.86) < 1e-9 && Math.abs(auc.points[1].sd! - 0.01414) < 1e-4);
      assert.deepEqual(auc.references, [{ label: 'AB-MIL (published setting)', mean: 0.83 }]);
      assert.deepEqual(c.panels[1].references, [], 'an unmeasured reference cell draws no line');
      assert.equal(sent.length, 1);
      const html = sent[0]['text/html'] as string;
      assertSelfContained(html);
      assert.ok(
        typeof sent[0]['image/png'] === 'string' && html.includes(sent[0]['image/png'] as string),
        'the figure as PNG',
      );
      const svg = c.view.figure!.svg;
      assert.equal((svg.match(/class="milkit-curve-point"/g) ?? []).length, 6, '3 settings × 2 metrics');
      assert.equal((svg.match(/<polyline[^>]*stroke-dasharray/g) ?? []).length, 1, 'one reference line');
      const text = String(sent[0]['text/plain']);
      assert.ok(
        text.includes(
          'auc vs βh: 0 → 0.820 ± 0.028, 0.01 → 0.860 ± 0.014, 0.4 → 0.790 ' +
            '± 0.014 (highest at βh = 0.01; AB-MIL (published setting) 0.830)',
        ),
        text,
      );
    },
  );

  it(
    'curves of a reproduction file draw its published numbers ' +
      'beside ours (MNIST-bags style: AUC vs training bags)',
    () => {
      const file = writeReproduction(
        dir,
        'mnist-bags',
        {
          columns: ['auc'],
          rows: [50, 100, 200].map((n, i) => ({
            label: `${n} training bags`,
            cells: [[0.85 + 0.04 * i, 0.87 + 0.04 * i]],
          })),
        },
        {
          command: 'c',
          protocol: 'p',
          published: {
            source: 'Ilse et al. 2018',
            values: { '50 training bags': { auc: 0.914 }, '200 training bags': { auc: 0.984 } },
          },
        },
      );
      const loaded = capture(() => show.reproduction(file, { command: 'c' })).value;
      const { value: c, sent } = capture(() => show.curve(loaded.file!));
      assert.equal(c.panels[0].parameter, 'training bags');
      assert.deepEqual(
        c.panels[0].points.map((p) => [p.x, p.published]),
        [
          [50, 0.914],
          [100, undefined],
          [200, 0.984],
        ],
      );
      const svg = c.view.figure!.svg;
      assert.equal((svg.match(/class="milkit-curve-published"/g) ?? []).length, 2);
      assert.ok(svg.includes('>published<') && svg.includes('ours, mean ± sd'), 'legend');
      assert.ok(typeof sent[0]['image/png'] === 'string');
      assert.ok(String(sent[0]['text/plain']).includes('50 → 0.860 ± 0.014 (published 0.914)'));
    },
  );

  it(
    'curves with the settings in the columns (the MNIST-bags ' + 'table: rows = models, columns = training-set sizes)',
    () => {
      const file = writeReproduction(
        dir,
        'mnist-columns',
        {
          columns: ['50 bags', '100 bags'],
          rows: [
            {
              label: 'attention',
              cells: [
                [0.8, 0.82],
                [0.9, 0.92],
              ],
            },
            { label: 'gated', cells: [[0.79], null] },
          ],
        },
        {
          command: 'c',
          protocol: 'p',
          published: { source: 'Ilse et al. 2018', values: { attention: { '50 bags': 0.914, '100 bags': 0.963 } } },
        },
      );
      const loaded = capture(() => show.reproduction(file, { command: 'c' })).value;
      const { value: c } = capture(() => show.curve(loaded.file!, { settingsIn: 'columns' }));
      assert.deepEqual(
        c.panels.map((p) => [p.metric, p.parameter]),
        [
          ['attention', 'bags'],
          ['gated', 'bags'],
        ],
      );
      assert.deepEqual(
        c.panels[0].points.map((p) => [p.x, p.mean, p.published]),
        [
          [50, 0.81, 0.914],
          [100, 0.91, 0.963],
        ],
      );
      assert.deepEqual(
        c.panels[1].points.map((p) => p.x),
        [50],
        'an unmeasured cell is left out',
      );
    },
  );

  it('curves reject a table without settings and an unknown metric', () => {
    assert.throws(
      () => show.curve({ columns: ['auc'], rows: [{ label: 'AB-MIL', cells: [[0.9]] }] }),
      /no row label carries a setting value/,
    );
    assert.throws(() => show.curve(SWEEP, { metrics: ['f1'] }), /no column "f1"/);
  });
});
