#!/usr/bin/env bash
# The catalogue table (issue 9): every registered model on MUSK1 (standard 5 × 10-fold, accuracy) and
# MNIST-bags (100 training bags, 1000 test bags, test AUC, 3 repetitions), with the published numbers
# beside ours, written to results/catalogue.json + results/catalogue.md. Resumable: re-running keeps
# finished folds (runs/catalogue/<model>/...); --only a,b re-measures those rows and keeps the others.
#   scripts/reproduce-catalogue.sh [--only abmil,dsmil] [--musk1-epochs 20] [--mnist-epochs 20] [--mnist-reps 3]
#                                  [--musk1-repeats 5] [--out runs/catalogue] [--results results]
# Setting (src/train/catalogue.ts): registered defaults, embedDim 64, dropout 0, Adam 5e-4 + cosine,
# last-epoch weights, seed 2021; MUSK1 standardised per training fold.
set -euo pipefail
cd "$(dirname "$0")/.."
npm run build --silent
exec node dist/train/catalogue.js "$@"
