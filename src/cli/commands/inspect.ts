import * as fs from 'node:fs';
import { Cohort } from '../../data/cohort';
import { bagTablePath } from '../../data/format';
import { readSplitFile } from '../../data/splitFile';
import { splitFilePath } from '../../data/splits';
import { summarizeBags } from '../../data/summary';
import { type Command, parseArgs } from '../command';
import { describeFlags, type FlagSpec } from '../flags';

const flags: FlagSpec = {
  validate: { type: 'boolean', help: 'load every bag and check it (NaN/Inf, shapes, ids)' },
  splits: { type: 'string', help: 'split file to check (default: x.splits.json next to the cohort, if present)' },
  json: { type: 'boolean', help: 'print one JSON document' },
  quiet: { type: 'boolean', help: 'no progress output' },
};

const mib = (bytes: number) => `${(bytes / 2 ** 20).toFixed(bytes < 2 ** 20 ? 3 : 1)} MiB`;

export const inspect: Command = {
  name: 'inspect',
  summary: 'summarise a cohort: bags, instances per bag, feature width, labels, survival, splits',
  usage: `milkit inspect <cohort.arrow> [--validate] [--json]\n\n${describeFlags(flags)}`,
  async run(argv, ctx) {
    const { flags: f, args } = parseArgs(argv, flags, ['cohort.arrow']);
    const cohort = await Cohort.open(args[0], { cacheBytes: 0 });
    try {
      const summary = summarizeBags(cohort.bags);
      const files = { instances: fs.statSync(cohort.path).size, bagTable: fs.statSync(bagTablePath(cohort.path)).size };
      const splitsFile =
        (f.splits as string | undefined) ??
        (fs.existsSync(splitFilePath(cohort.path)) ? splitFilePath(cohort.path) : undefined);
      let splits: { file: string; repetitions: number; folds: number; validation: boolean } | undefined;
      if (splitsFile) {
        const s = readSplitFile(splitsFile, cohort.bags); // checks range, duplicates, patient leaks
        splits = {
          file: splitsFile,
          repetitions: s.length,
          folds: s[0]?.length ?? 0,
          validation: s.some((r) => r.some((x) => x.val)),
        };
      }
      let validated: { bags: number; positiveInstances?: number } | undefined;
      if (f.validate) {
        const bar = ctx.progress('validate', cohort.size, !f.quiet);
        let positives = 0;
        let done = 0;
        for await (const bag of cohort.iterate()) {
          if (bag.instanceLabels) for (const l of bag.instanceLabels) positives += l > 0 ? 1 : 0;
          bar.update(++done);
        }
        bar.done();
        validated = { bags: done, ...(cohort.hasInstanceLabels ? { positiveInstances: positives } : {}) };
      }
      const result = {
        path: cohort.path,
        ...summary,
        featureDim: cohort.dim,
        coords: cohort.hasCoords,
        instanceLabels: cohort.hasInstanceLabels,
        files,
        metadata: Object.fromEntries(cohort.metadata),
        ...(splits ? { splits } : {}),
        ...(validated ? { validated } : {}),
      };
      if (f.json) {
        ctx.json(result);
        return 0;
      }
      const s = summary.instancesPerBag;
      ctx.print(`cohort     ${cohort.path}`);
      ctx.print(`bags       ${summary.bags} (${summary.patients} patients), ${summary.instances} instances`);
      ctx.print(`per bag    min ${s.min}, median ${s.median}, max ${s.max}, mean ${s.mean.toFixed(1)}`);
      ctx.print(`features   ${cohort.dim} float32`);
      const labels = Object.entries(summary.labels);
      if (labels.length)
        ctx.print(
          `labels     ${labels.map(([l, n]) => `${l}: ${n} (${((100 * n) / summary.bags).toFixed(1)}%)`).join(', ')}`,
        );
      if (summary.survival) {
        const v = summary.survival;
        ctx.print(
          `survival   ${v.events} events, ${v.censored} censored; time ` +
            `min ${v.time.min}, median ${v.time.median}, max ${v.time.max}`,
        );
      }
      ctx.print(
        `instances  coords ${cohort.hasCoords ? 'yes' : 'no'}, ` +
          `instance labels ${cohort.hasInstanceLabels ? 'yes' : 'no'}`,
      );
      if (summary.metaKeys.length) ctx.print(`metadata   ${summary.metaKeys.join(', ')}`);
      ctx.print(`files      ${mib(files.instances)} instances + ${mib(files.bagTable)} bag table`);
      if (splits)
        ctx.print(
          `splits     ${splits.repetitions} × ${splits.folds} ` +
            `folds${splits.validation ? ' with validation' : ''}, no patient leak (${splits.file})`,
        );
      if (validated)
        ctx.print(
          `validated  all ${validated.bags} bags load and pass the checks` +
            (validated.positiveInstances !== undefined ? `; ${validated.positiveInstances} positive instances` : ''),
        );
      return 0;
    } finally {
      await cohort.close();
    }
  },
};
