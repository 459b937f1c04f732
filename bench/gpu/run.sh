#!/usr/bin/env bash
# Runs on the GPU machine (repository root, gpu-pack/ carried there): builds native/torch against
# the local PyTorch's CUDA libtorch, runs the torch kernel test on CUDA, then the bench on CUDA
# against PyTorch on the same GPU. Output goes to $OUT (or gpu-pack/out).
set -uo pipefail
cd "$(dirname "$0")/../.."
OUT=${OUT:-gpu-pack/out}
mkdir -p "$OUT" gpu-pack/x
exec > >(tee "$OUT/gpu-check.log") 2>&1
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader
PY=$(command -v python3 || command -v python)
$PY -c 'import torch; print("torch", torch.__version__, "cuda", torch.version.cuda, "available", torch.cuda.is_available())'
command -v g++ || { echo "no g++ on this machine: cannot build the addon"; exit 2; }
tar -C gpu-pack/x -xf gpu-pack/pack.tar
xz -dc gpu-pack/x/node.xz > gpu-pack/x/node && chmod +x gpu-pack/x/node
export PATH=$PWD/gpu-pack/x:$PATH
node --version
TORCH_DIR=$($PY -c 'import torch, os; print(os.path.dirname(torch.__file__))')
t0=$(date +%s)
PIAT_LIBTORCH=$TORCH_DIR NODE_INCLUDE=$PWD/gpu-pack/x/node-include PIAT_NATIVE_OUT=gpu-pack/build bash scripts/build-native.sh || exit 3
echo "build: $(( $(date +%s) - t0 )) s"
export PIAT_TORCH_ADDON=$PWD/gpu-pack/build/torch_backend.node PIAT_BACKEND=torch PIAT_DEVICE=${PIAT_DEVICE:-cuda} PIAT_TORCH_FALLBACK=error
node --test gpu-pack/x/torch-kernels.test.js 2>&1 | tee "$OUT/kernel-test.tap" | grep -E "^(not )?ok|^# (pass|fail)|error:"
if [ "${GPU_BENCH:-1}" = 1 ]; then
  BENCH_BACKENDS=torch BENCH_PYTHON=$PY BENCH_TORCH_DEVICE=${PIAT_DEVICE:-cuda} PIAT_THREADS=${PIAT_THREADS:-16} \
    BENCH_FULL_STEP=${BENCH_FULL_STEP:-small-cnn,resnet18,wrn34-10} node gpu-pack/x/run.js > "$OUT/bench.md" 2> "$OUT/bench.err"
  echo "bench exit $?"
  cat "$OUT/bench.md"
  tail -5 "$OUT/bench.err"
fi
# CPU_BENCH_THREADS=1,2: the same bench on this machine's CPU (torch backend and PyTorch on the same libtorch)
if [ -n "${CPU_BENCH_THREADS:-}" ]; then
  PIAT_DEVICE=cpu BENCH_BACKENDS=torch BENCH_PYTHON=$PY BENCH_TORCH_DEVICE=cpu BENCH_THREADS=$CPU_BENCH_THREADS \
    BENCH_MODELS=${CPU_BENCH_MODELS:-small-cnn,resnet18} node gpu-pack/x/run.js > "$OUT/cpu-bench.md" 2> "$OUT/cpu-bench.err"
  echo "cpu bench exit $?"
  cat "$OUT/cpu-bench.md"
fi
