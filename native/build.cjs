#!/usr/bin/env node
// Builds the optional OpenBLAS addon (native/build/Release/milkit_blas.node) with node-gyp.
// Runs from the root `postinstall`; it NEVER fails the install: without a compiler, Node headers
// or libopenblas-dev it prints one line and milkit computes on plain wasm.
// MILKIT_NO_NATIVE=1 skips the build.
'use strict';
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const here = __dirname;
const addon = path.join(here, 'build', 'Release', 'milkit_blas.node');
const say = (s) => console.log(`milkit native: ${s}`);

function cblasHeader() {
  const dirs = [
    '/usr/include/x86_64-linux-gnu/openblas-pthread',
    '/usr/include/aarch64-linux-gnu/openblas-pthread',
    '/usr/include/openblas',
    '/usr/include',
  ];
  return dirs.find((d) => fs.existsSync(path.join(d, 'cblas.h')) && fs.existsSync(path.join(d, 'openblas_config.h')));
}

/** npm passes its bundled node-gyp to lifecycle scripts; otherwise look next to this node. */
function nodeGyp() {
  const candidates = [
    process.env.npm_config_node_gyp,
    path.join(
      path.dirname(process.execPath),
      '..',
      'lib',
      'node_modules',
      'npm',
      'node_modules',
      'node-gyp',
      'bin',
      'node-gyp.js',
    ),
  ];
  return candidates.find((c) => c && fs.existsSync(c));
}

function main() {
  if (process.env.MILKIT_NO_NATIVE) return say('skipped (MILKIT_NO_NATIVE is set); milkit uses plain wasm');
  if (!cblasHeader())
    return say(
      'OpenBLAS sgemm not built: libopenblas-dev is not installed (apt-get install libopenblas-dev); milkit uses plain wasm',
    );
  const gyp = nodeGyp();
  if (!gyp) return say('OpenBLAS sgemm not built: node-gyp not found; milkit uses plain wasm');
  // Headers installed next to this node (Debian's nodejs, official tarballs) need no download.
  const prefix = path.join(path.dirname(process.execPath), '..');
  const nodedir =
    process.env.npm_config_nodedir ||
    (fs.existsSync(path.join(prefix, 'include', 'node', 'node_api.h')) ? prefix : undefined);
  const args = [gyp, 'rebuild', '--silent', ...(nodedir ? [`--nodedir=${path.resolve(nodedir)}`] : [])];
  const r = spawnSync(process.execPath, args, { cwd: here, encoding: 'utf8' });
  if (r.status !== 0 || !fs.existsSync(addon)) {
    const why =
      `${r.stderr || ''}${r.stdout || ''}`.split('\n').find((l) => /error/i.test(l)) || `node-gyp exit ${r.status}`;
    return say(`OpenBLAS sgemm not built (${why.trim().slice(0, 200)}); milkit uses plain wasm`);
  }
  // Load it once in a child process, so a broken link shows up here and not at first use.
  const probe = spawnSync(process.execPath, ['-e', `require(${JSON.stringify(addon)}).info()`], { encoding: 'utf8' });
  if (probe.status !== 0)
    return say(`built but cannot load (${(probe.stderr || '').split('\n')[0]}); milkit uses plain wasm`);
  say(`OpenBLAS sgemm built (${path.relative(path.join(here, '..'), addon)})`);
}

main();
