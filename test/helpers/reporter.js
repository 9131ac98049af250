'use strict';
// Mocha's spec reporter, plus one line "<suite> <passed> <failed>" appended to $MILKIT_STATS so
// scripts/test-all.sh can add up every test stage into the single "N passed, N failed" line CI reads.
const fs = require('node:fs');
const Mocha = require('mocha');

class MilkitReporter extends Mocha.reporters.Spec {
  constructor(runner, options) {
    super(runner, options);
    runner.once(Mocha.Runner.constants.EVENT_RUN_END, () => {
      const file = process.env.MILKIT_STATS;
      if (!file) return;
      const s = runner.stats;
      const name = process.env.MILKIT_STAGE || 'mocha';
      fs.appendFileSync(file, `${name} ${s.passes} ${s.failures}\n`);
    });
  }
}
module.exports = MilkitReporter;
