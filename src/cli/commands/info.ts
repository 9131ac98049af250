import * as os from 'node:os';
import { type Command, parseArgs } from '../command';
import { milkitVersion } from '../../version';

const flags = { json: { type: 'boolean', help: 'print one JSON document' } } as const;

export const info: Command = {
  name: 'info',
  summary: 'version, active compute backend and threads, skipped backends, Node version',
  usage: 'milkit info [--json]\n\nSelects the backend exactly as training would (MILKIT_BACKEND forces one).',
  async run(argv, ctx) {
    const { flags: f } = parseArgs(argv, flags, []);
    // Loaded here, not at start-up: tfjs takes ~1 s to load and other commands do not need it.
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- lazy: tfjs loads only when this command runs
    const { useBackend, describeBackend, gpuReport } = require('../../backend') as typeof import('../../backend');
    const backend = await useBackend();
    const result = {
      milkit: milkitVersion(),
      node: process.version,
      platform: `${process.platform} ${process.arch}`,
      cpus: os.cpus().length,
      tfjs: backend.tfjsVersion,
      backend: backend.name,
      threads: backend.threads,
      simd: backend.simd ?? null,
      blas: backend.blas ?? null,
      describe: describeBackend(backend),
      skipped: backend.skipped,
      gpu: gpuReport(),
    };
    if (f.json) {
      ctx.json(result);
      return 0;
    }
    ctx.print(`milkit   ${result.milkit}`);
    ctx.print(`node     ${result.node} (${result.platform}, ${result.cpus} CPUs)`);
    ctx.print(`tfjs     ${result.tfjs}`);
    ctx.print(`backend  ${result.describe}`);
    for (const s of result.skipped) ctx.print(`skipped  ${s.name}: ${s.reason}`);
    return 0;
  },
};
