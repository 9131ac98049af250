/**
 * A tiny flag parser: `--name value`, `--name=value`, boolean `--flag` / `--no-flag`, `--` ends
 * flags. Flags are declared with a type, so values arrive typed and typos get a "did you mean".
 */
import { closest } from '../didYouMean';

export interface FlagDef {
  type: 'string' | 'number' | 'boolean';
  help: string;
  default?: string | number | boolean;
  /** One-letter alias, e.g. `o` for `-o`. */
  alias?: string;
  /** Numbers: a whole number. */
  integer?: boolean;
  /** Numbers: the smallest value allowed, and whether it is excluded (`> min` instead of `≥ min`). */
  min?: number;
  exclusiveMin?: boolean;
  /** Numbers: the largest value allowed (excluded). */
  below?: number;
  /** Strings: the values allowed. */
  choices?: readonly string[];
}

export type FlagSpec = Record<string, FlagDef>;
export type FlagValues = Record<string, string | number | boolean | undefined>;

/** A mistake in how the command was called (exit code 2); `fix` says what to type instead. */
export class UsageError extends Error {
  override name = 'UsageError';
  constructor(
    message: string,
    readonly fix?: string,
  ) {
    super(message);
  }
}

/** Why a value is outside its flag's range, or undefined when it is fine. */
function rangeProblem(d: FlagDef, n: number): string | undefined {
  if (d.integer && !Number.isInteger(n)) return 'a whole number';
  if (d.min !== undefined && (d.exclusiveMin ? !(n > d.min) : !(n >= d.min)))
    return d.exclusiveMin ? `greater than ${d.min}` : `at least ${d.min}`;
  if (d.below !== undefined && !(n < d.below)) return `below ${d.below}`;
  return undefined;
}

/** What a number flag accepts, in words ("a whole number ≥ 1"). */
function accepted(d: FlagDef): string {
  const parts = [d.integer ? 'a whole number' : 'a number'];
  if (d.min !== undefined) parts.push(`${d.exclusiveMin ? '>' : '≥'} ${d.min}`);
  if (d.below !== undefined) parts.push(`${d.min !== undefined ? 'and ' : ''}< ${d.below}`);
  return parts.join(' ');
}

export function parseFlags(argv: readonly string[], spec: FlagSpec): { flags: FlagValues; positional: string[] } {
  const flags: FlagValues = {};
  for (const [k, d] of Object.entries(spec)) if (d.default !== undefined) flags[k] = d.default;
  const positional: string[] = [];
  const aliases = new Map(
    Object.entries(spec)
      .filter(([, d]) => d.alias)
      .map(([k, d]) => [d.alias!, k]),
  );
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--') {
      positional.push(...argv.slice(i + 1));
      break;
    }
    if (!arg.startsWith('-') || arg === '-' || /^-\d/.test(arg)) {
      positional.push(arg);
      continue;
    }
    const eq = arg.indexOf('=');
    let name = arg.startsWith('--')
      ? arg.slice(2, eq > 0 ? eq : undefined)
      : (aliases.get(arg.slice(1, eq > 0 ? eq : undefined)) ?? arg.slice(1));
    let inline: string | undefined = eq > 0 ? arg.slice(eq + 1) : undefined;
    let def = spec[name];
    if (!def && name.startsWith('no-') && spec[name.slice(3)]?.type === 'boolean') {
      name = name.slice(3);
      def = spec[name];
      inline = 'false';
    }
    if (!def) {
      const hint = closest(name, Object.keys(spec));
      throw new UsageError(`unknown option ${arg}`, hint ? `did you mean --${hint}?` : undefined);
    }
    if (def.type === 'boolean') {
      if (inline !== undefined && !['true', 'false', '1', '0'].includes(inline))
        throw new UsageError(
          `--${name} takes no value or true/false, got "${inline}"`,
          `write --${name} or --no-${name}`,
        );
      flags[name] = inline === undefined || inline === 'true' || inline === '1';
      continue;
    }
    const value = inline ?? argv[++i];
    if (value === undefined) throw new UsageError(`--${name} needs a value`, `write --${name} <${def.type}>`);
    if (def.type === 'number') {
      const n = Number(value);
      const problem = value.trim() === '' || !Number.isFinite(n) ? 'a number' : rangeProblem(def, n);
      if (problem)
        throw new UsageError(`--${name} must be ${problem}, got "${value}"`, `give --${name} ${accepted(def)}`);
      flags[name] = n;
    } else {
      if (def.choices && !def.choices.includes(value)) {
        const hint = closest(value, [...def.choices]);
        throw new UsageError(
          `--${name} must be one of ${def.choices.join(', ')}, got "${value}"`,
          hint ? `did you mean --${name} ${hint}?` : `write one of ${def.choices.join(', ')}`,
        );
      }
      flags[name] = value;
    }
  }
  return { flags, positional };
}

/** Option lines for usage text. */
export function describeFlags(spec: FlagSpec): string {
  const rows = Object.entries(spec).map(([k, d]) => {
    const left = `  ${d.alias ? `-${d.alias}, ` : ''}--${k}${d.type === 'boolean' ? '' : ` <${d.type}>`}`;
    return [
      left,
      `${d.help}${d.default !== undefined && d.default !== '' && d.default !== false ? ` (default ${d.default})` : ''}`,
    ];
  });
  const w = Math.max(0, ...rows.map(([l]) => l.length)) + 2;
  return rows.map(([l, r]) => l.padEnd(w) + r).join('\n');
}

/** `trainBags` → `train-bags`. */
export function kebab(name: string): string {
  return name.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
}
