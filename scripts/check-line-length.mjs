#!/usr/bin/env node
// Part of `npm run lint`: no source line over 120 characters. Prettier wraps code at 120 but leaves
// comments and string literals alone, so long prose would creep back without this check.
// A line may exceed the limit only by a URL, which cannot be wrapped.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const MAX = 120;
const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
// native/ is C, formatted by clang-format (native/.clang-format); markdown, notebooks and data are not code.
const DIRS = [
  'src',
  'test',
  'kernel-ext/src',
  'jupyterlab-plugin/src',
  'jupyterlab-plugin/e2e',
  'experiments',
  'bench',
  'native',
];
const MORE = ['scripts', 'bin', '.ci'];
const EXTENSIONS = /\.(ts|tsx|js|mjs|cjs|sh|py|c|h|gyp)$/;
const SKIP = new Set(['node_modules', 'dist', 'build', 'lib', 'labext', 'fixtures', 'templates']);
const URL = /\bhttps?:\/\/\S+/g;

function* files(dir, all) {
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) {
      if (!SKIP.has(e.name)) yield* files(p, all);
    } else if (EXTENSIONS.test(e.name) || (all && !e.name.includes('.'))) yield p;
  }
}

const roots = [...DIRS.map((d) => [d, false]), ...MORE.map((d) => [d, true])];
const top = fs.readdirSync(ROOT).filter((f) => /\.(mjs|cjs|js)$/.test(f));
const all = [
  ...top,
  ...roots.flatMap(([d, any]) => (fs.existsSync(path.join(ROOT, d)) ? [...files(path.join(ROOT, d), any)] : [])),
];
const long = [];
for (const file of all) {
  const lines = fs.readFileSync(path.resolve(ROOT, file), 'utf8').split('\n');
  lines.forEach((line, i) => {
    if (line.length > MAX && line.replace(URL, '').length > MAX)
      long.push(`${path.relative(ROOT, path.resolve(ROOT, file))}:${i + 1}: ${line.length} characters`);
  });
}
if (long.length) {
  console.error(long.join('\n'));
  console.error(
    `${long.length} line(s) over ${MAX} characters. Fix: wrap the comment, or split the string ('a ' + 'b'); ` +
      'Prettier wraps code but not comments or strings.',
  );
  process.exit(1);
}
