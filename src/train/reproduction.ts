/**
 * Reproduction tables: what a `reproduce` command measured, committed under `results/` so the
 * README and notebook 03 show measured numbers without re-training in CI.
 *
 * Each table is a `ResultsInput` (the same shape `show.results` renders) plus where it came from:
 * `results/<name>.json` (machine-readable) and `results/<name>.md` (the table as Markdown).
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { formatCell, resultsView, type ResultsInput } from '../viz/results';
import { writeFileAtomic } from '../persist/atomic';

export interface ReproductionMeta {
  /** The exact command that regenerates the table. */
  command: string;
  /** Data set, folds/repeats, epochs, model settings: enough to judge the numbers. */
  protocol: string;
  /** Published numbers to compare with, by row label then column, with their source. */
  published?: { source: string; values: Record<string, Record<string, number>> };
  /** Wall-clock seconds the command took (on which machine: see `machine`). */
  seconds?: number;
}

export interface ReproductionFile extends ResultsInput {
  format: 'milkit-reproduction';
  version: 1;
  name: string;
  meta: ReproductionMeta & { date: string; commit?: string; backend?: string; machine: string };
}

/** Writes `<dir>/<name>.json` and `<dir>/<name>.md` atomically; returns the JSON path. */
export function writeReproduction(
  dir: string,
  name: string,
  table: ResultsInput,
  meta: ReproductionMeta & { backend?: string },
): string {
  resultsView(table); // validates the table (column counts, empty cells) before anything is written
  const file: ReproductionFile = {
    format: 'milkit-reproduction',
    version: 1,
    name,
    ...table,
    meta: { ...meta, date: new Date().toISOString().slice(0, 10), commit: gitCommit(), machine: machine() },
  };
  fs.mkdirSync(dir, { recursive: true });
  const json = path.join(dir, `${name}.json`);
  writeFileAtomic(json, [Buffer.from(JSON.stringify(file, null, 1) + '\n')]);
  writeFileAtomic(path.join(dir, `${name}.md`), [Buffer.from(reproductionMarkdown(file))]);
  return json;
}

export function readReproduction(file: string): ReproductionFile {
  const r = JSON.parse(fs.readFileSync(file, 'utf8')) as ReproductionFile;
  if (r.format !== 'milkit-reproduction')
    throw new Error(`${file}: not a milkit reproduction file (format ${String(r.format)})`);
  return r;
}

export function reproductionMarkdown(r: ReproductionFile): string {
  const view = resultsView(r);
  const pub = r.meta.published;
  const withPub = new Set(Object.values(pub?.values ?? {}).flatMap((v) => Object.keys(v)));
  const head = ['', ...view.columns.map((c) => (withPub.has(c) ? `${c} (ours / published)` : c))];
  const lines = [
    `# ${r.title ?? r.name}`,
    '',
    r.caption ?? '',
    '',
    `| ${head.join(' | ')} |`,
    `|${head.map(() => '---').join('|')}|`,
  ];
  for (const row of view.rows) {
    const cells = row.cells.map((c, j) => {
      const p = pub?.values[row.label]?.[view.columns[j]!];
      return p === undefined ? formatCell(c) : `${formatCell(c)} / ${p.toFixed(3)}`;
    });
    lines.push(`| ${row.label} | ${cells.join(' | ')} |`);
  }
  lines.push('', `Protocol: ${r.meta.protocol}`, '', `Command: \`${r.meta.command}\``);
  if (pub) lines.push('', `Published: ${pub.source}`);
  const took = r.meta.seconds === undefined ? '' : `, ${(r.meta.seconds / 60).toFixed(1)} min`;
  lines.push(
    '',
    `Measured ${r.meta.date} at ${r.meta.commit ?? 'an uncommitted tree'} ` +
      `on ${r.meta.machine}${r.meta.backend ? ` (${r.meta.backend})` : ''}${took}.`,
    '',
  );
  return lines.join('\n');
}

function gitCommit(): string | undefined {
  try {
    return execFileSync('git', ['rev-parse', '--short', 'HEAD'], { stdio: ['ignore', 'pipe', 'ignore'] })
      .toString()
      .trim();
  } catch {
    return undefined; // not a git checkout (an installed package)
  }
}

function machine(): string {
  return `${os.cpus().length} × ${os.cpus()[0]?.model.trim() ?? 'cpu'}, ${Math.round(os.totalmem() / 2 ** 30)} GB`;
}
