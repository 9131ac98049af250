#!/usr/bin/env node
// Builds the optional native addons with node-gyp, from the root `postinstall`:
//   native/build/Release/milkit_blas.node      OpenBLAS sgemm + milkit's vector kernels (libopenblas-dev)
//   native/build/Release/milkit_openslide.node whole-slide images through OpenSlide (libopenslide-dev)
// Each part is built only when its headers are installed, and a part that fails to build never
// takes the other down. It NEVER fails the install: it prints one line per part and milkit falls
// back to plain wasm (no BLAS) and to the pure-JS slide reader (no OpenSlide).
// MILKIT_NO_NATIVE=1 skips the build.
'use strict';
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const here = __dirname;
const built = (name) => path.join(here, 'build', 'Release', `${name}.node`);
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

function openslideHeader() {
  return ['/usr/include/openslide', '/usr/local/include/openslide'].find((d) =>
    fs.existsSync(path.join(d, 'openslide.h')),
  );
}

const PARTS = {
  milkit_blas: {
    define: 'with_blas',
    ok: 'OpenBLAS sgemm built',
    fallback: 'milkit uses plain wasm',
    missing: () => (cblasHeader() ? '' : 'libopenblas-dev is not installed (apt-get install libopenblas-dev)'),
    probe: 'info()',
  },
  milkit_openslide: {
    define: 'with_openslide',
    ok: 'OpenSlide reader built',
    fallback: 'slides open with the pure-JS reader',
    missing: () => (openslideHeader() ? '' : 'libopenslide-dev is not installed (apt-get install libopenslide-dev)'),
    probe: 'version()',
  },
};

/** One node-gyp rebuild with the given parts; returns the failure text, or '' on success. */
function gypBuild(gyp, names) {
  // Headers installed next to this node (Debian's nodejs, official tarballs) need no download.
  const prefix = path.join(path.dirname(process.execPath), '..');
  const nodedir =
    process.env.npm_config_nodedir ||
    (fs.existsSync(path.join(prefix, 'include', 'node', 'node_api.h')) ? prefix : undefined);
  const args = [gyp, 'rebuild', '--silent', ...(nodedir ? [`--nodedir=${path.resolve(nodedir)}`] : [])];
  const defines = Object.entries(PARTS)
    .map(([name, p]) => `${p.define}=${names.includes(name) ? 1 : 0}`)
    .join(' ');
  const env = { ...process.env, GYP_DEFINES: `${process.env.GYP_DEFINES || ''} ${defines}`.trim() };
  const r = spawnSync(process.execPath, args, { cwd: here, encoding: 'utf8', env });
  const missing = names.filter((n) => !fs.existsSync(built(n)));
  if (r.status === 0 && missing.length === 0) return '';
  const why =
    `${r.stderr || ''}${r.stdout || ''}`.split('\n').find((l) => /error/i.test(l)) || `node-gyp exit ${r.status}`;
  return why.trim().slice(0, 200);
}

function main() {
  if (process.env.MILKIT_NO_NATIVE)
    return say('skipped (MILKIT_NO_NATIVE is set); milkit uses plain wasm and the pure-JS slide reader');
  const wanted = [];
  for (const [name, p] of Object.entries(PARTS)) {
    const why = p.missing();
    if (why) say(`${name} not built: ${why}; ${p.fallback}`);
    else wanted.push(name);
  }
  if (wanted.length === 0) return;
  const gyp = nodeGyp();
  if (!gyp) return say(`not built: node-gyp not found; milkit uses plain wasm and the pure-JS slide reader`);
  // All parts in one build; if that fails, each part alone (a rebuild replaces the previous one,
  // so the last part that builds alone is kept, and the others are reported).
  let failed = gypBuild(gyp, wanted);
  let builtParts = failed ? [] : wanted;
  const errors = {};
  if (failed && wanted.length > 1) {
    for (const name of wanted) {
      const why = gypBuild(gyp, [name]);
      if (why) errors[name] = why;
      else builtParts = [name];
    }
    if (builtParts.length && wanted.indexOf(builtParts[0]) < wanted.length - 1) gypBuild(gyp, builtParts);
  } else if (failed) {
    errors[wanted[0]] = failed;
  }
  for (const name of wanted) {
    const p = PARTS[name];
    if (!builtParts.includes(name)) {
      say(`${name} not built (${errors[name] || 'another part failed'}); ${p.fallback}`);
      continue;
    }
    // Load it once in a child process, so a broken link shows up here and not at first use.
    const probe = spawnSync(process.execPath, ['-e', `require(${JSON.stringify(built(name))}).${p.probe}`], {
      encoding: 'utf8',
    });
    if (probe.status !== 0) {
      fs.rmSync(built(name), { force: true });
      say(`${name} built but cannot load (${(probe.stderr || '').split('\n')[0]}); ${p.fallback}`);
    } else {
      say(`${p.ok} (${path.relative(path.join(here, '..'), built(name))})`);
    }
  }
}

main();
