/**
 * Streaming CSV rows: one line at a time from disk, so instance tables larger than memory convert
 * bag by bag. Handles double-quoted cells ("a,b", "say ""hi"""); a quoted cell cannot span lines.
 * Bytes are decoded strictly: a byte sequence that is not valid in the file's encoding (UTF-8
 * unless told otherwise) is an error naming the line, never a U+FFFD that could merge two ids.
 */
import * as fs from 'node:fs';
import { MilkitDataError } from '../errors';

export interface CsvRow {
  /** 1-based line number in the file (the header is line 1). */
  line: number;
  cells: string[];
}

export interface CsvReadOptions {
  /** Text encoding (WHATWG name: utf-8, latin1, windows-1252, ...); default utf-8. */
  encoding?: string;
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
  if (quoted)
    throw new MilkitDataError(
      `line ${line}: unterminated quoted cell`,
      { file },
      'close the quote (a quoted cell cannot span lines)',
    );
  cells.push(cell.trim());
  return cells;
}

/** Position of the first byte that does not start or continue a valid UTF-8 sequence, or -1. */
export function firstInvalidUtf8(bytes: Uint8Array): number {
  for (let i = 0; i < bytes.length;) {
    const b = bytes[i];
    const len = b < 0x80 ? 1 : b >= 0xc2 && b < 0xe0 ? 2 : b >= 0xe0 && b < 0xf0 ? 3 : b >= 0xf0 && b < 0xf5 ? 4 : 0;
    if (len === 0 || i + len > bytes.length) return i;
    for (let k = 1; k < len; k++) if ((bytes[i + k] & 0xc0) !== 0x80) return i;
    i += len;
  }
  return -1;
}

function decoderFor(file: string, encoding: string): TextDecoder {
  try {
    return new TextDecoder(encoding, { fatal: true });
  } catch {
    throw new MilkitDataError(
      `unknown text encoding "${encoding}"`,
      { file, field: 'encoding' },
      'use a name such as utf-8, latin1 or windows-1252',
    );
  }
}

/** The header and then every non-empty data row of a CSV file. */
export async function* readCsvRows(file: string, opts: CsvReadOptions = {}): AsyncGenerator<CsvRow> {
  if (!fs.existsSync(file)) throw new MilkitDataError('file not found', { file }, 'check the path');
  if (fs.statSync(file).isDirectory())
    throw new MilkitDataError('is a folder, not a CSV file', { file }, 'give the path of the .csv file');
  const encoding = opts.encoding ?? 'utf-8';
  const decoder = decoderFor(file, encoding);
  const utf8 = decoder.encoding === 'utf-8';
  let line = 0;
  const decodeLine = (bytes: Uint8Array): string => {
    line++;
    if (
      line === 1 &&
      bytes.length >= 2 &&
      ((bytes[0] === 0xff && bytes[1] === 0xfe) || (bytes[0] === 0xfe && bytes[1] === 0xff))
    )
      throw new MilkitDataError('UTF-16 text (byte-order mark FF FE)', { file }, 'save the file as UTF-8 (CSV UTF-8)');
    let text: string;
    try {
      text = decoder.decode(bytes);
    } catch {
      const at = utf8 ? firstInvalidUtf8(bytes) : -1;
      const where = at >= 0 ? ` (byte 0x${bytes[at].toString(16).toUpperCase()} at byte ${at + 1} of the line)` : '';
      throw new MilkitDataError(
        `line ${line}: not valid ${decoder.encoding} text${where}`,
        { file },
        utf8 ? 'save the file as UTF-8, or pass its encoding, e.g. --encoding latin1' : 'pass the right --encoding',
      );
    }
    if (line === 1) text = text.replace(/^\uFEFF/, ''); // Excel writes a byte-order mark
    return text.endsWith('\r') ? text.slice(0, -1) : text;
  };
  let pending: Buffer = Buffer.alloc(0);
  const stream = fs.createReadStream(file);
  try {
    for await (const chunk of stream as unknown as AsyncIterable<Buffer>) {
      pending = pending.length ? Buffer.concat([pending, chunk]) : chunk;
      let start = 0;
      for (let nl = pending.indexOf(10, start); nl >= 0; nl = pending.indexOf(10, start)) {
        const text = decodeLine(pending.subarray(start, nl));
        start = nl + 1;
        if (text.trim() !== '') yield { line, cells: splitCsvLine(text, file, line) };
      }
      pending = pending.subarray(start);
    }
    if (pending.length) {
      const text = decodeLine(pending);
      if (text.trim() !== '') yield { line, cells: splitCsvLine(text, file, line) };
    }
  } catch (err) {
    if (err instanceof MilkitDataError) throw err;
    throw new MilkitDataError(`cannot read: ${(err as Error).message}`, { file }, 'check the file');
  } finally {
    stream.destroy();
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
    throw new MilkitDataError(
      `line ${where.line}: ${what}`,
      { file: where.file, bag: where.bag, field: where.column },
      'write a finite number in that cell (or drop the row)',
    );
  }
  return v;
}
