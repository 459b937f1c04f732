#!/usr/bin/env bash
# A single-node Slurm cluster on this machine, for the sweep integration test (test/sweep/slurm.test.ts)
# and for trying `piat sweep --slurm` by hand. Needs root and Debian's slurmctld, slurmd,
# slurm-client and munge (bash scripts/setup.sh --slurm installs them).
#
#   bash scripts/slurm-cluster.sh start DIR   config, state and logs in DIR; prints SLURM_CONF=DIR/slurm.conf
#   bash scripts/slurm-cluster.sh stop DIR    stops what start started, by the pids it recorded
#
# The node is this machine under its real name with its real CPU count; process tracking by
# /proc (proctrack/linuxproc) and no task plugin, so no cgroups are needed. The daemons listen on
# free ports and read only DIR/slurm.conf, so a system Slurm, if any, is left alone; clients find
# this cluster through SLURM_CONF. munged is started as the munge user only when none answers.
set -euo pipefail

die() { echo "slurm-cluster: $*" >&2; exit 1; }
[ $# -eq 2 ] || die "usage: $0 start|stop DIR"
cmd=$1
dir=$(mkdir -p "$2" && cd "$2" && pwd)

# stops a daemon by the pid in its pid file and waits for it to go (SIGKILL after 10 s)
stop_pid_file() {
  local f=$1 pid
  [ -f "$f" ] || return 0
  pid=$(cat "$f")
  if kill -0 "$pid" 2>/dev/null; then
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -0 "$pid" 2>/dev/null && kill -9 "$pid" 2>/dev/null || true
  fi
  rm -f "$f"
}

if [ "$cmd" = stop ]; then
  stop_pid_file "$dir/slurmd.pid"
  stop_pid_file "$dir/slurmctld.pid"
  # only a munged this script started (its pid was recorded here)
  stop_pid_file "$dir/munged.pid"
  exit 0
fi
[ "$cmd" = start ] || die "unknown command '$cmd' (start or stop)"

[ "$(id -u)" = 0 ] || die "needs root: slurmctld and slurmd run as root here, and munged is started as the munge user"
for b in slurmctld slurmd sbatch squeue scancel sinfo munged munge unmunge; do
  command -v "$b" >/dev/null 2>&1 || die "$b not found (bash scripts/setup.sh --slurm installs slurmctld, slurmd, slurm-client and munge)"
done

# munge: Slurm authenticates every message with it
if ! munge -n 2>/dev/null | unmunge >/dev/null 2>&1; then
  [ -f /etc/munge/munge.key ] || die "/etc/munge/munge.key is missing (reinstall munge: its set-up creates the key)"
  mkdir -p /run/munge /var/log/munge /var/lib/munge
  chown munge:munge /run/munge /var/log/munge /var/lib/munge
  chmod 0755 /run/munge
  runuser -u munge -- /usr/sbin/munged
  for _ in $(seq 50); do [ -f /run/munge/munged.pid ] && break; sleep 0.1; done
  [ -f /run/munge/munged.pid ] || die "munged did not start (see /var/log/munge/munged.log)"
  cp /run/munge/munged.pid "$dir/munged.pid"
  munge -n | unmunge >/dev/null || die "munged started but does not answer (see /var/log/munge/munged.log)"
fi

# two free TCP ports (a connection that succeeds means the port is taken)
free_port() {
  local p
  for _ in $(seq 200); do
    p=$((20000 + RANDOM % 30000))
    (echo >"/dev/tcp/127.0.0.1/$p") 2>/dev/null || { echo "$p"; return 0; }
  done
  die "no free TCP port found"
}
ctld_port=$(free_port)
slurmd_port=$(free_port)
[ "$ctld_port" != "$slurmd_port" ] || slurmd_port=$((ctld_port + 1))

host=$(hostname -s)
cpus=$(nproc)
mkdir -p "$dir/state" "$dir/spool"
cat >"$dir/slurm.conf" <<EOF
# single-node test cluster written by scripts/slurm-cluster.sh
ClusterName=piat-test
SlurmctldHost=$host(127.0.0.1)
SlurmctldPort=$ctld_port
SlurmdPort=$slurmd_port
AuthType=auth/munge
CredType=cred/munge
SlurmUser=root
SlurmdUser=root
StateSaveLocation=$dir/state
SlurmdSpoolDir=$dir/spool
SlurmctldPidFile=$dir/slurmctld.pid
SlurmdPidFile=$dir/slurmd.pid
SlurmctldLogFile=$dir/slurmctld.log
SlurmdLogFile=$dir/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
MpiDefault=none
# one CPU is the unit of allocation, so array tasks share the node
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
ReturnToService=2
# a cancelled task gets SIGTERM, then SIGKILL after KillWait seconds; finished jobs stay visible to squeue for MinJobAge seconds
KillWait=5
MinJobAge=60
SchedulerParameters=sched_interval=2
NodeName=$host NodeAddr=127.0.0.1 CPUs=$cpus State=UNKNOWN
PartitionName=debug Nodes=$host Default=YES MaxTime=INFINITE State=UP
EOF

export SLURM_CONF="$dir/slurm.conf"
slurmctld -f "$SLURM_CONF" || die "slurmctld did not start (see $dir/slurmctld.log)"
slurmd -f "$SLURM_CONF" -N "$host" || die "slurmd did not start (see $dir/slurmd.log)"
# ready when the node is idle in the partition
for _ in $(seq 150); do
  state=$(sinfo -h -N -n "$host" -o %t 2>/dev/null || true)
  [ "$state" = idle ] && { echo "SLURM_CONF=$SLURM_CONF"; exit 0; }
  sleep 0.2
done
echo "slurm-cluster: node $host not idle after 30 s (state '${state:-none}'); last lines of the logs:" >&2
tail -n 20 "$dir/slurmctld.log" "$dir/slurmd.log" >&2 || true
bash "$0" stop "$dir"
exit 1
