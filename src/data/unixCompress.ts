/**
 * Decoder of Unix `compress` files (`.Z`, adaptive LZW), the form in which the UCI Machine Learning
 * Repository still ships its oldest data sets (MUSK's `clean1.data.Z`). Node's zlib reads gzip but
 * not LZW. This follows the reference decoder (ncompress, also `gzip -d`) exactly, including its
 * one quirk: codes are read in groups of eight, and when the code width grows or the table is
 * cleared the rest of the current group is skipped.
 */
import { MilkitDataError } from './errors';

const MAGIC = [0x1f, 0x9d];
const BLOCK_MODE = 0x80;
const CLEAR = 256;

/** Whether `bytes` start with the `.Z` magic number. */
export function isUnixCompressed(bytes: Uint8Array): boolean {
  return bytes.length >= 3 && bytes[0] === MAGIC[0] && bytes[1] === MAGIC[1];
}

/** The decompressed bytes of a `.Z` file's contents; `file` names it in errors. */
export function uncompressZ(bytes: Uint8Array, file: string): Uint8Array {
  const corrupt = (why: string) =>
    new MilkitDataError(`not a readable .Z (Unix compress) file: ${why}`, { file }, 'download the file again');
  if (!isUnixCompressed(bytes)) throw corrupt('no .Z magic number (1f 9d)');
  const maxBits = bytes[2] & 0x1f;
  const block = (bytes[2] & BLOCK_MODE) !== 0;
  if (maxBits < 9 || maxBits > 16) throw corrupt(`code width ${maxBits} bits (9 to 16 allowed)`);
  const tableSize = 1 << maxBits;
  const prefix = new Uint16Array(tableSize);
  const suffix = new Uint8Array(tableSize);
  for (let c = 0; c < 256; c++) suffix[c] = c;
  const stack = new Uint8Array(tableSize);
  let out = new Uint8Array(Math.max(1024, bytes.length * 4));
  let outLen = 0;
  const emit = (b: number) => {
    if (outLen === out.length) {
      const grown = new Uint8Array(out.length * 2);
      grown.set(out);
      out = grown;
    }
    out[outLen++] = b;
  };

  const totalBits = bytes.length * 8;
  let bits = 9;
  let maxCode = (1 << bits) - 1;
  let free = block ? CLEAR + 1 : 256;
  let pos = 24; // after the 3-byte header
  let groupStart = pos;
  // Skip to the end of the current group of eight codes (the encoder wrote whole groups).
  const endOfGroup = () => groupStart + Math.ceil((pos - groupStart) / (bits * 8)) * bits * 8;
  let old = -1;
  let last = 0;
  for (;;) {
    // Exactly as the reference decoders (ncompress, gzip): the width steps up once the table outgrows it.
    if (free > maxCode) {
      pos = groupStart = endOfGroup();
      bits++;
      maxCode = bits === maxBits ? tableSize : (1 << bits) - 1;
    }
    if (pos + bits > totalBits) break;
    let code = 0;
    for (let k = 0; k < bits; k++, pos++) code |= ((bytes[pos >> 3] >> (pos & 7)) & 1) << k;
    if (old === -1) {
      if (code > 255) throw corrupt(`first code ${code} is not a byte`);
      old = last = code;
      emit(code);
      continue;
    }
    if (code === CLEAR && block) {
      free = CLEAR;
      pos = groupStart = endOfGroup();
      bits = 9;
      maxCode = (1 << bits) - 1;
      continue;
    }
    const incoming = code;
    let sp = 0;
    if (code >= free) {
      if (code > free) throw corrupt(`code ${code} before its table entry (${free}) exists`);
      stack[sp++] = last;
      code = old;
    }
    while (code >= 256) {
      stack[sp++] = suffix[code];
      code = prefix[code];
    }
    last = suffix[code];
    stack[sp++] = last;
    while (sp > 0) emit(stack[--sp]);
    if (free < tableSize) {
      prefix[free] = old;
      suffix[free] = last;
      free++;
    }
    old = incoming;
  }
  return out.subarray(0, outLen);
}
