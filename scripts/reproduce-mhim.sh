#!/usr/bin/env bash
# MHIM-MIL evidence for issue 4: MHIM-v2(AB-MIL) vs AB-MIL vs MHIM-v1(AB-MIL) on colon-cancer bags and
# MNIST-bags with large bags (mean 50 / 100, 1–3 positives), the Table-7 ablation, teacher
# initialisation and a βh curve. Writes results/mhim-{compare,ablation,teacher-init,sweep}.{json,md}.
#   scripts/reproduce-mhim.sh [OUT_DIR] [extra flags]     (default runs/mhim)
# Resumable: every run is `<OUT_DIR>/<dataset>/<setting>/rep<r>-fold<f>`; re-running skips finished
# folds and continues an interrupted one from its last checkpoint. To use both cores, train the data
# sets in parallel first, then run this script once more to write the tables:
#   node dist/mhim/reproduce.js --out runs/mhim --datasets colon --no-tables &
#   node dist/mhim/reproduce.js --out runs/mhim --datasets mnist50 --experiments compare --no-tables &
#   node dist/mhim/reproduce.js --out runs/mhim --datasets mnist100 --experiments compare --no-tables &
# Settings (see the protocol in each results file): AB-MIL in MHIM's ReLU form, 64-wide projection,
# no dropout, Adam lr 5e-4 cosine, wd 1e-5, 20 epochs, last-epoch weights, seed 2021; colon 5-fold CV
# at patient level, MNIST-bags one fixed split × 3 training seeds. CPU time on an idle 2-core machine:
# about 1 h (wasm backend).
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${1:-runs/mhim}
shift || true
npm run build --silent
node dist/mhim/reproduce.js --out "$OUT" --results results "$@"
