#!/usr/bin/env node
'use strict';
// Thin launcher: the CLI lives in the compiled library (npm run build).
require('../dist/cli/main.js')
  .main(process.argv.slice(2))
  .then(
    (code) => {
      process.exitCode = code;
    },
    (err) => {
      console.error(`milkit: ${err && err.message ? err.message : err}`);
      process.exitCode = 1;
    },
  );
