import { convertCsv } from '../../data/convert/csv';
import { convertH5 } from '../../data/convert/h5';
import { type Command, UsageError, parseArgs, requireFlag } from '../command';
import { describeFlags, type FlagSpec } from '../flags';

const flags: FlagSpec = {
  out: { type: 'string', alias: 'o', help: 'output cohort path (x.arrow; x.bags.arrow is written next to it)' },
  labels: { type: 'string', help: 'h5: labels CSV slide_id,label[,patient_id][,time,event]' },
  'bag-column': { type: 'string', help: 'csv: bag id column (default bag_id)' },
  'label-column': { type: 'string', help: 'csv: bag label column (default bag_label or label)' },
  'patient-column': { type: 'string', help: 'csv: patient column (default patient_id when present)' },
  json: { type: 'boolean', help: 'print the summary as JSON' },
  quiet: { type: 'boolean', help: 'no progress output' },
};

export const convert: Command = {
  name: 'convert',
  summary: 'convert an instance CSV (MUSK style) or CLAM/TRIDENT .h5 files to a cohort',
  usage: [
    'milkit convert csv <instances.csv> --out <cohort.arrow> [options]',
    'milkit convert h5 <folder of slide .h5> --labels <labels.csv> --out <cohort.arrow>',
    '',
    describeFlags(flags),
  ].join('\n'),
  async run(argv, ctx) {
    const { flags: f, args } = parseArgs(argv, flags, ['csv|h5', 'input']);
    const [kind, input] = args;
    const out = requireFlag(f, 'out');
    const str = (k: string) => f[k] as string | undefined;
    let summary;
    if (kind === 'csv') {
      const bar = f.quiet ? undefined : ctx.progress('convert (bags)', 0);
      summary = await convertCsv(input, out, {
        bagColumn: str('bag-column'),
        labelColumn: str('label-column'),
        patientColumn: str('patient-column'),
        onBag: (n) => bar?.update(n),
      });
      bar?.done();
    } else if (kind === 'h5') {
      const bar = { current: undefined as ReturnType<typeof ctx.progress> | undefined };
      summary = await convertH5(input, out, {
        labels: requireFlag(f, 'labels'),
        onBag: (n, total) => {
          if (f.quiet) return;
          bar.current ??= ctx.progress('convert', total);
          bar.current.update(n);
        },
      });
      bar.current?.done();
    } else {
      throw new UsageError(`unknown input kind "${kind}": expected csv or h5`);
    }
    if (f.json) ctx.json(summary);
    else
      ctx.print(
        `wrote ${summary.bags} bags, ${summary.instances} instances, ${summary.dim} features → ${summary.instancePath} (+ ${summary.bagPath})`,
      );
    return 0;
  },
};
