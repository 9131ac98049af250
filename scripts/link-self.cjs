#!/usr/bin/env node
// Makes the root package importable by its own name (`import { ... } from "milkit"`) from notebooks
// and from the kernel-ext workspace: npm links workspaces into node_modules but never the root
// package itself, so node_modules/milkit → .. is created here (root `postinstall`). Idempotent.
'use strict';
const fs = require('node:fs');
const path = require('node:path');

const root = path.resolve(__dirname, '..');
const link = path.join(root, 'node_modules', 'milkit');
fs.mkdirSync(path.dirname(link), { recursive: true });
let current;
try {
  current = fs.readlinkSync(link);
} catch {
  current = undefined;
}
if (current !== undefined && path.resolve(path.dirname(link), current) === root) process.exit(0);
if (current !== undefined || fs.existsSync(link)) fs.rmSync(link, { recursive: true, force: true });
fs.symlinkSync(process.platform === 'win32' ? root : '..', link, process.platform === 'win32' ? 'junction' : 'dir');
console.log(`linked ${path.relative(root, link)} -> ..`);
