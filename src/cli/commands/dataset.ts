import { closest } from '../../didYouMean';
import { DATASETS, datasetBuilder } from '../../data/datasets';
import { type Command, UsageError, requireFlag } from '../command';
import { describeFlags, type FlagSpec, kebab, parseFlags } from '../flags';

const common: FlagSpec = {
  out: {
    type: 'string',
    alias: 'o',
    help: 'output cohort path (x.arrow; x.bags.arrow and x.splits.json go next to it)',
  },
  json: { type: 'boolean', help: 'print the result as JSON' },
  quiet: { type: 'boolean', help: 'no progress output' },
};

/** Flags of one builder: its declared options in kebab-case, plus the common ones. */
function builderFlags(name: string): { spec: FlagSpec; keys: Map<string, string> } {
  const b = datasetBuilder(name);
  const spec: FlagSpec = { ...common };
  const keys = new Map<string, string>();
  for (const [k, o] of Object.entries(b.options)) {
    spec[kebab(k)] = { type: o.type, help: o.help, default: o.default };
    keys.set(kebab(k), k);
  }
  return { spec, keys };
}

function list(): string {
  const w = Math.max(...Object.keys(DATASETS).map((n) => n.length)) + 2;
  return Object.values(DATASETS)
    .map(
      (b) =>
        `  ${b.name.padEnd(w)}${b.describe}\n  ${''.padEnd(w)}` +
        `${b.download ? `needs a download: ${b.download}` : 'no download: built from an npm dependency'}`,
    )
    .join('\n');
}

export const dataset: Command = {
  name: 'dataset',
  summary: 'build a data set as a cohort (musk1, mnist-bags, ...); `milkit dataset list`',
  usage:
    `milkit dataset <name> --out <cohort.arrow> [options]\nmilkit ` +
    `dataset <name> --help    options of one data set\n\n${list()}`,
  async run(argv, ctx) {
    const [name, ...rest] = argv;
    if (name === '--help' || name === '-h') {
      ctx.print(this.usage);
      return 0;
    }
    if (!name || name === 'list') {
      if (rest.includes('--json'))
        ctx.json(
          Object.values(DATASETS).map((b) => ({
            name: b.name,
            describe: b.describe,
            download: b.download ?? null,
            options: b.options,
          })),
        );
      else ctx.print(list());
      return 0;
    }
    if (!DATASETS[name]) {
      const hint = closest(name, Object.keys(DATASETS));
      throw new UsageError(
        `unknown data set "${name}"`,
        `${hint ? `did you mean "${hint}"? ` : ''}known: ${Object.keys(DATASETS).join(', ')}`,
      );
    }
    const { spec, keys } = builderFlags(name);
    if (rest.includes('--help') || rest.includes('-h')) {
      ctx.print(
        `milkit dataset ${name} --out <cohort.arrow> ` +
          `[options]\n${datasetBuilder(name).describe}\n\n${describeFlags(spec)}`,
      );
      return 0;
    }
    const { flags, positional } = parseFlags(rest, spec);
    if (positional.length) throw new UsageError(`unexpected argument "${positional[0]}"`);
    const out = requireFlag(flags, 'out');
    const opts: Record<string, unknown> = {};
    for (const [flag, key] of keys) if (flags[flag] !== undefined) opts[key] = flags[flag];
    let bar: ReturnType<typeof ctx.progress> | undefined;
    const result = await datasetBuilder(name).build({
      ...opts,
      out,
      onProgress: (done, total) => {
        if (flags.quiet) return;
        bar ??= ctx.progress(name, total);
        bar.update(done);
      },
    });
    bar?.done();
    if (flags.json) {
      ctx.json({ dataset: name, ...result });
      return 0;
    }
    const c = result.cohort;
    ctx.print(`wrote ${c.bags} bags, ${c.instances} instances, ${c.dim} features → ${c.instancePath}`);
    if (result.splitsPath) ctx.print(`splits → ${result.splitsPath}`);
    for (const n of result.notes) ctx.print(`  ${n}`);
    return 0;
  },
};
