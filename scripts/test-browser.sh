#!/usr/bin/env bash
# Browser stage: the prebuilt milkit-jupyterlab extension in a real JupyterLab 4.6.4 (npm-built
# host served by Debian's jupyterlab_server, Debian's Chromium via playwright-core), with stored
# outputs and a live tslab notebook. Screenshots and timings go to build/e2e/.
# Appends "browser <passed> <failed>" to $MILKIT_STATS; exits non-zero on any failure.
set -uo pipefail
source "$(dirname "$0")/../test/kernel/env.sh"   # repo-local JUPYTER_PATH + tslab kernelspec (shared with the notebook stage)
cd "$ROOT"
STAGE=${MILKIT_STAGE:-browser}
OUT="$ROOT/build/e2e"
fail() { echo "browser stage: $*" >&2; [ -n "${MILKIT_STATS:-}" ] && echo "$STAGE 0 1" >> "$MILKIT_STATS"; exit 1; }

milkit_jupyter_setup || fail "jupyter/tslab setup failed"
PLUGIN="$ROOT/jupyterlab-plugin"
# Rebuild the extension only when its sources or milkit's core are newer than the artifact.
if [ ! -f "$PLUGIN/labext/package.json" ] || [ -n "$(find "$PLUGIN/src" "$PLUGIN/style" "$ROOT/dist/core.js" "$ROOT/dist/viz" "$ROOT/dist/mhim" -newer "$PLUGIN/labext/package.json" -type f -print -quit)" ]; then
  nice npm run build --silent --workspace jupyterlab-plugin || fail "extension build failed"
fi
nice npm run build:e2e --silent --workspace jupyterlab-plugin > "$OUT.host-build.log" 2>&1 || { cat "$OUT.host-build.log"; fail "e2e host build failed"; }
mkdir -p "$OUT"
MILKIT_JUPYTER_PATH="$JUPYTER_PATH" node "$PLUGIN/e2e/lab.test.mjs" "$OUT" 2>&1 | tee "$OUT/browser-test.log"
status=${PIPESTATUS[0]}
line=$(grep -E '^browser: [0-9]+ passed, [0-9]+ failed' "$OUT/browser-test.log" | tail -1)
[ -n "$line" ] || fail "the browser test crashed before reporting (see $OUT/browser-test.log)"
passed=$(sed -E 's/^browser: ([0-9]+) passed.*/\1/' <<< "$line")
failed=$(sed -E 's/.* ([0-9]+) failed$/\1/' <<< "$line")
[ -n "${MILKIT_STATS:-}" ] && echo "$STAGE $passed $failed" >> "$MILKIT_STATS"
echo "artifacts: $OUT/*.png, $OUT/slider-timing.json"
[ "$status" -eq 0 ] && [ "$failed" -eq 0 ]
