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
}

export type FlagSpec = Record<string, FlagDef>;
export type FlagValues = Record<string, string | number | boolean | undefined>;

/** A mistake in how the command was called (exit code 2, usage printed). */
export class UsageError extends Error {
  override name = 'UsageError';
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
      throw new UsageError(`unknown option ${arg}${hint ? ` (did you mean --${hint}?)` : ''}`);
    }
    if (def.type === 'boolean') {
      if (inline !== undefined && !['true', 'false', '1', '0'].includes(inline))
        throw new UsageError(`--${name} takes no value or true/false, got "${inline}"`);
      flags[name] = inline === undefined || inline === 'true' || inline === '1';
      continue;
    }
    const value = inline ?? argv[++i];
    if (value === undefined) throw new UsageError(`--${name} needs a value`);
    if (def.type === 'number') {
      const n = Number(value);
      if (value.trim() === '' || !Number.isFinite(n))
        throw new UsageError(`--${name} must be a number, got "${value}"`);
      flags[name] = n;
    } else {
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
