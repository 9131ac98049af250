# Sourced by scripts/test-all.sh (and its own test, test/suite/summary.test.ts): run a stage and
# count it honestly, then print the summary. $MILKIT_STATS holds "<stage> <passed> <failed> [<skipped>]"
# lines, "#skip <stage> | <test> | <reason>" for every skipped test and "#fail <text>" for failures
# that are not tests; `status` becomes 1 when anything failed.

stage() { # name command...
  local name=$1; shift
  echo "=== stage: $name"
  local before; before=$(wc -l < "$MILKIT_STATS")
  MILKIT_STAGE=$name "$@"
  local code=$?
  # A stage that crashed before reporting counts as one failure, never as silence; one that exits
  # non-zero while its own counts show no failure counts as one failure too.
  local reported; reported=$(tail -n +"$((before + 1))" "$MILKIT_STATS" | awk '!/^#/ {n++; f+=$3} END {print n+0, f+0}')
  if [ "${reported% *}" -eq 0 ]; then
    echo "$name 0 1 0" >> "$MILKIT_STATS"
  elif [ "$code" -ne 0 ] && [ "${reported#* }" -eq 0 ]; then
    echo "$name-exit-code 0 1 0" >> "$MILKIT_STATS"
    echo "#fail $name exited with code $code although it reported no failing test" >> "$MILKIT_STATS"
  fi
  [ "$code" -eq 0 ] || status=1
}

# The counts per stage, the failures outside tests, every skip with its reason, then the one line CI
# reads: "N passed, N failed, N skipped". A skip without a reason is a failure: nobody could tell
# whether it hides one.
summary() { # stats-file
  local stats=$1
  local unexplained='^#skip [^ ]* | .* |[[:space:]]*$'
  echo "--- per stage (passed failed skipped):"
  awk '!/^#/ {printf "%s %d %d %d\n", $1, $2, $3, $4}' "$stats"
  if grep -q -e '^#fail ' -e "$unexplained" "$stats"; then
    echo "--- failures outside the tests:"
    sed -n -e 's/^#fail /  /p' \
      -e 's/^#skip \([^ ]*\) | \(.*\) |[[:space:]]*$/  \1: \2: skipped without a reason/p' "$stats"
  fi
  if grep -q '^#skip ' "$stats"; then
    echo "--- skipped (stage: test: reason):"
    sed -n 's/^#skip \([^ ]*\) | \(.*\) | \(.*[^[:space:]].*\)$/  \1: \2: \3/p' "$stats"
  fi
  local missing; missing=$(grep -c "$unexplained" "$stats")
  awk -v missing="$missing" '!/^#/ {p+=$2; f+=$3; s+=$4}
    END {printf "%d passed, %d failed, %d skipped\n", p, f + missing, s - missing}' "$stats"
}
