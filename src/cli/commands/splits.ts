import { Cohort } from '../../data/cohort';
import { writeSplitFile } from '../../data/splitFile';
import { type Split, repeatedKFold, splitFilePath } from '../../data/splits';
import { type Command, parseArgs } from '../command';
import { describeFlags, type FlagSpec } from '../flags';

const flags: FlagSpec = {
  folds: { type: 'number', integer: true, min: 2, default: 5, help: 'k of the stratified patient-level k-fold' },
  repeats: { type: 'number', integer: true, min: 1, default: 1, help: 'repetitions, each with its own shuffle' },
  val: {
    type: 'number',
    min: 0,
    below: 1,
    default: 0,
    help: 'fraction of training patients moved to validation (0 = none)',
  },
  seed: { type: 'number', integer: true, min: 0, default: 0, help: 'seed of the shuffle' },
  out: { type: 'string', alias: 'o', help: 'split file to write (default: x.splits.json next to the cohort)' },
  json: { type: 'boolean', help: 'print the summary as JSON' },
};

export const splits: Command = {
  name: 'splits',
  summary: 'write a patient-level stratified (repeated) k-fold split file for a cohort',
  usage:
    `milkit splits <cohort.arrow> [--folds 5] [--repeats 1] ` +
    `[--val 0.2] [--seed 0] [--out FILE]\n\n${describeFlags(flags)}`,
  async run(argv, ctx) {
    const { flags: f, args } = parseArgs(argv, flags, ['cohort.arrow']);
    const cohort = await Cohort.open(args[0], { cacheBytes: 0 });
    try {
      const [k, repeats, val, seed] = [f.folds, f.repeats, f.val, f.seed] as number[];
      const result: Split[][] = repeatedKFold(cohort.bags, { k, repeats, seed, valFraction: val });
      const out = (f.out as string | undefined) ?? splitFilePath(cohort.path);
      writeSplitFile(
        out,
        result,
        cohort.bags.map((b) => b.id),
        `stratified patient-level ${repeats} × ${k}-fold, validation ${val}, seed ${seed}`,
      );
      const positives = (idx: number[]) =>
        idx.filter((i) => (cohort.bags[i].label ?? cohort.bags[i].event ?? 0) > 0).length;
      const folds = result[0].map((s) => ({
        train: s.train.length,
        val: s.val?.length ?? 0,
        test: s.test.length,
        testPositive: positives(s.test),
      }));
      if (f.json) {
        ctx.json({ file: out, repetitions: repeats, folds: k, firstRepetition: folds });
        return 0;
      }
      ctx.print(`wrote ${repeats} × ${k} folds → ${out}`);
      folds.forEach((s, i) =>
        ctx.print(
          `  fold ${i + 1}: train ${s.train}${s.val ? `, val ${s.val}` : ''}, ` +
            `test ${s.test} (${s.testPositive} positive)`,
        ),
      );
      return 0;
    } finally {
      await cohort.close();
    }
  },
};
