#!/usr/bin/env bash
# The whole test suite (README: `npm test`). Every stage appends "<stage> <passed> <failed> [<skipped>]"
# (and "#skip <stage> | <test> | <reason>" lines) to $MILKIT_STATS; the last line printed is the total
# "N passed, N failed, N skipped" that CI reads (scripts/test-lib.sh).
# Stages: unit (mocha, no external data), data (mocha on ../shared/data: real data sets),
# then the notebook, kernel-protocol and browser stages when their scripts exist.
set -uo pipefail
cd "$(dirname "$0")/.."
export MILKIT_STATS="${MILKIT_STATS:-$(mktemp)}"
: > "$MILKIT_STATS"
status=0
source scripts/test-lib.sh

npm run build --silent || { echo "build 0 1" >> "$MILKIT_STATS"; status=1; }
for ws in kernel-ext jupyterlab-plugin; do
  if [ -f "$ws/package.json" ] && grep -q '"build"' "$ws/package.json"; then
    npm run build --silent --workspace "$ws" || { echo "build-$ws 0 1" >> "$MILKIT_STATS"; status=1; }
  fi
done
# check NAME CMD...: one whole-repository check, counted as one passed or one failed test.
check() { if "${@:2}"; then echo "$1 1 0" >> "$MILKIT_STATS"; else echo "$1 0 1" >> "$MILKIT_STATS"; status=1; fi; }
# The test tree type-checked too (tsx runs tests without checking types): a failure counts as one.
check typecheck npm run typecheck --silent
# ESLint + Prettier over the whole repository (eslint.config.mjs, .prettierrc.json): a failure counts as one.
check lint npm run lint --silent
# No import cycles in src/ (npm run check:cycles, dpdm): a failure counts as one.
check cycles npm run check:cycles --silent
stage unit npx mocha
stage data npx mocha --config .mocharc.data.json
# The bf16 test in a process of its own: after the rest of the data suite the bf16 path is not taken
# (outputs stay float32, correct but not faster; cause not found yet), while a fresh process takes it.
stage data-bf16 npx mocha --config .mocharc.data-bf16.json
for extra in scripts/test-notebooks.sh scripts/test-kernel.sh scripts/test-browser.sh; do
  [ -x "$extra" ] && stage "$(basename "$extra" .sh)" "$extra"
done

summary "$MILKIT_STATS"
exit $status
