#!/usr/bin/env bash
# Debian packages the notebook and browser tests need, OpenBLAS + OpenSlide + a compiler for the
# optional native addons (native/, built by `npm ci`'s postinstall), the independent tools the tests
# compare against (vips, PIL, h5py; compress, which writes UCI's .Z files), and Slurm + munge for the
# sweep tests' single-node cluster (scripts/start-slurm.sh). Idempotent; skips apt when all are present.
set -euo pipefail
PKGS=(python3-jupyterlab-server python3-nbclient python3-nbconvert python3-jupyter-kernel-test
      python3-ipython python3-ipykernel chromium fonts-dejavu-core
      libopenblas-dev g++ make slurm-wlm munge
      libopenslide-dev libvips-tools python3-pil python3-h5py ncompress)
missing=()
for p in "${PKGS[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
if [ ${#missing[@]} -gt 0 ]; then
  SUDO=; [ "$(id -u)" -ne 0 ] && SUDO=sudo
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
