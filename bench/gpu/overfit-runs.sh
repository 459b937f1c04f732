#!/usr/bin/env bash
# Runs on the GPU machine (repository root, gpu-pack/ carried, made by bench/gpu/overfit-pack.sh):
# builds native/torch against the machine's CUDA libtorch, then runs gpu-pack/overfit/jobs.txt (or $JOBS) with
# the bundled CLI, PAR calls side by side (one ATen thread each: the GPU does the work), stops what
# is still running DEADLINE seconds after the start, and packs the finished runs into $OUT in files
# the device tool brings back (at most 8, 16 MiB each): runs-small.tgz (every run's records,
# configs, states and evaluation caches, the job logs) and weights.tgz.part-* (Best and Final
# weights of the evaluated runs, which key their evaluation caches). bench/gpu/overfit-unpack.sh
# puts them under runs/ here.
set -uo pipefail
cd "$(dirname "$0")/../.."
start=$(date +%s)
OUT=${OUT:-gpu-pack/out}
PAR=${PAR:-12}
DEADLINE=${DEADLINE:-480}
RUNS=/tmp/piat-gpu-runs
JOBS=${JOBS:-gpu-pack/overfit/jobs.txt}
mkdir -p "$OUT" gpu-pack/x gpu-pack/logs "$RUNS"
exec > >(tee "$OUT/overfit-runs.log") 2>&1
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader
PY=$(command -v python3 || command -v python)
tar -C gpu-pack/x -xf gpu-pack/pack.tar
xz -dc gpu-pack/x/node.xz > gpu-pack/x/node && chmod +x gpu-pack/x/node
export PATH=$PWD/gpu-pack/x:$PATH
TORCH_DIR=$($PY -c 'import torch, os; print(os.path.dirname(torch.__file__))')
PIAT_LIBTORCH=$TORCH_DIR NODE_INCLUDE=$PWD/gpu-pack/x/node-include PIAT_NATIVE_OUT=gpu-pack/build bash scripts/build-native.sh || exit 3
# the CLI bundle where the pool's workers and the docs expect the CLI
mkdir -p dist/src && cp gpu-pack/x/cli.js dist/src/cli.js
export PIAT_TORCH_ADDON=$PWD/gpu-pack/build/torch_backend.node PIAT_BACKEND=torch PIAT_DEVICE=${PIAT_DEVICE:-cuda} PIAT_TORCH_FALLBACK=error
export PIAT_THREADS=1 PIAT_DATA=$PWD/gpu-pack/data PIAT_RUNS=$RUNS PIAT_PROGRESS=lines
node dist/src/cli.js backend | head -30 || exit 4
echo "setup: $(( $(date +%s) - start )) s; $(wc -l < "$JOBS") jobs, $PAR at a time"
job() {
  local t0; t0=$(date +%s)
  local log="gpu-pack/logs/$(echo "$1" | tr -c 'a-zA-Z0-9.\n-' '_').log"
  # shellcheck disable=SC2086
  node dist/src/cli.js $1 > "$log" 2>&1
  echo "rc $? · $(( $(date +%s) - t0 )) s · $1"
}
export -f job
left=$(( DEADLINE - ($(date +%s) - start) ))
timeout "$left" xargs -P "$PAR" -d '\n' -n 1 bash -c 'job "$1"' _ < "$JOBS"
echo "jobs ended (or the deadline came) after $(( $(date +%s) - start )) s"
pkill -INT -f 'dist/src/cli.js' && sleep 5; pkill -KILL -f 'dist/src/cli.js'
cp -r gpu-pack/logs "$RUNS/gpu-logs"
cd "$RUNS"
echo "finished runs: $(find . -name done.json | wc -l)"
# finished runs only (an unfinished one could not resume without its weights), and the job logs
{ find . -name done.json -printf '%h\n' | while read -r d; do
    find "$d" -type f \( -name records.jsonl -o -name config.json -o -name done.json -o -name state.json -o -name model.json -o -name 'eval-*.json' \) -not -path '*/checkpoint.old/*'
  done; find ./gpu-logs -type f; } | tar czf "$OUT/runs-small.tgz" -T -
# the weights of the evaluated runs only: the caches' keys are their checksums
find . -name 'eval-*.json' -printf '%h\n' | sort -u | while read -r d; do echo "$d/best/weights.bin"; echo "$d/checkpoint/weights.bin"; done | tar czf - -T - | split -b 15M - "$OUT/weights.tgz.part-"
ls -la "$OUT"
echo "total: $(( $(date +%s) - start )) s"
