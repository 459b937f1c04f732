#!/usr/bin/env bash
# Runs on the GPU machine (repository root, gpu-pack/ carried, made by bench/gpu/overfit-pack.sh):
# builds native/torch against the machine's CUDA libtorch (bench/gpu/setup.sh), runs the CLI calls
# of gpu-pack/overfit/jobs.txt (or $JOBS) with the bundled CLI, PAR side by side (one ATen thread
# each: the GPU does the work), interrupts what still runs DEADLINE seconds after the start, and
# packs the finished runs into $OUT, the folder copied back from the GPU machine (bench/gpu/pack_runs.py).
# bench/gpu/overfit-unpack.sh puts them under runs/ here.
set -uo pipefail
cd "$(dirname "$0")/../.."
start=$(date +%s)
OUT=${OUT:-gpu-pack/out}
PAR=${PAR:-12}
DEADLINE=${DEADLINE:-480}
JOBS=${JOBS:-gpu-pack/overfit/jobs.txt}
RUNS=$(cat "$(dirname "$JOBS")/runs-base.txt")
LOGS=$PWD/gpu-pack/logs
mkdir -p "$OUT" "$LOGS" "$RUNS"
exec > >(tee "$OUT/overfit-runs.log") 2>&1
# shellcheck source=bench/gpu/setup.sh
source bench/gpu/setup.sh
# the CLI bundle where the pool's workers and the docs expect the CLI
mkdir -p dist/src && cp gpu-pack/x/cli.js dist/src/cli.js
export PIAT_THREADS=1 PIAT_DATA=$PWD/gpu-pack/data PIAT_RUNS=$RUNS PIAT_PROGRESS=lines LOGS
node dist/src/cli.js backend | grep -E '"(name|provider|device|malloc)"' || exit 4
echo "setup: $(( $(date +%s) - start )) s; $(wc -l < "$JOBS") jobs, $PAR at a time"
job() {
  local t0; t0=$(date +%s)
  # shellcheck disable=SC2086
  node dist/src/cli.js $1 > "$LOGS/$(echo "$1" | tr -c 'a-zA-Z0-9.\n-' '_').log" 2>&1
  echo "rc $? · $(( $(date +%s) - t0 )) s · $1"
}
export -f job
left=$(( DEADLINE - ($(date +%s) - start) ))
# timeout signals the whole process group: each CLI call stops after its current epoch (Ctrl-C's
# behaviour), and is killed 15 s later if still there
timeout -s INT -k 15 "$(( left > 1 ? left : 1 ))" xargs -P "$PAR" -d '\n' -n 1 bash -c 'job "$1"' _ < "$JOBS"
echo "jobs ended (or the deadline came) after $(( $(date +%s) - start )) s"
$PY bench/gpu/pack_runs.py "$RUNS" "$(dirname "$JOBS")/evaluated.txt" "$(realpath "$OUT")" "$LOGS"
ls -la "$OUT"
echo "total: $(( $(date +%s) - start )) s"
