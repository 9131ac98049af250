/**
 * MUSK read as the UCI repository ships it: `clean1.data` (no header; molecule, conformation,
 * f1..f166, class `1.`/`0.`) and its Unix-compressed form `clean1.data.Z`, here small files written
 * that way. The `.Z` files are made by the real `compress` (Debian's ncompress), so the decoder is
 * checked against the tool that writes them, not against itself.
 */
import { strict as assert } from 'node:assert';
import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { DATASETS } from '../../src/data/datasets';
import { isUciMuskFile, readUciMusk } from '../../src/data/datasets/uciMusk';
import { uncompressZ } from '../../src/data/unixCompress';
import { skipBecause } from '../helpers/skip';
import { tempDir } from '../helpers/tmp';

/** A conformation line as in clean1.data: 166 integer features, class with a trailing dot. */
function line(molecule: string, k: number, label: 0 | 1, seed: number): string {
  const feats = Array.from({ length: 166 }, (_, j) => ((seed * 131 + j * 17) % 400) - 200);
  return `${molecule},${molecule.replace(/^(NON-)?MUSK-/, '')}_1+${k},${feats.join(',')},${label}.`;
}

const MOLECULES: [string, 0 | 1, number][] = [
  ['MUSK-188', 1, 2],
  ['NON-MUSK-j146', 0, 3],
  ['MUSK-211', 1, 1],
];
const LINES = MOLECULES.flatMap(([m, y, n], i) => Array.from({ length: n }, (_, k) => line(m, k + 1, y, 10 * i + k)));

const hasCompress = spawnSync('compress', ['-V']).error === undefined;
const compress = (file: string, ...flags: string[]) =>
  execFileSync('compress', ['-c', ...flags, file], { maxBuffer: 1 << 26 });

describe('data: UCI MUSK files (clean1.data, clean1.data.Z)', () => {
  const dir = tempDir('milkit-uci-musk-');
  const plain = path.join(dir, 'clean1.data');
  before(() => fs.writeFileSync(plain, LINES.join('\n') + '\n'));

  it('reads molecules as bags in file order, conformations as instances, values as written', () => {
    assert.ok(isUciMuskFile(plain));
    const bags = readUciMusk(plain);
    assert.deepEqual(
      bags.map((b) => [b.id, b.label, b.features.length / 166]),
      MOLECULES.map(([m, y, n]) => [m, y, n]),
    );
    const first = LINES[0].split(',').slice(2, 168).map(Number);
    assert.deepEqual(Array.from(bags[0].features.subarray(0, 166)), first);
    const last = LINES[LINES.length - 1].split(',').slice(2, 168).map(Number);
    assert.deepEqual(Array.from(bags[2].features), last);
  });

  it('Windows line ends and a missing final newline read the same', () => {
    const crlf = path.join(dir, 'crlf.data');
    fs.writeFileSync(crlf, LINES.join('\r\n'));
    assert.deepEqual(readUciMusk(crlf), readUciMusk(plain));
  });

  it('a musk1.csv with its header is not taken for a UCI file', () => {
    const csv = path.join(dir, 'musk1.csv');
    fs.writeFileSync(csv, 'bag_id,bag_label,f1\n1,1,0.5\n');
    assert.equal(isUciMuskFile(csv), false);
  });

  it('bad lines get one error naming file, line, molecule and field', () => {
    const bad = (name: string, text: string, ...want: string[]) => {
      const f = path.join(dir, name);
      fs.writeFileSync(f, text);
      assert.throws(
        () => readUciMusk(f),
        (e: Error) => want.every((w) => e.message.includes(w)) && e.message.includes(f) && /Fix: /.test(e.message),
      );
    };
    bad('short.data', `${LINES[0]}\n${LINES[1].replace(/,[^,]*,/, ',')}\n`, 'line 2', '168 values', 'MUSK-188');
    bad('class.data', LINES[0].replace(/1\.$/, '2.'), 'class 2. is neither', 'field "class"');
    bad('text.data', LINES[0].replace(/,-?\d+,/, ',x,'), '"x" is not a number', 'field "f1"');
    bad('mixed.data', `${LINES[0]}\n${LINES[1].replace(/1\.$/, '0.')}`, 'class 0 differs from 1 on line 1');
  });

  it('the musk1 builder refuses a file that is not MUSK1 (92 molecules, 476 conformations)', async () => {
    await assert.rejects(
      DATASETS.musk1.build({ from: plain, out: path.join(dir, 'small.arrow') }),
      /3 molecules and 6 conformations; MUSK1 \(clean1\.data\) has 92 and 476/,
    );
    assert.ok(!fs.existsSync(path.join(dir, 'small.arrow')), 'no cohort left behind');
  });

  it('clean1.data.Z made by compress(1) reads like clean1.data', function () {
    if (!hasCompress)
      return skipBecause(this, 'no `compress` (Debian package ncompress; scripts/install-system-deps.sh installs it)');
    const z = path.join(dir, 'clean1.data.Z');
    fs.writeFileSync(z, compress(plain));
    assert.ok(isUciMuskFile(z));
    assert.deepEqual(readUciMusk(z), readUciMusk(plain));
  });

  it('the .Z decoder gives back the exact bytes through code-width growth to 16 bits and table resets', function () {
    if (!hasCompress)
      return skipBecause(this, 'no `compress` (Debian package ncompress; scripts/install-system-deps.sh installs it)');
    // 3 MB: repetitive text (long codes, width growth), then noise (the ratio drops: compress clears the table).
    let x = 12345;
    const noise = Buffer.from(Array.from({ length: 1 << 20 }, () => (x = (x * 1103515245 + 12345) >>> 0) >>> 24));
    const text = Buffer.from(Array.from({ length: 40000 }, (_, i) => `${LINES[i % LINES.length]}\n`).join(''));
    const source = Buffer.concat([text.subarray(0, 1 << 20), noise, text.subarray(0, 1 << 20)]);
    const file = path.join(dir, 'mixed.bin');
    fs.writeFileSync(file, source);
    const z = compress(file);
    assert.ok(z.length < source.length, 'compress did compress');
    assert.ok(Buffer.from(uncompressZ(z, file)).equals(source), 'decoded bytes equal the original');
    // Narrower tables too (compress -b; ncompress's own uncompress cannot read -b9, so neither is it here).
    for (const bits of [10, 12, 14]) {
      const zb = compress(file, `-b${bits}`);
      assert.equal(zb[2] & 0x1f, bits);
      assert.ok(Buffer.from(uncompressZ(zb, file)).equals(source), `-b${bits}`);
    }
  });

  it('a damaged .Z is one clear error', () => {
    const f = path.join(dir, 'bad.Z');
    assert.throws(
      () => uncompressZ(Buffer.from([0x1f, 0x9d, 0x90, 0xff, 0xff, 0xff, 0xff]), f),
      /bad\.Z.*not a readable \.Z/,
    );
    assert.throws(() => uncompressZ(Buffer.from([0x1f, 0x9d, 0x05]), f), /code width 5 bits/);
  });
});
