#!/usr/bin/env bash
# MUSK1, the standard 5 × 10-fold protocol (../shared/data/musk1/musk1.folds.json), for AB-MIL and
# gated AB-MIL: the numbers for the README. Resumable: re-running continues unfinished folds.
#   scripts/reproduce-musk1.sh [OUT_DIR]        (default runs/musk1-reproduce)
# Setting: projection 166 → 64 (GELU), no dropout, Adam lr 5e-4 with cosine decay, weight decay 1e-5
# (L2), 20 epochs, batch 1 bag, features standardised with each fold's training statistics, the
# weights after the last epoch (no model selection on the test fold), seed 2021.
# Published (Ilse et al. 2018, 5 × 10-fold accuracy): attention 0.892, gated attention 0.900.
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${1:-runs/musk1-reproduce}
DATA=${MILKIT_DATA:-../shared/data}
mkdir -p "$OUT"
npm run build --silent
[ -f "$OUT/musk1.arrow" ] || node bin/milkit.js dataset musk1 --source "$DATA/musk1" --out "$OUT/musk1.arrow" --quiet
for model in abmil gabmil; do
  node bin/milkit.js train --model "$model" --model-config '{"embedDim":64,"dropout":0}' \
    --data "$OUT/musk1.arrow" --splits "$OUT/musk1.splits.json" \
    --epochs 20 --lr 5e-4 --standardize --select last --seed 2021 \
    --out "$OUT/$model" --resume --json --quiet > "$OUT/$model.summary.json"
  node -e '
    const s = require(process.argv[1]);
    const f = (m) => `${m.mean.toFixed(3)} ± ${m.sd.toFixed(3)}`;
    const r = s.repeatSummary ?? s.summary;
    console.log(`${process.argv[2]}: accuracy ${f(r.accuracy)}, AUC ${f(r.auc)} (mean over repetitions ± sd across repetitions); over all ${s.folds.length} folds: accuracy ${f(s.summary.accuracy)}`);
  ' "$(realpath "$OUT/$model.summary.json")" "$model"
done
