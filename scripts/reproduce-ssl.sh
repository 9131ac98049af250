#!/usr/bin/env bash
# Issue 5's SSL experiments: SSL-pretrained vs no-SSL MIL at bag sizes 64 / 128 / 256 on
# MNIST-bags (1-3 nines among K digits) and colon (patches per patient), and contrastive vs
# reconstruction vs both. Writes results/ssl-bagsize.{json,md} and results/ssl-objectives.{json,md}.
#   scripts/reproduce-ssl.sh [flags]      e.g. --out runs/ssl-reproduce --steps 200 --epochs 10
# Flags: node dist/ssl/reproduce.js --help. Resumable: re-running reuses pretrained encoders, finished
# folds and finished cells under --out (default runs/ssl-reproduce). To spread the work over cores,
# run it per data set / method (--datasets mnist --methods random,both ...) with the same --out; each
# run writes the full tables (a subset run keeps the other cells; see src/ssl/reproduceTables.ts).
# Cost at the defaults: ~35 min CPU on one core (wasm); the end-to-end rows are most of it
# (MNIST end to end, 3 epochs: ~75 s CPU per fold at K = 128, ~2x that at K = 256).
# A second setting goes into ONE extra table with --table, in its own --out, e.g. 400 MNIST bags
# and the 1000-step contrastive encoder (results/ssl-mnist-bags400.{json,md}; ~6 min CPU for the MIL cells plus the
# 1000 pretraining steps, at most ~17 min CPU at bench:ssl's rate for the larger width-16 network):
#   scripts/reproduce-ssl.sh --out runs/ssl-mnist400 --table ssl-mnist-bags400 --datasets mnist \
#     --methods random,contrastive --bag-sizes 16,32,64,128,256 --steps 1000 --mnist-bags 400
# Pretraining cost per 10,000 patches: npm run bench:ssl -- --steps 8 --results results (results/ssl-bench.*).
set -euo pipefail
cd "$(dirname "$0")/.."
npm run build --silent
exec node dist/ssl/reproduce.js "$@"
