#!/usr/bin/env bash
# Colon cancer bags (shared/data/colon-crchp): AB-MIL and gated AB-MIL, 5-fold CV × REPS repetitions;
# bag accuracy / AUC and the instance AUC of the attention against the nucleus labels. Writes
# results/colon.json + .md. Resumable: finished folds in OUT_DIR are kept (the Trainer's --resume).
#   scripts/reproduce-colon.sh [OUT_DIR]      (default runs/colon-reproduce)
#   REPS=5 (repetitions of 5-fold CV, as Ilse et al.), EPOCHS=20
# Protocol details: scripts/reproduce-colon.cjs (and the protocol string in results/colon.md).
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${1:-runs/colon-reproduce}
npm run build --silent || echo "(build reported errors; dist is used as emitted)"
node scripts/reproduce-colon.cjs "$OUT" "${REPS:-5}" "${EPOCHS:-20}"
