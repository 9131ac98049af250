import { convertCsv } from '../../data/convert/csv';
import { convertH5 } from '../../data/convert/h5';
import { convertTable } from '../../data/convert/table';
import { type Command, UsageError, parseArgs, requireFlag } from '../command';
import { describeFlags, type FlagSpec } from '../flags';

const flags: FlagSpec = {
  out: { type: 'string', alias: 'o', help: 'output cohort path (x.arrow; x.bags.arrow is written next to it)' },
  labels: {
    type: 'string',
    help: 'h5 (required), arrow, parquet: labels CSV slide_id,label[,patient_id|case_id][,time,event]',
  },
  'patient-column': {
    type: 'string',
    help: 'patient column, so splits keep a patient together (default patient_id, else case_id)',
  },
  'label-column': { type: 'string', help: 'bag label column (default label; csv: bag_label or label)' },
  'bag-column': { type: 'string', help: 'csv: bag id column (default bag_id)' },
  classes: { type: 'string', help: 'class names in label order, comma-separated (recorded as milkit.classes)' },
  encoding: { type: 'string', help: 'text encoding of the CSV files (default utf-8; e.g. latin1)' },
  'skip-missing': { type: 'boolean', help: 'h5: leave out slides of the labels CSV that have no .h5 file' },
  'bag-table': {
    type: 'string',
    help: 'arrow, parquet: bag table (default NAME.bags.arrow/.parquet next to the input)',
  },
  json: { type: 'boolean', help: 'print the summary as JSON' },
  quiet: { type: 'boolean', help: 'no progress output' },
};

export const convert: Command = {
  name: 'convert',
  summary: 'convert an instance CSV, CLAM/TRIDENT .h5 files, or any Arrow/Parquet instance table to a cohort',
  usage: [
    'milkit convert csv <instances.csv> --out <cohort.arrow> [options]',
    'milkit convert h5 <folder of slide .h5> --labels <labels.csv> --out <cohort.arrow>',
    'milkit convert arrow <table.arrow> --out <cohort.arrow> [--labels <labels.csv>]',
    'milkit convert parquet <table.parquet> --out <cohort.arrow> [--labels <labels.csv>]',
    '',
    'arrow/parquet: any table with a bag_id column (pandas, pyarrow; file or stream, any compression,',
    'rows in any order) is regrouped into one record batch per bag.',
    '',
    describeFlags(flags),
  ].join('\n'),
  async run(argv, ctx) {
    const { flags: f, args } = parseArgs(argv, flags, ['csv|h5|arrow|parquet', 'input']);
    const [kind, input] = args;
    const out = requireFlag(f, 'out');
    const str = (k: string) => f[k] as string | undefined;
    const classes = str('classes')
      ?.split(',')
      .map((c) => c.trim());
    if (classes && classes.some((c) => c === ''))
      throw new UsageError(`--classes needs comma-separated names, got "${str('classes')}"`);
    const common = {
      patientColumn: str('patient-column'),
      labelColumn: str('label-column'),
      encoding: str('encoding'),
      classes,
      onNotice: (text: string) => ctx.warn(`note: ${text}`),
    };
    let bar: ReturnType<typeof ctx.progress> | undefined;
    const onBag = (n: number, total = 0) => {
      if (f.quiet) return;
      bar ??= ctx.progress('convert', total);
      bar.update(n);
    };
    let summary;
    if (kind === 'csv') {
      summary = await convertCsv(input, out, { ...common, bagColumn: str('bag-column'), onBag });
    } else if (kind === 'h5') {
      summary = await convertH5(input, out, {
        ...common,
        labels: requireFlag(f, 'labels'),
        skipMissing: Boolean(f['skip-missing']),
        onBag,
      });
    } else if (kind === 'arrow' || kind === 'parquet') {
      summary = await convertTable(input, out, kind, {
        ...common,
        labels: str('labels'),
        bagTable: str('bag-table'),
        onBag,
      });
    } else {
      throw new UsageError(`unknown input kind "${kind}": expected csv, h5, arrow or parquet`);
    }
    bar?.done();
    if (f.json) ctx.json(summary);
    else
      ctx.print(
        `wrote ${summary.bags} bags, ${summary.instances} instances, ${summary.dim} ` +
          `features → ${summary.instancePath} (+ ${summary.bagPath})`,
      );
    return 0;
  },
};
