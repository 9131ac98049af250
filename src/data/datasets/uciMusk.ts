/**
 * MUSK as the UCI Machine Learning Repository ships it ("Musk (Version 1)": `clean1.data`, often
 * still compressed as `clean1.data.Z`): no header, one conformation per line,
 * `molecule,conformation,f1,...,f166,class` with class `1.` (musk) or `0.` (non-musk); the attribute
 * names are in `clean1.names`. Bags are the molecules, named as in the file (MUSK-188,
 * NON-MUSK-j146, ...) and kept in the order they first appear; instances are the conformations.
 */
import * as fs from 'node:fs';
import type { BagRecord } from '../bag';
import { MilkitDataError, fileSystemError } from '../errors';
import { isUnixCompressed, uncompressZ } from '../unixCompress';

/** Features per conformation in the UCI MUSK files. */
export const UCI_MUSK_FEATURES = 166;
const CELLS = UCI_MUSK_FEATURES + 3;

/** The file's text: `.Z` files are decompressed first. */
function readText(file: string): string {
  let bytes: Uint8Array;
  try {
    bytes = fs.readFileSync(file);
  } catch (err) {
    throw fileSystemError(err, file, 'read');
  }
  if (isUnixCompressed(bytes)) bytes = uncompressZ(bytes, file);
  return new TextDecoder('latin1').decode(bytes);
}

/** Whether a text line starts like a UCI MUSK line: a molecule name (its checks come when it is read). */
export function isUciMuskLine(line: string): boolean {
  return /^\s*(NON-)?MUSK-[^,]*,/i.test(line);
}

/** Whether `file` is a UCI MUSK file (compressed or not) rather than a CSV with a header. */
export function isUciMuskFile(file: string): boolean {
  const head = Buffer.alloc(4096);
  const fd = fs.openSync(file, 'r');
  try {
    const n = fs.readSync(fd, head, 0, head.length, 0);
    if (isUnixCompressed(head.subarray(0, n))) return true;
    return isUciMuskLine(head.subarray(0, n).toString('latin1').split(/\r?\n/)[0]);
  } finally {
    fs.closeSync(fd);
  }
}

/** Every molecule of a UCI MUSK file as a bag (label 1 = musk), checking each line. */
export function readUciMusk(file: string): BagRecord[] {
  const bags = new Map<string, { label: number; line: number; feats: number[] }>();
  const fix =
    'give the file as downloaded from the UCI repository ("Musk (Version 1)": clean1.data or clean1.data.Z); ' +
    'a damaged copy must be downloaded again';
  readText(file)
    .split(/\r?\n/)
    .forEach((text, i) => {
      const line = i + 1;
      if (text.trim() === '') return;
      const cells = text.split(',').map((c) => c.trim());
      if (cells.length !== CELLS)
        throw new MilkitDataError(
          `line ${line}: ${cells.length} values, a UCI MUSK line has ${CELLS} ` +
            `(molecule, conformation, f1..f${UCI_MUSK_FEATURES}, class)`,
          { file, ...(cells[0] ? { bag: cells[0] } : {}) },
          fix,
        );
      const [molecule, conformation] = cells;
      const number = (k: number, field: string) => {
        const v = Number(cells[k]);
        if (cells[k] === '' || !Number.isFinite(v))
          throw new MilkitDataError(
            `line ${line} (conformation ${conformation}): "${cells[k]}" is not a number`,
            { file, bag: molecule, field },
            fix,
          );
        return v;
      };
      const label = number(CELLS - 1, 'class');
      if (label !== 0 && label !== 1)
        throw new MilkitDataError(
          `line ${line}: class ${cells[CELLS - 1]} is neither 1 (musk) nor 0`,
          { file, bag: molecule, field: 'class' },
          fix,
        );
      let bag = bags.get(molecule);
      if (!bag) bags.set(molecule, (bag = { label, line, feats: [] }));
      else if (bag.label !== label)
        throw new MilkitDataError(
          `line ${line}: class ${label} differs from ${bag.label} on line ${bag.line} (a molecule has one class)`,
          { file, bag: molecule, field: 'class' },
          fix,
        );
      for (let k = 2; k < CELLS - 1; k++) bag.feats.push(number(k, `f${k - 1}`));
    });
  if (bags.size === 0) throw new MilkitDataError('no conformations in the file', { file }, fix);
  return [...bags].map(([id, b]) => ({ id, label: b.label, features: Float32Array.from(b.feats) }));
}
