/**
 * The contract every data-set builder fulfils, so the registry, the CLI (`milkit dataset`) and
 * notebooks treat them alike. A builder declares its options (type, default, help) once; the CLI
 * derives its flags from them (`trainBags` ↔ `--train-bags`).
 */
import * as path from 'node:path';
import { type WriteSummary } from '../writer';

export interface OptionSpec {
  type: 'number' | 'string' | 'boolean';
  default?: number | string | boolean;
  help: string;
}

export interface BuildContext {
  /** Output cohort path (`x.arrow`; the bag table and split file go next to it). */
  out: string;
  /** Progress of long builds (bags written so far out of `total`). */
  onProgress?: (done: number, total: number) => void;
}

export interface BuildResult {
  cohort: WriteSummary;
  /** Split file written next to the cohort (`x.splits.json`), when the data set defines splits. */
  splitsPath?: string;
  /** One-line facts worth printing (e.g. "47 positive / 45 negative bags"). */
  notes: string[];
}

export interface DatasetBuilder<O extends object = Record<string, unknown>> {
  name: string;
  /** One sentence: what it builds and from where. */
  describe: string;
  /**
   * What a user must download first (public source and exact files), or undefined when the data
   * ship with an npm dependency. `milkit dataset list` marks these.
   */
  download?: string;
  options: { [K in keyof O]-?: OptionSpec };
  build(opts: Partial<O> & BuildContext): Promise<BuildResult>;
}

/**
 * Folder of the real data sets: `MILKIT_DATA`, else `../shared/data` next to the milkit checkout
 * (the layout of this project's machines; see test/data-suite/shared-data.ts).
 */
export function dataRoot(): string {
  return path.resolve(process.env.MILKIT_DATA ?? path.join(__dirname, '..', '..', '..', '..', 'shared', 'data'));
}

/** Fills unset options with their declared defaults. */
export function withDefaults<O extends object>(builder: DatasetBuilder<O>, opts: Partial<O>): O {
  const out: Record<string, unknown> = {};
  for (const [k, spec] of Object.entries(builder.options) as [string, OptionSpec][])
    out[k] = (opts as Record<string, unknown>)[k] ?? spec.default;
  return out as O;
}
