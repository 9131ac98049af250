# Sourced by scripts/test-notebooks.sh and scripts/test-kernel.sh: a repo-local, Python-free tslab
# kernelspec and Jupyter directories under build/jupyter, so nothing touches the user's global
# Jupyter config or data dirs. Needs the Debian Jupyter packages (scripts/install-system-deps.sh).
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
JDIR="$ROOT/build/jupyter"
export JUPYTER_PATH="$JDIR" JUPYTER_DATA_DIR="$JDIR/data" JUPYTER_RUNTIME_DIR="$JDIR/runtime" \
  JUPYTER_CONFIG_DIR="$JDIR/config" IPYTHONDIR="$JDIR/ipython" JUPYTER_NO_CONFIG=1 \
  PYDEVD_DISABLE_FILE_VALIDATION=1 JUPYTER_PLATFORM_DIRS=1
TSLAB="$ROOT/node_modules/.bin/tslab"

milkit_jupyter_setup() {
  bash "$ROOT/scripts/install-system-deps.sh" || return 1
  if [ ! -x "$TSLAB" ]; then echo "tslab is not installed ($TSLAB): run npm ci" >&2; return 1; fi
  node "$ROOT/scripts/link-self.cjs" >/dev/null || return 1
  # Notebooks and the kernel import the compiled packages: rebuild when a source is newer than dist.
  # milkit_stale OUTPUT DIR...: OUTPUT is missing, or a .ts file under DIR... is newer.
  milkit_stale() { [ ! -f "$1" ] || [ -n "$(find "${@:2}" -newer "$1" -name '*.ts' -print -quit)" ]; }
  if milkit_stale "$ROOT/dist/index.js" "$ROOT/src"; then
    (cd "$ROOT" && npm run build --silent) || echo "warning: root build reported errors (dist may be partial)" >&2
  fi
  if milkit_stale "$ROOT/kernel-ext/dist/index.js" "$ROOT/kernel-ext/src" "$ROOT/dist"; then
    (cd "$ROOT" && npm run build --silent --workspace kernel-ext) || return 1
  fi
  mkdir -p "$JDIR/kernels/tslab" "$JUPYTER_DATA_DIR" "$JUPYTER_RUNTIME_DIR" "$JUPYTER_CONFIG_DIR"
  local spec='{"argv":["%s","kernel","--config-path","{connection_file}"],'
  spec+='"display_name":"TypeScript (tslab, milkit)","language":"typescript"}\n'
  # shellcheck disable=SC2059 # the format is the kernelspec above, with the tslab path for %s
  printf "$spec" "$TSLAB" > "$JDIR/kernels/tslab/kernel.json"
}
