/**
 * Streaming CSV rows: one line at a time from disk, so instance tables larger than memory convert
 * bag by bag. Handles double-quoted cells ("a,b", "say ""hi"""); a quoted cell cannot span lines.
 */
import * as fs from 'node:fs';
import * as readline from 'node:readline';
import { MilkitDataError } from '../errors';

export interface CsvRow {
  /** 1-based line number in the file (the header is line 1). */
  line: number;
  cells: string[];
}

/** Splits one CSV line into trimmed cells. */
export function splitCsvLine(text: string, file?: string, line?: number): string[] {
  const cells: string[] = [];
  let cell = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') {
        cell += '"';
        i++;
      } else if (c === '"') quoted = false;
      else cell += c;
    } else if (c === '"' && cell.trim() === '') {
      quoted = true;
      cell = '';
    } else if (c === ',') {
      cells.push(cell.trim());
      cell = '';
    } else {
      cell += c;
    }
  }
  if (quoted) throw new MilkitDataError(`line ${line}: unterminated quoted cell`, { file });
  cells.push(cell.trim());
  return cells;
}

/** The header and then every non-empty data row of a CSV file. */
export async function* readCsvRows(file: string): AsyncGenerator<CsvRow> {
  if (!fs.existsSync(file)) throw new MilkitDataError('file not found', { file });
  const lines = readline.createInterface({
    input: fs.createReadStream(file, { encoding: 'utf8' }),
    crlfDelay: Infinity,
  });
  let line = 0;
  const stream = lines[Symbol.asyncIterator]();
  const nextLine = async () => {
    try {
      return await stream.next();
    } catch (err) {
      throw new MilkitDataError(`cannot read: ${(err as Error).message}`, { file });
    }
  };
  try {
    for (let r = await nextLine(); !r.done; r = await nextLine()) {
      const raw = r.value;
      line++;
      const text = line === 1 ? raw.replace(/^\uFEFF/, '') : raw; // Excel writes a byte-order mark
      if (text.trim() === '') continue;
      yield { line, cells: splitCsvLine(text, file, line) };
    }
  } finally {
    lines.close();
  }
}

/** A finite number from a cell, or a MilkitDataError naming file, line, bag and column. */
export function parseNumber(cell: string, where: { file: string; line: number; bag?: string; column: string }): number {
  const v = cell === '' ? NaN : Number(cell);
  if (!Number.isFinite(v)) {
    const what =
      cell === ''
        ? 'empty value'
        : Number.isNaN(v) && cell !== 'NaN'
          ? `non-numeric value "${cell}"`
          : `non-finite value "${cell}"`;
    throw new MilkitDataError(`line ${where.line}: ${what}`, { file: where.file, bag: where.bag, field: where.column });
  }
  return v;
}
