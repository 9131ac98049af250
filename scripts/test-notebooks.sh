#!/usr/bin/env bash
# Notebook stage: executes every notebooks/*.ipynb headlessly with the real tslab kernel (Debian
# nbclient), failing on any cell error (reply status or stderr) or on saved outputs that do not show
# what they should (test/kernel/notebook_checks.py). Executed copies go to build/notebooks/.
# Appends "notebooks <passed> <failed>" to $MILKIT_STATS.
# One notebook: scripts/test-notebooks.sh notebooks/01-mil-basics.ipynb
# Refresh the committed outputs (after changing a notebook or a view): scripts/test-notebooks.sh --update
set -uo pipefail
source "$(dirname "$0")/../test/kernel/env.sh"
cd "$ROOT"
stage=${MILKIT_STAGE:-notebooks}
if ! milkit_jupyter_setup; then
  [ -n "${MILKIT_STATS:-}" ] && echo "$stage 0 1" >> "$MILKIT_STATS"
  exit 1
fi
# The saved-output checks first: a checker that let everything pass would hide a broken notebook.
if ! checks=$(/usr/bin/python3 test/kernel/test_notebook_checks.py 2>&1); then
  echo "$checks"
  echo "FAIL the notebook output checks themselves (test/kernel/test_notebook_checks.py)"
  [ -n "${MILKIT_STATS:-}" ] && echo "$stage 0 1" >> "$MILKIT_STATS"
  exit 1
fi
update=(); if [ "${1:-}" = --update ]; then update=(--update); shift; fi
if [ $# -gt 0 ]; then books=("$@"); else books=(notebooks/*.ipynb); fi
exec nice /usr/bin/python3 test/kernel/run_notebooks.py build/notebooks "${books[@]}" "${update[@]}" \
  --timeout 300 --jobs "${MILKIT_NOTEBOOK_JOBS:-2}" ${MILKIT_STATS:+--stats "$MILKIT_STATS"} --stage "$stage"
