/** The shape of a CLI command, and the small context every command prints through. */
import { type FlagSpec, type FlagValues, UsageError, parseFlags } from './flags';
import { Progress } from './progress';

export interface CliContext {
  /** A line of normal output (stdout). Commands in --json mode print only `json(...)`. */
  print(text: string): void;
  /** The machine-readable result (one JSON document on stdout). */
  json(value: unknown): void;
  /** Warnings and notes (stderr). */
  warn(text: string): void;
  /** A progress bar on stderr (TTY: redrawn in place; otherwise an occasional plain line);
   * `status` is appended to each running line. */
  progress(label: string, total: number, enabled?: boolean, status?: () => string): Progress;
}

export interface Command {
  name: string;
  /** One line for `milkit help`. */
  summary: string;
  /** Usage text for `milkit <name> --help`. */
  usage: string;
  run(argv: string[], ctx: CliContext): Promise<number>;
}

export { UsageError };

/** Parses flags and requires exactly `count` positional arguments (named in the error). */
export function parseArgs(
  argv: string[],
  spec: FlagSpec,
  positionals: string[],
): { flags: FlagValues; args: string[] } {
  const { flags, positional } = parseFlags(argv, spec);
  if (positional.length < positionals.length)
    throw new UsageError(
      `missing ${positionals
        .slice(positional.length)
        .map((p) => `<${p}>`)
        .join(' ')}`,
    );
  if (positional.length > positionals.length)
    throw new UsageError(`unexpected argument "${positional[positionals.length]}"`);
  return { flags, args: positional };
}

/** A required string flag. */
export function requireFlag(flags: FlagValues, name: string): string {
  const v = flags[name];
  if (typeof v !== 'string' || v === '') throw new UsageError(`--${name} is required`);
  return v;
}
