#!/usr/bin/env bash
# Issue 5's SSL experiments: SSL-pretrained vs no-SSL MIL at bag sizes 64 / 128 / 256 on
# MNIST-bags (1-3 nines among K digits) and colon (patches per patient), and contrastive vs
# reconstruction vs both. Writes results/ssl-bagsize.{json,md} and results/ssl-objectives.{json,md}.
#   scripts/reproduce-ssl.sh [flags]      e.g. --out runs/ssl-reproduce --steps 200 --epochs 10
# Flags: node dist/ssl/reproduce.js --help. Resumable: re-running reuses pretrained encoders, finished
# folds and finished cells under --out (default runs/ssl-reproduce). To spread the work over cores,
# run it per data set / method (--datasets mnist --methods random,both ...) with the same --out, then
# once more with no flags to assemble the tables.
# Cost at the defaults: ~35 min CPU on one core (wasm); the end-to-end rows are most of it.
set -euo pipefail
cd "$(dirname "$0")/.."
npm run build --silent
exec node dist/ssl/reproduce.js "$@"
