'use strict';
// Mocha's spec reporter, plus the stage's counts for scripts/test-all.sh, which adds every stage up
// into the one "N passed, N failed, N skipped" line CI reads. Appended to $MILKIT_STATS:
//   "<stage> <passed> <failed> <skipped>" and one "#skip <stage> | <test> | <reason>" line per skip.
// A test marked by skipBecause (test/helpers/skip.ts) counts as skipped, not passed, and is shown
// with its reason; mocha's own pending tests are forbidden (forbid-pending in .mocharc*.json).
const fs = require('node:fs');
const Mocha = require('mocha');

const { EVENT_TEST_PASS, EVENT_TEST_PENDING, EVENT_RUN_END } = Mocha.Runner.constants;

class MilkitReporter extends Mocha.reporters.Spec {
  constructor(runner, options) {
    // Before the spec reporter and the stats collector listen: a marked test's pass is a skip.
    const emit = runner.emit.bind(runner);
    runner.emit = (event, test, ...rest) => {
      if (event === EVENT_TEST_PASS && test && typeof test.milkitSkip === 'string') {
        test.milkitTitle = test.fullTitle();
        test.title = `${test.title} (skipped: ${test.milkitSkip})`;
        return emit(EVENT_TEST_PENDING, test, ...rest);
      }
      return emit(event, test, ...rest);
    };
    super(runner, options);
    const skipped = [];
    runner.on(EVENT_TEST_PENDING, (test) => skipped.push(test));
    runner.once(EVENT_RUN_END, () => {
      const file = process.env.MILKIT_STATS;
      if (!file) return;
      const s = runner.stats;
      const name = process.env.MILKIT_STAGE || 'mocha';
      const reasons = skipped.map(
        (t) => `#skip ${name} | ${t.milkitTitle ?? t.fullTitle()} | ${t.milkitSkip ?? 'pending (no reason given)'}\n`,
      );
      fs.appendFileSync(file, `${name} ${s.passes} ${s.failures} ${s.pending}\n${reasons.join('')}`);
    });
  }
}
module.exports = MilkitReporter;
