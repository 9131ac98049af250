#!/usr/bin/env bash
# A real single-node Slurm cluster on this machine (munged + slurmctld + slurmd as root, no systemd,
# no cgroups, no accounting), for `milkit sweep --executor slurm` and its tests.
#
#   scripts/start-slurm.sh               start; prints where its state lives
#   scripts/start-slurm.sh --print-env   start, then print the `export ...` lines a shell needs:
#                                          eval "$(scripts/start-slurm.sh --print-env)"
#   scripts/start-slurm.sh --stop [DIR]  stop every daemon this script started (by PID) and remove DIR
#                                          (default: the folder of $SLURM_CONF)
#
# Config, state, logs and PID files live in one temp folder (mktemp -d); the controller and node
# ports are the first free pair from 6817, so a second cluster (another checkout's tests) can run
# beside this one. munged is shared: started (and later stopped) only when none answers.
# Needs Debian's slurm-wlm and munge (scripts/install-system-deps.sh installs them). Every wait is
# bounded: a daemon that does not come up fails the start after START_TIMEOUT seconds (default 60).
set -euo pipefail

START_TIMEOUT=${START_TIMEOUT:-60}
CPUS=${SLURM_CPUS:-$(nproc)}

die() { echo "start-slurm: $*" >&2; exit 1; }

# Kills the PID in file $1 (if it is running), waiting up to 10 s before SIGKILL.
stop_pid_file() {
  local file=$1 pid
  [ -s "$file" ] || return 0
  pid=$(cat "$file")
  kill -0 "$pid" 2>/dev/null || return 0
  kill "$pid" 2>/dev/null || true
  for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || return 0; sleep 0.1; done
  kill -9 "$pid" 2>/dev/null || true
}

stop() {
  local dir=${1:-}
  if [ -z "$dir" ]; then
    [ -n "${SLURM_CONF:-}" ] || die "--stop needs the cluster folder (or SLURM_CONF in the environment)"
    dir=$(dirname "$SLURM_CONF")
  fi
  [ -f "$dir/slurm.conf" ] || die "$dir is not a folder written by start-slurm.sh (no slurm.conf)"
  # The node first (it may be running job steps), then the controller, then munged if it was ours.
  stop_pid_file "$dir/slurmd.pid"
  stop_pid_file "$dir/slurmctld.pid"
  stop_pid_file "$dir/munged.pid"
  rm -rf "$dir"
  echo "start-slurm: stopped the cluster in $dir" >&2
}

port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

start() {
  command -v slurmctld >/dev/null && command -v munged >/dev/null ||
    die "slurm-wlm and munge are not installed (apt-get install -y slurm-wlm munge)"
  [ "$(id -u)" -eq 0 ] || die "must run as root (slurmd and munged need it)"
  local dir host port
  dir=$(mktemp -d "${TMPDIR:-/tmp}/milkit-slurm.XXXXXX")
  chmod 755 "$dir"
  # A failed start leaves nothing running and no folder behind (start runs in a subshell: EXIT).
  trap 'stop "$dir" >/dev/null 2>&1 || true' EXIT

  # munge: a key (1024 random bytes) if missing, owned by the munge user; reuse a running munged.
  if ! (munge -n | unmunge) >/dev/null 2>&1; then
    mkdir -p /etc/munge /var/lib/munge /var/log/munge /run/munge
    [ -s /etc/munge/munge.key ] || dd if=/dev/urandom of=/etc/munge/munge.key bs=1024 count=1 status=none
    chown -R munge:munge /etc/munge /var/lib/munge /var/log/munge /run/munge
    chmod 400 /etc/munge/munge.key
    # Daemons get no handle on our stdout: `$(start)` would otherwise wait for them forever.
    timeout 30 su -s /bin/sh munge -c /usr/sbin/munged </dev/null >/dev/null 2>&1
    pgrep -u munge -n -x munged > "$dir/munged.pid" || die "munged did not start (see /var/log/munge/munged.log)"
    for _ in $(seq 50); do (munge -n | unmunge) >/dev/null 2>&1 && break; sleep 0.1; done
    (munge -n | unmunge) >/dev/null 2>&1 || die "munged does not answer (see /var/log/munge/munged.log)"
  fi

  host=$(hostname -s)
  port=6817
  while ! { port_free "$port" && port_free $((port + 1)); }; do
    port=$((port + 2))
    [ "$port" -lt 6900 ] || die "no free port pair in 6817..6899"
  done
  mkdir -p "$dir/state" "$dir/spool"
  cat > "$dir/slurm.conf" <<EOF
# Written by scripts/start-slurm.sh: a single-node cluster for milkit's tests.
ClusterName=milkit
SlurmctldHost=$host
SlurmctldPort=$port
SlurmdPort=$((port + 1))
SlurmUser=root
StateSaveLocation=$dir/state
SlurmdSpoolDir=$dir/spool
SlurmctldPidFile=$dir/slurmctld.pid
SlurmdPidFile=$dir/slurmd.pid
SlurmctldLogFile=$dir/slurmctld.log
SlurmdLogFile=$dir/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
ReturnToService=2
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
MpiDefault=none
# Short grace between SIGTERM and SIGKILL (scancel, time limit): a unit checkpoints within it.
KillWait=10
MaxArraySize=10001
NodeName=$host CPUs=$CPUS RealMemory=20000 State=UNKNOWN
PartitionName=debug Nodes=$host Default=YES MaxTime=INFINITE State=UP
EOF
  export SLURM_CONF=$dir/slurm.conf
  timeout 30 slurmctld -f "$SLURM_CONF" </dev/null >/dev/null 2>&1
  timeout 30 slurmd -f "$SLURM_CONF" </dev/null >/dev/null 2>&1
  local deadline=$((SECONDS + START_TIMEOUT))
  until timeout 5 sinfo -h -o '%t' 2>/dev/null | grep -Eq '^(idle|mix|alloc)'; do
    [ "$SECONDS" -lt "$deadline" ] ||
      die "the node did not become idle within ${START_TIMEOUT}s (logs: $dir/slurmctld.log, $dir/slurmd.log)"
    sleep 0.5
  done
  trap - EXIT
  echo "$dir"
}

case "${1:-}" in
  --stop) stop "${2:-}" ;;
  --print-env)
    dir=$(start)
    echo "export SLURM_CONF=$dir/slurm.conf"
    echo "# stop with: scripts/start-slurm.sh --stop $dir"
    ;;
  '')
    dir=$(start)
    echo "start-slurm: a single-node cluster is up; its folder: $dir" >&2
    echo "  export SLURM_CONF=$dir/slurm.conf    # every Slurm client needs it" >&2
    echo "  scripts/start-slurm.sh --stop $dir   # stops it" >&2
    ;;
  -h | --help) sed -n '2,16p' "$0" | sed 's/^# \{0,1\}//' ;;
  *) die "unknown option $1 (--print-env, --stop [DIR], --help)" ;;
esac
