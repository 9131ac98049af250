#!/usr/bin/env bash
# Kernel stage: Jupyter protocol test of the tslab kernel with milkit-kernel's displays
# (Debian jupyter_kernel_test). Appends "kernel <passed> <failed>" to $MILKIT_STATS.
set -uo pipefail
source "$(dirname "$0")/../test/kernel/env.sh"
cd "$ROOT"   # the kernel resolves tslab, milkit and milkit-kernel from ./node_modules
export MILKIT_STAGE=${MILKIT_STAGE:-kernel}
if ! milkit_jupyter_setup; then
  [ -n "${MILKIT_STATS:-}" ] && echo "$MILKIT_STAGE 0 1" >> "$MILKIT_STATS"
  exit 1
fi
exec nice /usr/bin/python3 test/kernel/test_tslab_kernel.py
