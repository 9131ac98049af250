/**
 * One error type for bad input, always naming where the problem is: the file, the bag and the field.
 * Callers (CLI, notebooks) print `message`; tools can read the structured fields.
 */
export class MilkitDataError extends Error {
  constructor(
    readonly problem: string,
    readonly where: { file?: string; bag?: string; field?: string; row?: number } = {},
  ) {
    super(formatMessage(problem, where));
    this.name = 'MilkitDataError';
  }
}

function formatMessage(problem: string, where: MilkitDataError['where']): string {
  const parts: string[] = [];
  if (where.file) parts.push(`file ${where.file}`);
  if (where.bag !== undefined) parts.push(`bag "${where.bag}"`);
  if (where.row !== undefined) parts.push(`row ${where.row}`);
  if (where.field) parts.push(`field "${where.field}"`);
  return parts.length ? `${parts.join(', ')}: ${problem}` : problem;
}
