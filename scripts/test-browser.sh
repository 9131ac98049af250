#!/usr/bin/env bash
# Browser stage, four parts in Debian's Chromium (playwright-core):
#  1. standalone: the extension's renderers in a plain page (no JupyterLab): every view, object and
#     string bundles, error messages, untrusted-data safety, the 50,000-patch heatmap timing
#     (e2e/standalone.test.mjs, ~20 s), and the slide view with its 50,000-patch timing
#     (e2e/slide.test.mjs, ~30 s);
#  2. the prebuilt milkit-jupyterlab extension in a real JupyterLab 4.6.4 (npm-built host served by
#     Debian's jupyterlab_server) with stored outputs, light and dark theme, keyboard, and a live
#     tslab notebook that is run, saved and reopened, and the slide view of a live notebook on CMU-1
#     with patches fetched from the kernel (e2e/lab.test.mjs);
#  3. sharing: the committed notebooks opened untrusted in JupyterLab WITHOUT the extension show
#     every figure (e2e/untrusted.test.mjs);
#  4. `milkit report` of a small real run, with JavaScript on and off (e2e/report.test.mjs).
# Screenshots and timings go to build/e2e/. Appends "browser <passed> <failed>" (both parts) to
# $MILKIT_STATS; exits non-zero on any failure.
set -uo pipefail
# A repo-local JUPYTER_PATH + tslab kernelspec (shared with the notebook stage).
source "$(dirname "$0")/../test/kernel/env.sh"
cd "$ROOT"
STAGE=${MILKIT_STAGE:-browser}
OUT="$ROOT/build/e2e"
fail() { echo "browser stage: $*" >&2; [ -n "${MILKIT_STATS:-}" ] && echo "$STAGE 0 1" >> "$MILKIT_STATS"; exit 1; }

milkit_jupyter_setup || fail "jupyter/tslab setup failed"
PLUGIN="$ROOT/jupyterlab-plugin"
mkdir -p "$OUT"
# Rebuild the extension only when its sources or milkit's core are newer than the artifact.
if [ ! -f "$PLUGIN/labext/package.json" ] || [ -n "$(find "$PLUGIN/src" "$PLUGIN/style" "$ROOT/dist/core.js" \
  "$ROOT/dist/viz" "$ROOT/dist/mhim" -newer "$PLUGIN/labext/package.json" -type f -print -quit)" ]; then
  nice npm run build --silent --workspace jupyterlab-plugin || fail "extension build failed"
fi
# The two test pages, each rebuilt only when an input is newer than its bundle (~5-10 s each).
stale() { [ ! -f "$1" ] || [ -n "$(find "${@:2}" -newer "$1" -type f -not -path '*/build/*' -print -quit)" ]; }
E2E="$PLUGIN/e2e"
if stale "$E2E/standalone/build/bundle.js" "$E2E/standalone" "$PLUGIN/lib" "$PLUGIN/style" "$ROOT/dist/core.js" \
  "$ROOT/package-lock.json"; then
  nice npm run build:standalone --silent --workspace jupyterlab-plugin > "$OUT/standalone-build.log" 2>&1 ||
    { cat "$OUT/standalone-build.log"; fail "standalone page build failed"; }
fi
if stale "$E2E/host/build/bundle.js" "$E2E/host" "$PLUGIN/package.json" "$ROOT/package-lock.json"; then
  nice npm run build:e2e --silent --workspace jupyterlab-plugin > "$OUT/e2e-build.log" 2>&1 ||
    { cat "$OUT/e2e-build.log"; fail "JupyterLab host build failed"; }
fi

node "$PLUGIN/e2e/standalone.test.mjs" "$OUT" 2>&1 | tee "$OUT/standalone-test.log"
status=${PIPESTATUS[0]}
node "$PLUGIN/e2e/slide.test.mjs" "$OUT" 2>&1 | tee "$OUT/slide-test.log"
[ "${PIPESTATUS[0]}" -eq 0 ] || status=1
MILKIT_JUPYTER_PATH="$JUPYTER_PATH" node "$PLUGIN/e2e/lab.test.mjs" "$OUT" 2>&1 | tee "$OUT/browser-test.log"
[ "${PIPESTATUS[0]}" -eq 0 ] || status=1
node "$PLUGIN/e2e/untrusted.test.mjs" "$OUT" 2>&1 | tee "$OUT/untrusted-test.log"
[ "${PIPESTATUS[0]}" -eq 0 ] || status=1
node "$PLUGIN/e2e/report.test.mjs" "$OUT" 2>&1 | tee "$OUT/report-test.log"
[ "${PIPESTATUS[0]}" -eq 0 ] || status=1

passed=0; failed=0
for part in standalone slide browser untrusted report; do
  log="$OUT/$part-test.log"
  line=$(grep -E "^$part: [0-9]+ passed, [0-9]+ failed" "$log" | tail -1)
  [ -n "$line" ] || fail "the $part test crashed before reporting (see $log)"
  passed=$((passed + $(sed -E 's/^[a-z]+: ([0-9]+) passed.*/\1/' <<< "$line")))
  failed=$((failed + $(sed -E 's/.* ([0-9]+) failed$/\1/' <<< "$line")))
done
echo "browser stage: $passed passed, $failed failed" \
  "(standalone, slide view, JupyterLab, untrusted without the extension, report)"
[ -n "${MILKIT_STATS:-}" ] && echo "$STAGE $passed $failed" >> "$MILKIT_STATS"
echo "artifacts: $OUT/*.png, $OUT/slider-timing.json, $OUT/heatmap-timing.json, $OUT/report.html"
[ "$status" -eq 0 ] && [ "$failed" -eq 0 ]
