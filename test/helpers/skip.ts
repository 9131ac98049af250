/**
 * The one way a test says it cannot run here. mocha runs with forbid-pending, so `this.skip()` and
 * `it.skip` fail: a skipped test must give its reason, and the reporter (test/helpers/reporter.js)
 * counts it as skipped, never as passed, and lists the reason under the stage's summary.
 *
 *   it('...', function () { if (!wasm) return skipBecause(this, 'the wasm backend is absent'); ... })
 *   before(function () { if (!blas) skipBecause(this, 'no OpenBLAS'); })   // skips the whole suite
 */
import * as Mocha from 'mocha';

/** Marks the running test, or (from a hook) every test of the hook's suite, as skipped for `reason`. */
export function skipBecause(ctx: Mocha.Context, reason: string): void {
  const runnable = ctx.test;
  if (!runnable?.parent) throw new Error('skipBecause: call it from a test or a hook');
  if (runnable instanceof Mocha.Test) {
    mark(runnable, reason);
    return;
  }
  // A hook: nothing below it may run (tests or hooks), every test is reported with the reason.
  const walk = (s: Mocha.Suite) => {
    for (const t of s.tests) {
      t.fn = async () => {};
      mark(t, reason);
    }
    for (const hooks of hookLists(s)) for (const h of hooks) if (h !== runnable) h.fn = async () => {};
    s.suites.forEach(walk);
  };
  walk(runnable.parent);
}

function hookLists(s: Mocha.Suite): Mocha.Hook[][] {
  const internal = s as unknown as Record<string, Mocha.Hook[] | undefined>;
  return ['_beforeAll', '_beforeEach', '_afterEach', '_afterAll'].map((k) => internal[k] ?? []);
}

function mark(t: Mocha.Test, reason: string): void {
  (t as Mocha.Test & { milkitSkip?: string }).milkitSkip = reason;
}
