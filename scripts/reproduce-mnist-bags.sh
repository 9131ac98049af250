#!/usr/bin/env bash
# MNIST-bags (Ilse, Tomczak & Welling, ICML 2018, the mean-bag-size-10 experiment): test AUC on 1000
# test bags after training on 50 / 100 / 150 / 200 bags, for attention and gated-attention MIL with
# the paper's LeNet-5 instance encoder trained end to end (model `image-mil`). Writes
# results/mnist-bags.json + .md. Resumable: finished runs are kept in OUT_DIR and skipped.
#   scripts/reproduce-mnist-bags.sh [OUT_DIR]      (default runs/mnist-bags-reproduce)
#   REPS=3 (repetitions: data-set seed and training seed r = 1..REPS), JOBS=2 (runs in parallel),
#   EPOCHS=25, SIZES="50 100 150 200", TABLE_ONLY=1 (only write the table from finished runs)
# Setting (Ilse et al.'s code): bag size trunc(N(10, 2)), target digit 9, training bags from MNIST
# train and 1000 test bags from MNIST test (new bags for every repetition); conv5-20, ReLU, pool,
# conv5-50, ReLU, pool, fc-500 + ReLU (the MIL model's projection), attention 500 → 128 → 1 (tanh;
# gated: tanh ⊙ sigmoid), no dropout; Adam lr 5e-4 (cosine decay), weight decay 1e-4, batch 1 bag,
# the weights after the last epoch (no selection on the test bags).
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${1:-runs/mnist-bags-reproduce}
REPS=${REPS:-3}
JOBS=${JOBS:-2}
EPOCHS=${EPOCHS:-25}
SIZES=${SIZES:-50 100 150 200}
START=$(date +%s)
mkdir -p "$OUT/data"
npm run build --silent || echo "(build reported errors; dist is used as emitted)"
declare -A CONFIG=(
  [attention]='{"mil":"abmil","milConfig":{"attentionDim":128}}'
  [gated]='{"mil":"gabmil","milConfig":{"attentionDim":128,"attentionDropout":0}}'
)
# TABLE_ONLY=1 writes the table from the runs finished so far (e.g. after stopping a long run, or
# while one is running): it makes no data and leaves jobs.txt alone, which a running xargs reads.
if [ -z "${TABLE_ONLY:-}" ]; then
  # The job list goes to a temporary file renamed into place: an xargs of an earlier invocation that
  # is still reading jobs.txt keeps its whole list (the old file) instead of a truncated one.
  jobs_file="$OUT/jobs.txt"
  jobs_tmp=$(mktemp "$jobs_file.XXXXXX")
  trap 'rm -f "$jobs_tmp"' EXIT
  for r in $(seq 1 "$REPS"); do
    for n in $SIZES; do
      data="$OUT/data/mb$n-r$r.arrow"
      [ -f "${data%.arrow}.splits.json" ] || node bin/milkit.js dataset mnist-bags --train-bags "$n" --test-bags 1000 --seed "$r" --out "$data" --quiet
      for m in attention gated; do
        run="$OUT/$m-$n-r$r"
        [ -f "$run/summary.json" ] && continue
        echo "node bin/milkit.js train --model image-mil --model-config '${CONFIG[$m]}' --data $data --splits ${data%.arrow}.splits.json --epochs $EPOCHS --lr 5e-4 --weight-decay 1e-4 --select last --seed $r --out $run --resume --json --quiet > $run.summary.tmp && mv $run.summary.tmp $run/summary.json" >> "$jobs_tmp"
      done
    done
  done
  chmod 644 "$jobs_tmp"
  mv "$jobs_tmp" "$jobs_file"
  echo "$(wc -l < "$jobs_file") runs to do, $JOBS at a time"
  xargs -P "$JOBS" -d '\n' -I{} bash -c {} < "$jobs_file" || echo "(some runs failed; see above)"
fi
node -e '
  const fs = require("fs");
  const { writeReproduction } = require("./dist/train/reproduction");
  const [out, sizes, reps, epochs, seconds] = [process.argv[1], process.argv[2].split(" ").map(Number), Number(process.argv[3]), process.argv[4], Number(process.argv[5])];
  const auc = (m, n) => [...Array(reps).keys()].map((i) => `${out}/${m}-${n}-r${i + 1}/summary.json`).filter(fs.existsSync).map((f) => JSON.parse(fs.readFileSync(f, "utf8")).summary.auc.mean);
  const columns = sizes.map((n) => `${n} bags`);
  const published = { attention: Object.fromEntries(columns.map((c, i) => [c, [0.914, 0.963, 0.977, 0.984][[50, 100, 150, 200].indexOf(sizes[i])]]).filter(([, v]) => v !== undefined)) };
  const file = writeReproduction("results", "mnist-bags", {
    title: "MNIST-bags (mean bag size 10): test AUC by number of training bags",
    caption: `LeNet-5 instance encoder trained end to end; mean ± sd over the repetitions finished (up to ${reps}; new training and test bags and a new seed each; a cell without ± is one repetition): ${columns.map((c, i) => `${c} ${Math.min(auc("attention", sizes[i]).length, auc("gated", sizes[i]).length)}`).join(", ")}; 1000 test bags`,
    columns,
    rows: ["attention", "gated"].map((m) => ({ label: m, cells: sizes.map((n) => auc(m, n)) })),
  }, {
    command: `SIZES="${sizes.join(" ")}" REPS=${reps} EPOCHS=${epochs} scripts/reproduce-mnist-bags.sh`,
    protocol: `Ilse et al. 2018 MNIST-bags: target 9, bag size trunc(N(10, 2)), train bags from MNIST train, 1000 test bags from MNIST test; model image-mil (conv5-20/pool/conv5-50/pool, fc-500 ReLU, attention 128, no dropout), Adam lr 5e-4 cosine, weight decay 1e-4, ${epochs} epochs, last-epoch weights; ${reps} repetitions`,
    published: { source: "Ilse, Tomczak & Welling, ICML 2018 (attention, AUC as quoted in milkit issue 3)", values: published },
    ...(seconds > 0 ? { seconds } : {}), // TABLE_ONLY: no training time to report
  });
  console.log(fs.readFileSync(file.replace(/json$/, "md"), "utf8"));
' "$OUT" "$SIZES" "$REPS" "$EPOCHS" "$([ -n "${TABLE_ONLY:-}" ] && echo 0 || echo $(( $(date +%s) - START )))"
