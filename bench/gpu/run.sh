#!/usr/bin/env bash
# Runs on the GPU machine (repository root, gpu-pack/ carried there): builds native/torch against
# the local PyTorch's CUDA libtorch, runs the torch kernel tests on CUDA (per kernel, and the fused
# model and loss against the per-layer path, the device random starts and the attack step), then the bench on CUDA
# against PyTorch on the same GPU, then a ResNet-18 PGD-AT epoch and AutoAttack on a subset (bench/gpu/epoch.sh). Output goes to $OUT (or gpu-pack/out).
set -uo pipefail
cd "$(dirname "$0")/../.."
OUT=${OUT:-gpu-pack/out}
mkdir -p "$OUT"
exec > >(tee "$OUT/gpu-check.log") 2>&1
# shellcheck source=bench/gpu/setup.sh
source bench/gpu/setup.sh
node --test gpu-pack/x/torch-kernels.test.js 2>&1 | tee "$OUT/kernel-test.tap" | grep -E "^(not )?ok|^# (pass|fail)|error:"
# the whole model and its loss as single native calls (PIAT_FUSED_MODEL=1) against the per-layer path, on this device
node --test gpu-pack/x/fused-model.test.js gpu-pack/x/fused-loss.test.js gpu-pack/x/device-random.test.js gpu-pack/x/fused-attack.test.js 2>&1 | tee "$OUT/fused-test.tap" | grep -E "^(not )?ok|^# (pass|fail)|error:|native calls"
if [ "${GPU_BENCH:-1}" = 1 ]; then
  BENCH_BACKENDS=torch BENCH_PYTHON=$PY BENCH_TORCH_DEVICE=${PIAT_DEVICE:-cuda} PIAT_THREADS=${PIAT_THREADS:-16} \
    BENCH_FULL_STEP=${BENCH_FULL_STEP:-small-cnn,resnet18,wrn34-10,resnet18-host} node gpu-pack/x/run.js > "$OUT/bench.md" 2> "$OUT/bench.err"
  echo "bench exit $?"
  cat "$OUT/bench.md"
  tail -5 "$OUT/bench.err"
  # the paper profile's projected wall time on this GPU, from the bench just run
  node gpu-pack/x/cli.js paper-cost --bench "$OUT/bench.md" | tee "$OUT/paper-cost.md"
fi
# a ResNet-18 PGD-AT epoch on CIFAR-10-format data and AutoAttack on a test subset, timed (GPU_EPOCH=0 skips;
# EPOCH_IMAGES, AA_IMAGES; PIAT_FUSED_MODEL=1 runs it on the fused model)
if [ "${GPU_EPOCH:-1}" = 1 ]; then
  OUT=$OUT bash bench/gpu/epoch.sh 2>&1 | tee "$OUT/epoch.log" | grep -E "^ResNet-18|^clean|^aa|AutoAttack \(standard\)|Error"
fi
# CPU_BENCH_THREADS=1,2: the same bench on this machine's CPU (torch backend and PyTorch on the same libtorch)
if [ -n "${CPU_BENCH_THREADS:-}" ]; then
  PIAT_DEVICE=cpu BENCH_BACKENDS=torch BENCH_PYTHON=$PY BENCH_TORCH_DEVICE=cpu BENCH_THREADS=$CPU_BENCH_THREADS \
    BENCH_MODELS=${CPU_BENCH_MODELS:-small-cnn,resnet18} node gpu-pack/x/run.js > "$OUT/cpu-bench.md" 2> "$OUT/cpu-bench.err"
  echo "cpu bench exit $?"
  cat "$OUT/cpu-bench.md"
fi
