/**
 * One error type for bad input, always naming where the problem is (the file, the bag and the
 * field) and, when there is one, how to fix it. Callers (CLI, notebooks) print `message`, one line;
 * tools can read the structured fields.
 */
export class MilkitDataError extends Error {
  constructor(
    readonly problem: string,
    readonly where: { file?: string; bag?: string; field?: string; row?: number } = {},
    /** What the user can do about it, e.g. the command that rewrites the file. */
    readonly fix?: string,
  ) {
    super(formatMessage(problem, where, fix));
    this.name = 'MilkitDataError';
  }
}

function formatMessage(problem: string, where: MilkitDataError['where'], fix?: string): string {
  const parts: string[] = [];
  if (where.file) parts.push(`file ${where.file}`);
  if (where.bag !== undefined) parts.push(`bag "${where.bag}"`);
  if (where.row !== undefined) parts.push(`row ${where.row}`);
  if (where.field) parts.push(`field "${where.field}"`);
  const text = parts.length ? `${parts.join(', ')}: ${problem}` : problem;
  return (fix ? `${text}. Fix: ${fix}` : text).replace(/\s*\n\s*/g, ' ');
}

/**
 * A note about input that was read correctly but not as is (converted types, skipped files): one
 * line each. Library callers pass `onNotice`; the default prints to stderr, since a silent
 * conversion is the kind of thing a user must be able to see.
 */
export type NoticeSink = (message: string) => void;

export const stderrNotice: NoticeSink = (message) => process.stderr.write(`milkit: note: ${message}\n`);

/** Turns a Node file-system error (disk full, a folder where a file should be, ...) into a data error. */
export function fileSystemError(err: unknown, file: string, doing: string): MilkitDataError {
  if (err instanceof MilkitDataError) return err;
  const e = err as NodeJS.ErrnoException;
  const fixes: Record<string, string> = {
    ENOSPC: 'the disk is full: free space there or write to another place (--out)',
    EFBIG:
      'the file exceeds the file-size limit (ulimit -f) or the file system maximum: raise the limit or write elsewhere',
    EDQUOT: 'your disk quota is used up: free space or write to another place (--out)',
    EISDIR: 'this path is a folder: give a file name (e.g. cohort.arrow) or another path',
    ENOTDIR: 'a part of this path is a file, not a folder: choose another path',
    EACCES: 'no permission: choose a path you can write to',
    EPERM: 'no permission: choose a path you can write to',
    EROFS: 'the file system is read-only: write to another place (--out)',
    ENOENT: 'the path does not exist: check the spelling, or create the folder first',
    EMFILE: 'too many open files: raise the limit (ulimit -n) and retry',
  };
  const code = e?.code ?? '';
  const reason = code ? `${code}` : (e?.message ?? String(err));
  return new MilkitDataError(`cannot ${doing} (${reason})`, { file }, fixes[code] ?? 'check the path and retry');
}
