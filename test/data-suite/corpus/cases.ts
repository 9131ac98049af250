/**
 * The bad-input corpus: files a user could bring (CSVs, labels CSVs, .h5, Arrow, Parquet), each
 * refused by the real CLI with one clear error. A case names the command line and the parts the
 * error must name (file, bag, field); the harness checks the rest (exit code, one line, a fix, no
 * stack trace, no output file left behind).
 */
import * as A from 'apache-arrow';
import * as fs from 'node:fs';
import * as path from 'node:path';
import {
  INSTANCE_FIELDS,
  arrowFile,
  bagCols,
  bagTable,
  fsl,
  goodCohort,
  h5File,
  slide,
  text,
} from '../../helpers/dataFiles';

export interface Case {
  name: string;
  args: string[];
  /** Substrings the error line must contain. */
  names: string[];
  /** Shell commands run before milkit (e.g. a file-size limit). */
  shell?: string;
}

const MUSK = 'bag_id,bag_label,f1,f2\n';

/** Writes every input into `dir` and returns the cases (`F` = the shared foreign fixtures). */
export async function buildCorpus(dir: string, F: string): Promise<Case[]> {
  const p = (...parts: string[]) => path.join(dir, ...parts);
  const out = (name: string) => p('out', `${name}.arrow`);
  const cases: Case[] = [];
  const add = (name: string, args: string[], names: string[], shell?: string) =>
    cases.push({ name, args, names, shell });
  const csvCase = (name: string, content: string | Buffer, names: string[], extra: string[] = []) => {
    const file = text(dir, `csv/${name}.csv`, content);
    add(`csv: ${name}`, ['convert', 'csv', file, '--out', out(name), ...extra], [`${name}.csv`, ...names]);
  };

  // --- instance CSV (convert csv) ---
  csvCase('non-numeric', `${MUSK}a,1,0.5,x\n`, ['bag "a"', 'field "f2"', 'line 2']);
  csvCase('empty-cell', `${MUSK}a,1,0.5,\n`, ['field "f2"', 'empty value']);
  csvCase('infinite', `${MUSK}a,1,0.5,Infinity\n`, ['field "f2"', 'non-finite']);
  csvCase('nan', `${MUSK}a,1,NaN,1\n`, ['field "f1"']);
  csvCase('ragged', `${MUSK}a,1,0.5\n`, ['line 2', 'ragged']);
  csvCase('no-bag-column', 'bag,bag_label,f1\na,1,0.5\n', ['field "bag_id"']);
  csvCase('no-label-column', 'bag_id,f1,f2\na,0.5,1\n', ['field "label"']);
  csvCase('empty-bag-id', `${MUSK},1,0.5,1\n`, ['line 2', 'field "bag_id"']);
  csvCase('missing-label', `${MUSK}a,,0.5,1\n`, ['bag "a"', 'field "bag_label"']);
  csvCase('two-labels', `${MUSK}a,1,0.5,1\na,0,0.5,1\n`, ['bag "a"', 'line 3']);
  csvCase('not-contiguous', `${MUSK}a,1,0.5,1\nb,0,1,1\na,1,2,2\n`, ['bag "a"', 'line 4', 'sort']);
  csvCase('duplicate-column', 'bag_id,bag_label,f1,f1\na,1,0.5,1\n', ['field "f1"', 'duplicate']);
  csvCase('x-without-y', 'bag_id,bag_label,x,f1\na,1,0,1\n', ['field "y"']);
  csvCase('no-features', 'bag_id,bag_label\na,1\n', ['no feature columns']);
  csvCase('empty', '', ['empty file']);
  csvCase('header-only', MUSK, ['no bags']);
  csvCase('latin1', Buffer.concat([Buffer.from(`${MUSK}caf`), Buffer.from([0xe9]), Buffer.from(',1,0.5,1\n')]), [
    'line 2',
    'not valid utf-8',
    '0xE9',
  ]);
  csvCase('utf16', Buffer.from(`\uFEFF${MUSK}a,1,0.5,1\n`, 'utf16le'), ['UTF-16']);
  csvCase('unterminated-quote', `${MUSK}"a,1,0.5,1\n`, ['line 2', 'quoted']);
  csvCase('label-gap', `${MUSK}a,0,1,1\nb,1,1,1\nc,5,1,1\n`, ['bag "c"', 'field "label"', '6-class']);
  csvCase(
    'label-over-classes',
    `${MUSK}a,0,1,1\nb,2,1,1\n`,
    ['bag "b"', 'field "label"', '2 classes'],
    ['--classes', 'neg,pos'],
  );
  csvCase('negative-label', `${MUSK}a,-1,1,1\n`, ['bag "a"', 'field "label"']);
  csvCase('fractional-label', `${MUSK}a,0.5,1,1\n`, ['bag "a"', 'field "label"']);
  csvCase('unknown-encoding', `${MUSK}a,1,1,1\n`, ['field "encoding"'], ['--encoding', 'klingon']);
  csvCase('patient-column-missing', `${MUSK}a,1,1,1\n`, ['field "case"'], ['--patient-column', 'case']);
  csvCase('fractional-coordinate', 'bag_id,bag_label,x,y,f1\na,1,1.5,2,1\n', ['bag "a"', 'field "x/y"']);
  csvCase('fractional-instance-label', 'bag_id,bag_label,instance_label,f1\na,1,0.5,1\n', [
    'bag "a"',
    'field "instance_label"',
  ]);
  csvCase('survival-only-column-typo', 'bag_id,lable,f1\na,1,1\n', ['field "label"']);
  add('csv: input is a folder', ['convert', 'csv', p('csv'), '--out', out('folder')], ['csv', 'is a folder']);
  add('csv: input missing', ['convert', 'csv', p('nope.csv'), '--out', out('nope')], ['nope.csv', 'not found']);
  const good = text(dir, 'csv/good.csv', `${MUSK}a,1,0.5,1\nb,0,1,2\n`);
  fs.mkdirSync(p('out', 'taken.arrow'), { recursive: true });
  add(
    'csv: output is a folder (EISDIR)',
    ['convert', 'csv', good, '--out', p('out', 'taken.arrow')],
    ['taken.arrow', 'EISDIR'],
  );
  const big = text(
    dir,
    'csv/big.csv',
    MUSK + Array.from({ length: 4000 }, (_, i) => `b${i % 40},${i % 2 === 0 ? 0 : 0},${i},${i}`).join('\n'),
  );
  add(
    'csv: file-size limit reached while writing (EFBIG, ulimit -f)',
    ['convert', 'csv', big, '--out', out('efbig')],
    ['efbig.arrow', 'EFBIG'],
    'ulimit -f 16;',
  );

  // --- labels CSV (convert h5) ---
  const slides = p('h5', 'slides');
  await h5File(p('h5', 'slides', 's1.h5'), slide(3, 4));
  await h5File(p('h5', 'slides', 's2.h5'), slide(2, 4));
  const labelsCase = (name: string, content: string | Buffer, names: string[], extra: string[] = []) => {
    const file = text(dir, `labels/${name}.csv`, content);
    add(
      `labels: ${name}`,
      ['convert', 'h5', slides, '--labels', file, '--out', out(`l-${name}`), ...extra],
      [`${name}.csv`, ...names],
    );
  };
  labelsCase('no-slide-column', 'slide,label\ns1,0\n', ['field "slide_id"']);
  labelsCase('no-label-column', 'slide_id,class\ns1,0\n', ['field "label"']);
  labelsCase('duplicate-slide', 'slide_id,label\ns1,0\ns1,1\n', ['bag "s1"', 'twice']);
  labelsCase('ragged', 'slide_id,label\ns1,0,9\n', ['line 2']);
  labelsCase('missing-label', 'slide_id,label\ns1,\n', ['bag "s1"', 'field "label"']);
  labelsCase('latin1', Buffer.concat([Buffer.from('slide_id,label\ns'), Buffer.from([0xe8]), Buffer.from(',1\n')]), [
    'line 2',
    'utf-8',
  ]);
  labelsCase('missing-slide', 'slide_id,label\ns1,0\nghost,1\n', ['bag "ghost"', '--skip-missing']);
  labelsCase('empty', '', ['empty labels file']);
  labelsCase('bad-time', 'slide_id,time,event\ns1,soon,1\n', ['bag "s1"', 'field "time"']);
  labelsCase('time-without-event', 'slide_id,time\ns1,3\n', ['field "event"']);
  labelsCase(
    'unknown-class-name',
    'slide_id,label\ns1,tumor\ns2,normal\n',
    ['bag "s1"', 'tumor'],
    ['--classes', 'normal,benign'],
  );
  labelsCase('patient-column-missing', 'slide_id,label\ns1,0\n', ['field "patient"'], ['--patient-column', 'patient']);
  labelsCase('label-gap', 'slide_id,label\ns1,0\ns2,3\n', ['bag "s2"', '4-class']);
  labelsCase('negative-event', 'slide_id,time,event\ns1,3,2\n', ['bag "s1"', 'field "event"']);
  add(
    'labels: file missing',
    ['convert', 'h5', slides, '--labels', p('nope.csv'), '--out', out('l-nope')],
    ['nope.csv', 'not found'],
  );

  // --- .h5 feature files (convert h5) ---
  const h5Case = async (
    name: string,
    datasets: Parameters<typeof h5File>[1] | string | Buffer,
    names: string[],
    slideIds = ['x'],
  ) => {
    const folder = p('h5', name);
    if (typeof datasets === 'string' || Buffer.isBuffer(datasets)) text(dir, `h5/${name}/x.h5`, datasets);
    else await h5File(path.join(folder, 'x.h5'), datasets);
    const labels = text(dir, `h5/${name}.csv`, `slide_id,label\n${slideIds.map((s) => `${s},0`).join('\n')}\n`);
    add(`h5: ${name}`, ['convert', 'h5', folder, '--labels', labels, '--out', out(`h-${name}`)], names);
  };
  await h5Case('not-hdf5', 'this is text', ['x.h5', 'not an HDF5 file']);
  const real = fs.readFileSync(path.join(F, 'h5', 'clam', 'h5_files', 'slide_001.h5'));
  await h5Case('truncated', real.subarray(0, real.length >> 1), ['x.h5']);
  const corrupt = Buffer.from(real);
  for (let i = 20000; i < 20400; i++) corrupt[i] ^= 0x5a; // inside the gzip-compressed feature chunks
  await h5Case('corrupt-chunk', corrupt, ['x.h5', 'features']);
  const lzf = Buffer.from(fs.readFileSync(path.join(F, 'h5', 'lzf', 'feats', 's0.h5')));
  for (let at = lzf.indexOf('lzf'); at >= 0; at = lzf.indexOf('lzf', at + 1)) lzf.write('xyz', at, 'latin1');
  await h5Case('unknown-filter', lzf, ['x.h5', 'field "features"', 'xyz', 'h5repack']);
  await h5Case('no-features', [{ name: 'feats', data: new Float32Array(4), shape: [2, 2] }], ['x.h5', 'feats']);
  await h5Case(
    'features-1d',
    [{ name: 'features', data: new Float32Array(4), shape: [4] }],
    ['x.h5', 'field "features"'],
  );
  await h5Case(
    'features-int',
    [{ name: 'features', data: new Int32Array(4), shape: [2, 2] }],
    ['x.h5', 'field "features"', 'int32'],
  );
  await h5Case('features-strings', [{ name: 'features', data: ['a', 'b'] }], ['x.h5', 'field "features"']);
  await h5Case(
    'coords-shape',
    [
      { name: 'features', data: new Float32Array(4), shape: [2, 2] },
      { name: 'coords', data: new Int32Array(6), shape: [3, 2] },
    ],
    ['x.h5', 'field "coords"'],
  );
  await h5Case(
    'coords-fractional',
    [
      { name: 'features', data: new Float32Array(4), shape: [2, 2] },
      { name: 'coords', data: new Float64Array([0, 0, 1.5, 2]), shape: [2, 2] },
    ],
    ['x.h5', 'field "coords"', '1.5'],
  );
  await h5Case(
    'coords-beyond-int32',
    [
      { name: 'features', data: new Float32Array(4), shape: [2, 2] },
      { name: 'coords', data: BigInt64Array.from([0n, 0n, 2n ** 40n, 1n]), shape: [2, 2] },
    ],
    ['x.h5', 'field "coords"', 'int32'],
  );
  await h5Case(
    'nan-feature',
    [{ name: 'features', data: new Float32Array([1, NaN, 3, 4]), shape: [2, 2] }],
    ['bag "x"', 'field "features"', 'NaN'],
  );
  await h5Case(
    'zero-rows',
    [{ name: 'features', data: new Float32Array(0), shape: [0, 4] }],
    ['x.h5', 'field "features"'],
  );
  await h5File(p('h5', 'mixed', 'x.h5'), slide(2, 4));
  await h5File(p('h5', 'mixed', 'y.h5'), [{ name: 'features', data: new Float32Array(8), shape: [2, 4] }]);
  add(
    'h5: coords in some files only',
    [
      'convert',
      'h5',
      p('h5', 'mixed'),
      '--labels',
      text(dir, 'h5/mixed.csv', 'slide_id,label\nx,0\ny,1\n'),
      '--out',
      out('h-mixed'),
    ],
    ['y.h5', 'bag "y"', 'field "coords"'],
  );
  await h5File(p('h5', 'widths', 'x.h5'), slide(2, 4));
  await h5File(p('h5', 'widths', 'y.h5'), slide(2, 5));
  add(
    'h5: feature width differs between slides',
    [
      'convert',
      'h5',
      p('h5', 'widths'),
      '--labels',
      text(dir, 'h5/widths.csv', 'slide_id,label\nx,0\ny,1\n'),
      '--out',
      out('h-widths'),
    ],
    ['y.h5', 'bag "y"', 'field "features"'],
  );
  fs.mkdirSync(p('h5', 'empty-folder'), { recursive: true });
  add(
    'h5: folder without .h5 files',
    [
      'convert',
      'h5',
      p('h5', 'empty-folder'),
      '--labels',
      text(dir, 'h5/e.csv', 'slide_id,label\nx,0\n'),
      '--out',
      out('h-e'),
    ],
    ['empty-folder', 'no .h5 files'],
  );
  await h5File(p('h5', 'two-encoders', 'features_uni', 'x.h5'), slide(2, 4));
  await h5File(p('h5', 'two-encoders', 'features_conch', 'x.h5'), slide(2, 4));
  add(
    'h5: folder with several feature folders',
    [
      'convert',
      'h5',
      p('h5', 'two-encoders'),
      '--labels',
      text(dir, 'h5/t.csv', 'slide_id,label\nx,0\n'),
      '--out',
      out('h-t'),
    ],
    ['two-encoders', 'features_conch', 'features_uni'],
  );
  add(
    'h5: foreign TRIDENT labels with missing slides',
    [
      'convert',
      'h5',
      path.join(F, 'h5', 'trident'),
      '--labels',
      path.join(F, 'h5', 'trident', 'labels_mismatch.csv'),
      '--out',
      out('h-mismatch'),
    ],
    ['labels_mismatch.csv', 'TCGA-MISSING-1', '--skip-missing'],
  );

  // --- Arrow cohorts (inspect --validate) ---
  const inspect = (name: string, file: string, names: string[]) =>
    add(`arrow: ${name}`, ['inspect', file, '--validate', '--quiet'], names);
  const cohort = (name: string) => p('arrow', name, 'c.arrow');
  const good2 = await goodCohort(p('arrow', 'good', 'c.arrow'));
  const goodBags = fs.readFileSync(good2.replace('.arrow', '.bags.arrow'));
  const withBags = (name: string) => fs.writeFileSync(cohort(name).replace('.arrow', '.bags.arrow'), goodBags);
  const twoBags = [bagCols('a', 2), bagCols('b', 1)];

  fs.mkdirSync(p('arrow', 'truncated'), { recursive: true });
  fs.writeFileSync(cohort('truncated'), fs.readFileSync(good2).subarray(0, 300));
  withBags('truncated');
  inspect('truncated', cohort('truncated'), ['c.arrow', 'truncated']);
  text(dir, 'arrow/text/c.arrow', 'bag_id,label\n');
  withBags('text');
  inspect('not arrow', cohort('text'), ['c.arrow', 'not an Arrow IPC file']);
  fs.mkdirSync(p('arrow', 'no-bag-table'), { recursive: true });
  fs.copyFileSync(good2, cohort('no-bag-table'));
  inspect('bag table missing', cohort('no-bag-table'), ['c.bags.arrow', 'bag table not found']);
  inspect('cohort missing', p('arrow', 'nothing.arrow'), ['nothing.arrow', 'not found']);
  inspect('path is a folder', p('arrow', 'good'), ['good.arrow']);
  for (const name of ['stream', 'pandas_one_batch', 'pandas_spec_schema_one_batch', 'parquet_named_arrow'])
    inspect(`foreign ${name}`, path.join(F, 'arrow', name, 'cohort.arrow'), [`${name}/cohort.arrow`, 'milkit convert']);
  inspect('foreign parquet', path.join(F, 'arrow', 'parquet', 'cohort.arrow'), [
    'cohort.parquet',
    'milkit convert parquet',
  ]);
  const instance = (name: string, fields = INSTANCE_FIELDS, batches = twoBags, meta: Record<string, string> = {}) => {
    arrowFile(cohort(name), fields, batches, meta);
    withBags(name);
    return cohort(name);
  };
  const typo: [string, A.DataType][] = INSTANCE_FIELDS.map(([n, t]) => [n === 'features' ? 'featurs' : n, t]);
  inspect(
    'typo in a column name',
    instance(
      'typo',
      typo,
      twoBags.map((b) => ({ ...b, featurs: b.features })),
    ),
    ['c.arrow', 'field "featurs"', 'did you mean "features"'],
  );
  inspect('feature_dim contradicts', instance('dim', INSTANCE_FIELDS, twoBags, { 'milkit.feature_dim': '3' }), [
    'c.arrow',
    'field "features"',
  ]);
  inspect('classes not JSON', instance('classes', INSTANCE_FIELDS, twoBags, { 'milkit.classes': 'tumor' }), [
    'c.arrow',
    'field "milkit.classes"',
  ]);
  inspect('label beyond classes', instance('few-classes', INSTANCE_FIELDS, twoBags, { 'milkit.classes': '["only"]' }), [
    'c.bags.arrow',
    'bag "b"',
    'field "label"',
  ]);
  inspect(
    'NaN feature',
    instance('nan', INSTANCE_FIELDS, [
      {
        ...bagCols('a', 2),
        features: [
          [1, NaN],
          [1, 2],
        ],
      },
      bagCols('b', 1),
    ]),
    ['c.arrow', 'bag "a"', 'field "features"', 'NaN'],
  );
  inspect(
    'null feature vector',
    instance('null-vec', INSTANCE_FIELDS, [{ ...bagCols('a', 2), features: [null, [1, 2]] }, bagCols('b', 1)]),
    ['bag "a"', 'field "features"', 'null'],
  );
  inspect(
    'null feature value',
    instance('null-item', INSTANCE_FIELDS, [
      {
        ...bagCols('a', 2),
        features: [
          [null, 1],
          [1, 2],
        ],
      },
      bagCols('b', 1),
    ]),
    ['bag "a"', 'field "features"', 'null'],
  );
  inspect('bags out of order', instance('order', INSTANCE_FIELDS, [bagCols('b', 1), bagCols('a', 2)]), [
    'bag "a"',
    'field "bag_id"',
  ]);
  const int64: [string, A.DataType][] = INSTANCE_FIELDS.map(([n, t]) => [n, n === 'x' ? new A.Int64() : t]);
  inspect(
    'int64 coordinate beyond int32',
    instance('x-big', int64, [
      { ...bagCols('a', 2), x: [0n, 2n ** 40n] },
      { ...bagCols('b', 1), x: [0n] },
    ]),
    ['bag "a"', 'field "x"', 'int32'],
  );
  const floatX: [string, A.DataType][] = INSTANCE_FIELDS.map(([n, t]) => [n, n === 'x' ? new A.Float32() : t]);
  inspect(
    'fractional float coordinate',
    instance('x-frac', floatX, [{ ...bagCols('a', 2), x: [0, 0.5] }, bagCols('b', 1)]),
    ['bag "a"', 'field "x"', '0.5'],
  );
  const noY = INSTANCE_FIELDS.filter(([n]) => n !== 'y');
  inspect('x without y', instance('no-y', noY), ['c.arrow', 'field "y"']);
  const flat: [string, A.DataType][] = [
    ['bag_id', new A.Utf8()],
    ['features', new A.Float32()],
  ];
  inspect(
    'features not a list',
    instance('flat', flat, [
      { bag_id: ['a'], features: [1] },
      { bag_id: ['b'], features: [2] },
    ]),
    ['c.arrow', 'field "features"'],
  );
  const list: [string, A.DataType][] = INSTANCE_FIELDS.map(([n, t]) => [
    n,
    n === 'features' ? new A.List(new A.Field('item', new A.Float32(), true)) : t,
  ]);
  inspect(
    'variable-length features of different lengths',
    instance('ragged-list', list, [
      {
        ...bagCols('a', 2),
        features: [
          [1, 2],
          [1, 2, 3],
        ],
      },
      bagCols('b', 1),
    ]),
    ['bag "a"', 'field "features"', '3 feature values'],
  );
  const badTable = (
    name: string,
    cols: Record<string, unknown[]>,
    names: string[],
    types?: Record<string, A.DataType>,
  ) => {
    arrowFile(cohort(name), INSTANCE_FIELDS, twoBags);
    bagTable(cohort(name).replace('.arrow', '.bags.arrow'), cols, types);
    inspect(name, cohort(name), names);
  };
  badTable('bag table: unknown column', { bag_id: ['a', 'b'], label: [0, 1], site: ['x', 'y'] }, [
    'c.bags.arrow',
    'field "site"',
    'meta_site',
  ]);
  badTable('bag table: duplicate bag id', { bag_id: ['a', 'a'], label: [0, 1] }, [
    'c.bags.arrow',
    'bag "a"',
    'duplicate',
  ]);
  badTable('bag table: no label', { bag_id: ['a', 'b'], patient_id: ['p', 'q'] }, [
    'c.bags.arrow',
    'bag "a"',
    'field "label"',
  ]);
  badTable('bag table: label gap', { bag_id: ['a', 'b'], label: [0, 4] }, ['c.bags.arrow', 'bag "b"', '5-class']);
  badTable('bag table: num_instances wrong', { bag_id: ['a', 'b'], label: [0, 1], num_instances: [5, 1] }, [
    'bag "a"',
    'field "num_instances"',
  ]);
  badTable(
    'bag table: negative survival time',
    { bag_id: ['a', 'b'], time: [-1, 2], event: [1, 0] },
    ['bag "a"', 'field "time"'],
    {
      time: new A.Float64(),
    },
  );
  badTable('bag table: fewer rows than batches', { bag_id: ['a'], label: [0] }, ['c.arrow', '2 record batches']);
  badTable('bag table: no bag_id', { id: ['a', 'b'], label: [0, 1] }, ['c.bags.arrow', 'field "id"']);

  // --- convert arrow / parquet ---
  const convertArrow = (name: string, file: string, names: string[], kind = 'arrow') =>
    add(`convert ${kind}: ${name}`, ['convert', kind, file, '--out', out(`t-${name}`)], names);
  const table = (name: string, fields: [string, A.DataType][], rows: Record<string, unknown[]>) =>
    arrowFile(p('table', `${name}.arrow`), fields, [rows]);
  convertArrow(
    'no bag_id',
    table(
      'no-bag-id',
      [
        ['features', fsl(2)],
        ['label', new A.Int32()],
      ],
      { features: [[1, 2]], label: [0] },
    ),
    ['no-bag-id.arrow', 'field "bag_id"'],
  );
  convertArrow(
    'no labels anywhere',
    table(
      'no-labels',
      [
        ['bag_id', new A.Utf8()],
        ['features', fsl(2)],
      ],
      { bag_id: ['a'], features: [[1, 2]] },
    ),
    ['no-labels.arrow', 'field "label"', '--labels'],
  );
  const labelled: [string, A.DataType][] = [
    ['bag_id', new A.Utf8()],
    ['label', new A.Int32()],
    ['features', new A.List(new A.Field('item', new A.Float32(), true))],
  ];
  convertArrow(
    'a bag with two labels',
    table('two-labels', labelled, {
      bag_id: ['a', 'a'],
      label: [0, 1],
      features: [
        [1, 2],
        [3, 4],
      ],
    }),
    ['two-labels.arrow', 'bag "a"', 'field "label"'],
  );
  convertArrow(
    'feature lists of different lengths',
    table('ragged', labelled, { bag_id: ['a', 'b'], label: [0, 1], features: [[1, 2], [3]] }),
    ['ragged.arrow', 'field "features"'],
  );
  convertArrow(
    'null bag id',
    table('null-id', labelled, {
      bag_id: ['a', null],
      label: [0, 1],
      features: [
        [1, 2],
        [3, 4],
      ],
    }),
    ['null-id.arrow', 'field "bag_id"'],
  );
  const tbl = table(
    'unmatched',
    [
      ['bag_id', new A.Utf8()],
      ['features', fsl(2)],
    ],
    {
      bag_id: ['a', 'b'],
      features: [
        [1, 2],
        [3, 4],
      ],
    },
  );
  bagTable(p('table', 'unmatched.bags.arrow'), { bag_id: ['a'], label: [1] });
  convertArrow('bag missing from the bag table', tbl, ['unmatched.bags.arrow', 'bag "b"']);
  convertArrow('parquet file given to convert arrow', path.join(F, 'arrow', 'parquet', 'cohort.parquet'), [
    'cohort.parquet',
    'milkit convert parquet',
  ]);
  convertArrow(
    'arrow file given to convert parquet',
    path.join(F, 'arrow', 'spec', 'cohort.arrow'),
    ['spec/cohort.arrow', 'milkit convert arrow'],
    'parquet',
  );
  text(dir, 'table/junk.parquet', 'PAR1 not really parquet PAR1');
  convertArrow('broken parquet', p('table', 'junk.parquet'), ['junk.parquet', 'Parquet'], 'parquet');
  text(dir, 'table/junk.arrow', 'not arrow');
  convertArrow('not arrow', p('table', 'junk.arrow'), ['junk.arrow']);

  // --- data-set builders (dataset) ---
  const musk = path.join(F, '..', 'musk1');
  const source = (name: string, folds: string | Buffer, csv?: string | Buffer) => {
    text(dir, `musk/${name}/musk1.folds.json`, folds);
    if (csv === undefined) fs.copyFileSync(path.join(musk, 'musk1.csv'), p('musk', name, 'musk1.csv'));
    else text(dir, `musk/${name}/musk1.csv`, csv);
    return p('musk', name);
  };
  const dataset = (name: string, src: string, names: string[]) =>
    add(`dataset: ${name}`, ['dataset', 'musk1', '--source', src, '--out', out(`d-${name}`), '--quiet'], names);
  dataset('fold file not JSON', source('not-json', '{"folds": [[1, 0,'), ['musk1.folds.json', 'not valid JSON']);
  dataset('fold file missing', p('csv'), ['musk1.csv', '--source']);
  dataset('CSV with a bad value', source('bad-csv', '{}', `${MUSK}a,1,0.5,oops\n`), [
    'musk1.csv',
    'bag "a"',
    'field "f2"',
  ]);
  return cases;
}

/**
 * Disk-full cases: a 64 KiB tmpfs mounted at `full` (root only). Returns no cases when it cannot be
 * mounted; the file-size-limit case (EFBIG) then still covers the write-error path.
 */
export function diskFullCases(dir: string, F: string, full: string): Case[] {
  const musk = path.join(F, '..', 'musk1');
  return [
    {
      name: 'disk full (ENOSPC, 64 KiB tmpfs): convert csv',
      args: ['convert', 'csv', path.join(musk, 'musk1.csv'), '--out', path.join(full, 'c.arrow'), '--quiet'],
      names: ['c.arrow', 'ENOSPC', 'disk is full'],
    },
    {
      name: 'disk full (ENOSPC, 64 KiB tmpfs): dataset musk1',
      args: ['dataset', 'musk1', '--source', musk, '--out', path.join(full, 'd.arrow'), '--quiet'],
      names: ['d.arrow', 'ENOSPC', 'disk is full'],
    },
  ];
}
