import * as path from 'node:path';
import { writeRunReport } from '../../report';
import { type Command, parseArgs } from '../command';
import { describeFlags, type FlagSpec } from '../flags';

const flags: FlagSpec = {
  out: { type: 'string', alias: 'o', help: 'the HTML file to write (default RUN_DIR/report.html)' },
  heatmaps: { type: 'number', default: 4, help: 'attention heatmaps of this many top test bags (0: none)' },
};

export const report: Command = {
  name: 'report',
  summary: 'one self-contained HTML report of a training run (metrics with CIs, curves, ROC, confusion, heatmaps)',
  usage: `milkit report RUN_DIR [--out report.html] [--heatmaps 4]\n\n${describeFlags(flags)}`,
  async run(argv, ctx) {
    const { flags: f, args } = parseArgs(argv, flags, ['RUN_DIR']);
    const out = (f.out as string | undefined) ?? path.join(args[0], 'report.html');
    const data = await writeRunReport(args[0], out, { heatmaps: f.heatmaps as number });
    ctx.print(`report: ${path.resolve(out)}${data.heatmapNote ? ` (no heatmaps: ${data.heatmapNote})` : ''}`);
    return 0;
  },
};
