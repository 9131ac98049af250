/**
 * Writes the whole bad-input corpus into a folder and prints its cases as JSON (run by
 * corpus.test.ts in a child process, so the list of cases, one `it` each, is known when mocha
 * collects the tests; building it needs async writers and the real CLI).
 *   node -r tsx/cjs test/data-suite/corpus/build.ts DIR FOREIGN_FIXTURES
 */
import { buildCorpus } from './cases';
import { buildRunCorpus } from './runCases';

async function main(): Promise<void> {
  const [dir, foreign] = process.argv.slice(2);
  const cases = [...(await buildCorpus(dir, foreign)), ...buildRunCorpus(dir)];
  process.stdout.write(JSON.stringify(cases));
}

main().catch((err) => {
  process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
