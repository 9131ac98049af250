/**
 * The one shape of every experiment runner (experiments/*.ts): settings → run → assemble.
 *
 * - settings: the flags every runner shares (`--out`, `--results`, `--only`, `--tables-only`,
 *   `--jobs`) plus the protocol's own documented settings, parsed once here (`--help` lists them);
 * - run: a list of jobs, each resumable and identified by the table row or cell it measures; finished
 *   jobs are skipped, an interrupted one continues from its checkpoints, `--only` picks jobs (and
 *   pulls in the unfinished jobs they need), `--jobs N` runs N at a time in child processes;
 * - assemble: the runner reads the finished units from `--out` and writes its tables through
 *   `mergeRows` + `writeTable`: a cell this run folder has not measured keeps its value from the
 *   table already written (never mixed with cells measured under other settings), and
 *   `--tables-only` rewrites the Markdown of each table from its JSON without computing anything.
 *
 * Tables are milkit reproduction files (`<results>/<name>.json` + `.md`), which milkit-kernel's
 * `show.reproduction` displays in notebooks.
 */
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import {
  type ReproductionFile,
  type ReproductionMeta,
  type ResultsInput,
  readReproduction,
  reproductionMarkdown,
  writeReproduction,
} from 'milkit';

// ---------------------------------------------------------------------------------------------
// Settings.

export interface Setting {
  type: 'string' | 'number' | 'boolean';
  default?: string | number | boolean;
  help: string;
}
export type Settings = Record<string, Setting>;
type ValueOf<T extends Setting> = T['type'] extends 'number' ? number : T['type'] extends 'boolean' ? boolean : string;
/** Parsed settings: a string or number setting without a default is undefined when not given. */
export type Values<S extends Settings> = {
  [K in keyof S]: S[K] extends { default: string | number | boolean } | { type: 'boolean' }
    ? ValueOf<S[K]>
    : ValueOf<S[K]> | undefined;
};

/** Flags every runner has; `--job` runs one job (a child process of `--jobs`). */
const COMMON = {
  out: { type: 'string', help: 'work folder: runs, checkpoints, finished units (resumed when run again)' },
  results: { type: 'string', default: 'results', help: 'where the tables go' },
  only: {
    type: 'string',
    help:
      'run only these jobs: comma-separated ids or id prefixes, * matches any text (the tables keep ' +
      'every other cell)',
  },
  'tables-only': { type: 'boolean', help: 'rewrite the Markdown tables from their JSON; computes nothing' },
  jobs: { type: 'number', default: 1, help: 'jobs at once, each in its own process' },
  job: { type: 'string', help: '(internal) run this one job' },
} as const satisfies Settings;

export interface Experiment<S extends Settings> {
  /** `npm run reproduce:<name>` runs it. */
  name: string;
  /** One line for `--help`. */
  title: string;
  /** Default `--out`. */
  out: string;
  settings: S;
  /** The tables this invocation writes (what `--tables-only` rewrites). */
  tables(ctx: Context<S>): string[];
  /** Every job of the protocol (the runner skips none itself: finished ones report `done()`). */
  jobs(ctx: Context<S>): Job[] | Promise<Job[]>;
  /** Reads the finished units from `ctx.out` and writes the tables; returns the JSON files written. */
  assemble(ctx: Context<S>): string[] | Promise<string[]>;
}

export interface Job {
  /** The row or cell it measures, e.g. `colon/baseline` or `attention/50/r1`: what `--only` selects. */
  id: string;
  /** Ids of jobs that must have finished first (they run first, even when `--only` leaves them out). */
  needs?: string[];
  done(): boolean;
  run(): Promise<void>;
}

export interface Context<S extends Settings> {
  settings: Values<S>;
  /** Settings given on the command line (the others hold their defaults). */
  given: Set<keyof S>;
  out: string;
  results: string;
  /** The one-line command that regenerates the tables: the npm script and every non-default setting. */
  command: string;
  /** Aborted on Ctrl-C: pass it to the trainer, which checkpoints and stops. */
  signal: AbortSignal;
  log(line: string): void;
}

export const log = (line: string): void => console.log(`[${new Date().toISOString().slice(11, 19)}] ${line}`);

/** One line per flag: name, help and default. */
export function describeSettings(settings: Settings): string {
  return Object.entries(settings)
    .filter(([, s]) => !s.help.startsWith('(internal)'))
    .map(
      ([k, s]) =>
        `  --${k.padEnd(18)} ${s.help}${s.default !== undefined && s.default !== '' ? ` (default ${s.default})` : ''}`,
    )
    .join('\n');
}

/**
 * Parses `argv` against `settings` (unknown flags and malformed numbers are errors naming the flag);
 * also returns which settings were given. Used by the runners and by the benchmarks.
 */
export function parseSettings<S extends Settings>(
  settings: S,
  argv: string[],
  usage = describeSettings(settings),
): { values: Values<S>; given: Set<keyof S>; help: boolean } {
  const options: Record<string, { type: 'string' | 'boolean' }> = { help: { type: 'boolean' } };
  for (const [k, s] of Object.entries(settings)) options[k] = { type: s.type === 'boolean' ? 'boolean' : 'string' };
  let parsed: Record<string, string | boolean | undefined>;
  try {
    ({ values: parsed } = parseArgs({ args: argv, options, strict: true, allowPositionals: false }));
  } catch (err) {
    throw new Error(`${(err as Error).message}\n\n${usage}`);
  }
  const values: Record<string, string | number | boolean | undefined> = {};
  const given = new Set<keyof S>();
  for (const [k, s] of Object.entries(settings)) {
    const v = parsed[k];
    if (v !== undefined) given.add(k);
    if (s.type === 'boolean') values[k] = v === undefined ? Boolean(s.default) : Boolean(v);
    else if (s.type === 'string') values[k] = v === undefined ? (s.default as string | undefined) : String(v);
    else if (v === undefined) values[k] = s.default as number | undefined;
    else {
      const n = Number(v);
      if (String(v).trim() === '' || !Number.isFinite(n)) throw new Error(`--${k} must be a number, got "${v}"`);
      values[k] = n;
    }
  }
  return { values: values as Values<S>, given, help: Boolean(parsed.help) };
}

function usage<S extends Settings>(exp: Experiment<S>): string {
  return [
    exp.title,
    `Usage: npm run reproduce:${exp.name} -- [flags]`,
    describeSettings({ ...COMMON, out: { ...COMMON.out, default: exp.out } }),
    describeSettings(exp.settings),
  ].join('\n');
}

/** Parses a runner's command line: the common flags and its settings. */
export function parseFlags<S extends Settings>(exp: Experiment<S>, argv: string[]) {
  for (const k of Object.keys(exp.settings))
    if (k in COMMON || k === 'help') throw new Error(`${exp.name}: setting --${k} clashes with a common flag`);
  const all: Settings = { ...COMMON, ...exp.settings };
  const { values, given, help } = parseSettings(all, argv, usage(exp));
  const common = values as unknown as Values<typeof COMMON>;
  if (!Number.isInteger(common.jobs) || common.jobs < 1)
    throw new Error(`--jobs must be a positive integer, got ${common.jobs}`);
  const settings = Object.fromEntries(Object.keys(exp.settings).map((k) => [k, values[k]])) as Values<S>;
  return {
    settings,
    given: new Set([...given].filter((k) => k in exp.settings)) as Set<keyof S>,
    out: common.out ?? exp.out,
    results: common.results,
    only: common.only
      ?.split(',')
      .map((s) => s.trim())
      .filter(Boolean),
    tablesOnly: common['tables-only'],
    jobs: common.jobs,
    job: common.job,
    help,
  };
}

/** `npm run reproduce:<name>` plus `--out` when not the default and every setting that differs from its default. */
export function commandOf<S extends Settings>(exp: Experiment<S>, out: string, settings: Values<S>): string {
  const quote = (v: string) => (/^[\w.,/:=+-]+$/.test(v) ? v : `'${v.replace(/'/g, `'\\''`)}'`);
  const args: string[] = out === exp.out ? [] : ['--out', quote(out)];
  for (const [k, s] of Object.entries(exp.settings)) {
    const v = settings[k];
    const def = s.type === 'boolean' ? Boolean(s.default) : s.type === 'string' ? String(s.default ?? '') : s.default;
    if (v === def) continue;
    args.push(...(s.type === 'boolean' ? [`--${k}`] : [`--${k}`, quote(String(v))]));
  }
  return `npm run reproduce:${exp.name}${args.length ? ` -- ${args.join(' ')}` : ''}`;
}

// ---------------------------------------------------------------------------------------------
// Run.

/** Whether `id` is selected by a pattern: equal, a prefix ending at a `/`, or a `*` glob. */
export function matches(id: string, pattern: string): boolean {
  if (id === pattern || id.startsWith(`${pattern}/`)) return true;
  if (!pattern.includes('*')) return false;
  const re = new RegExp(
    `^${pattern
      .split('*')
      .map((p) => p.replace(/[.+?^${}()|[\]\\]/g, '\\$&'))
      .join('.*')}(/.*)?$`,
  );
  return re.test(id);
}

/** The jobs `only` selects, with the unfinished jobs they need. */
export function selectJobs(jobs: Job[], only?: string[]): Job[] {
  const byId = new Map(jobs.map((j) => [j.id, j]));
  if (byId.size !== jobs.length) throw new Error('two jobs share an id');
  if (!only) return jobs;
  const unknown = only.filter((p) => !jobs.some((j) => matches(j.id, p)));
  if (unknown.length) {
    const ids = jobs.map((j) => j.id);
    throw new Error(
      `--only: no job matches ${unknown.join(', ')}; ` +
        `jobs: ${ids.slice(0, 40).join(', ')}${ids.length > 40 ? `, … (${ids.length})` : ''}`,
    );
  }
  // In the order of the patterns (most wanted first, so a run cut short has measured those), each
  // job after the jobs it needs.
  const order: Job[] = [];
  const add = (j: Job) => {
    if (order.includes(j)) return;
    for (const n of j.needs ?? []) {
      const need = byId.get(n);
      if (!need) throw new Error(`job ${j.id} needs an unknown job ${n}`);
      if (!need.done()) add(need);
    }
    order.push(j);
  };
  for (const p of only) jobs.filter((j) => matches(j.id, p)).forEach(add);
  return order;
}

/** Runs the unfinished jobs, one at a time in this process or `parallel` at a time in child processes. */
async function runJobs(jobs: Job[], parallel: number, argv: string[], signal: AbortSignal): Promise<void> {
  const todo = jobs.filter((j) => !j.done());
  log(`${todo.length} of ${jobs.length} jobs to do${todo.length && parallel > 1 ? `, ${parallel} at a time` : ''}`);
  if (parallel <= 1) {
    for (const [i, job] of todo.entries()) {
      if (signal.aborted) return;
      log(`job ${i + 1}/${todo.length}: ${job.id}`);
      await job.run();
    }
    return;
  }
  // Children re-run this command with `--job <id>`; a job starts once the jobs it needs are done.
  const childArgs = argv.filter((a, i) => a !== '--jobs' && argv[i - 1] !== '--jobs' && !a.startsWith('--jobs='));
  const waiting = [...todo];
  const running = new Map<string, Promise<void>>();
  const failed: string[] = [];
  const doneIds = new Set<string>();
  const ready = (j: Job) => (j.needs ?? []).every((n) => !todo.some((t) => t.id === n) || doneIds.has(n));
  let started = 0;
  while ((waiting.length || running.size) && !signal.aborted) {
    while (running.size < parallel && !failed.length) {
      const next = waiting.findIndex(ready);
      if (next < 0) break;
      const [job] = waiting.splice(next, 1);
      log(`job ${++started}/${todo.length}: ${job.id}`);
      const child = spawn(process.execPath, [...process.execArgv, process.argv[1], ...childArgs, '--job', job.id], {
        stdio: ['ignore', 'inherit', 'inherit'],
      });
      running.set(
        job.id,
        new Promise((resolve) =>
          child.on('exit', (code) => {
            running.delete(job.id);
            if (code === 0 && job.done()) doneIds.add(job.id);
            else failed.push(`${job.id} (exit ${code})`);
            resolve();
          }),
        ),
      );
    }
    if (!running.size) break;
    await Promise.race(running.values());
  }
  await Promise.all(running.values());
  if (failed.length) throw new Error(`failed: ${failed.join(', ')}`);
  if (waiting.length && !signal.aborted)
    throw new Error(`jobs whose needs did not finish: ${waiting.map((j) => j.id).join(', ')}`);
}

/** What a runner's functions see of a command line (tests call `jobs` and `assemble` with it). */
export function contextOf<S extends Settings>(
  exp: Experiment<S>,
  argv: string[],
  signal = new AbortController().signal,
): Context<S> {
  const f = parseFlags(exp, argv);
  return {
    settings: f.settings,
    given: f.given,
    out: f.out,
    results: f.results,
    command: commandOf(exp, f.out, f.settings),
    signal,
    log,
  };
}

/**
 * Runs an experiment from its command line: `--tables-only` rewrites the Markdown; otherwise the
 * (selected) unfinished jobs run and the tables are assembled, also after a failed or interrupted
 * run, so they always show what has finished. Ctrl-C stops after the trainer's checkpoint.
 */
export async function runExperiment<S extends Settings>(
  exp: Experiment<S>,
  argv: string[] = process.argv.slice(2),
): Promise<string[]> {
  const f = parseFlags(exp, argv);
  if (f.help) {
    console.log(usage(exp));
    return [];
  }
  const stop = new AbortController();
  const ctx = contextOf(exp, argv, stop.signal);
  if (f.tablesOnly) {
    for (const name of exp.tables(ctx)) log(rewriteMarkdown(f.results, name));
    return [];
  }
  const jobs = await exp.jobs(ctx);
  if (f.job !== undefined) {
    const job = jobs.find((j) => j.id === f.job);
    if (!job) throw new Error(`unknown job ${f.job}`);
    await withInterrupt(stop, () => job.run());
    return [];
  }
  const selected = selectJobs(jobs, f.only);
  let failure: unknown;
  let written: string[] = [];
  try {
    await withInterrupt(stop, () => runJobs(selected, f.jobs, argv, stop.signal));
  } catch (err) {
    failure = err;
  }
  try {
    written = await exp.assemble(ctx);
    for (const file of written) log(`wrote ${file}`);
  } catch (err) {
    failure ??= err;
  }
  if (stop.signal.aborted) {
    log('interrupted: run the same command again to continue');
    process.exitCode = 130;
  } else if (failure) throw failure;
  return written;
}

/** First Ctrl-C: abort `stop` (the trainer checkpoints and returns); the second quits at once. */
async function withInterrupt<T>(stop: AbortController, body: () => Promise<T>): Promise<T> {
  const onSigint = () => {
    if (stop.signal.aborted) process.exit(130);
    log('interrupted: finishing the current step (Ctrl-C again to quit now)');
    stop.abort();
  };
  process.on('SIGINT', onSigint);
  try {
    return await body();
  } finally {
    process.off('SIGINT', onSigint);
  }
}

/** Runs `exp` when its file is the entry point; prints one clear line on failure. */
export function main<S extends Settings>(exp: Experiment<S>, module: NodeJS.Module): void {
  if (require.main !== module) return;
  runExperiment(exp).catch((err: unknown) => {
    console.error(`reproduce:${exp.name}: ${err instanceof Error ? err.message : String(err)}`);
    process.exit(1);
  });
}

// ---------------------------------------------------------------------------------------------
// Assemble.

export type Cell = ResultsInput['rows'][number]['cells'][number];

/** A row a table should hold; a cell is `undefined` when this run folder has not measured it. */
export interface PlannedRow {
  /** How captions name it when it is measured nowhere, e.g. `colon/random/K64`. */
  id: string;
  label: string;
  cells: Cell[];
}

export interface MergedRows {
  rows: ResultsInput['rows'];
  /** Labels of the rows with at least one cell taken from the previous table. */
  kept: string[];
  /** Ids of planned rows measured nowhere. */
  missing: string[];
  /** Planned rows with at least one cell measured in this run folder (0: the table would not change). */
  fresh: number;
  previous?: ReproductionFile;
}

/** `<dir>/<name>.json` if it exists. */
export function readTable(dir: string, name: string): ReproductionFile | undefined {
  const file = path.join(dir, `${name}.json`);
  return fs.existsSync(file) ? readReproduction(file) : undefined;
}

/**
 * The planned rows in order, each cell from this run folder or else from the previous table (same
 * row label and column); previous rows outside the plan are appended, never dropped. `settings` is
 * the settings part of the protocol text: cells measured under other settings cannot share a table
 * with this run's, so when any would have to be kept this throws instead of mixing or erasing them.
 * A planned row measured nowhere is left out (`emptyRows`: kept as an empty row) and named in `missing`.
 * A table with no `fresh` row is best left as it is (its date and commit stay those of its numbers).
 */
export function mergeRows(
  planned: readonly PlannedRow[],
  previous: ReproductionFile | undefined,
  settings: string,
  columns: readonly string[],
  file: string,
  emptyRows = false,
): MergedRows {
  const old = new Map((previous?.rows ?? []).map((r) => [r.label, r]));
  const oldCell = (label: string, j: number) => {
    const row = old.get(label);
    const at = previous?.columns.indexOf(columns[j]) ?? -1;
    return row && at >= 0 ? row.cells[at] : undefined;
  };
  const needed = [
    ...planned
      .filter((p) => p.cells.some((c, j) => c === undefined && oldCell(p.label, j) != null))
      .map((p) => p.label),
    ...[...old.keys()].filter((l) => !planned.some((p) => p.label === l)),
  ];
  if (needed.length && !previous!.meta.protocol.startsWith(settings)) {
    throw new Error(
      `${file} holds rows measured under other settings that this run does not measure (${needed.join('; ')}); ` +
        'write the tables elsewhere (--results), run with the original settings, or delete the file to replace it',
    );
  }
  const rows: ResultsInput['rows'] = [];
  const kept: string[] = [];
  const missing: string[] = [];
  const fresh = planned.filter((p) => p.cells.some((c) => c !== undefined)).length;
  for (const p of planned) {
    let fromOld = false;
    const cells = p.cells.map((c, j) => {
      if (c !== undefined) return c;
      const o = oldCell(p.label, j);
      if (o != null) fromOld = true;
      return o ?? null;
    });
    const nowhere = cells.every((c) => c === null) && p.cells.every((c) => c === undefined);
    if (nowhere) missing.push(p.id);
    if (!nowhere || emptyRows) rows.push({ label: p.label, cells });
    if (fromOld) kept.push(p.label);
  }
  for (const r of previous?.rows ?? []) {
    if (planned.some((p) => p.label === r.label)) continue;
    rows.push(r);
    kept.push(r.label);
  }
  return { rows, kept, missing, fresh, previous };
}

/** One sentence for the protocol when cells were kept from an earlier table (their numbers are not in `out`). */
export function keptNote(merged: MergedRows, out: string): string {
  const p = merged.previous;
  return merged.kept.length && p
    ? ` ${merged.kept.length} row(s) not measured in ${out} kept from the ` +
        `table of ${p.meta.date} (${p.meta.commit ?? 'uncommitted tree'}).`
    : '';
}

/** Writes `<dir>/<name>.json` and `.md` (each atomically); returns the JSON path. */
export function writeTable(
  dir: string,
  name: string,
  table: ResultsInput,
  meta: ReproductionMeta & { backend?: string },
): string {
  return writeReproduction(dir, name, table, meta);
}

/** `--tables-only`: `<dir>/<name>.md` again from `<dir>/<name>.json`. */
export function rewriteMarkdown(dir: string, name: string): string {
  const json = path.join(dir, `${name}.json`);
  if (!fs.existsSync(json)) return `${json}: not there, nothing to rewrite`;
  const md = path.join(dir, `${name}.md`);
  const tmp = `${md}.tmp-${process.pid}`;
  fs.writeFileSync(tmp, reproductionMarkdown(readReproduction(json)));
  fs.renameSync(tmp, md);
  return `rewrote ${md}`;
}
