#!/usr/bin/env bash
# Cross-checks piat-ts's clean / PGD20 / AutoAttack accuracy against PyTorch on the same weights
# and images. Needs Debian's python3-torch (bash scripts/setup.sh --bench installs it). For the
# reference AutoAttack (and torchattacks), point PYTHONPATH at checkouts of fra31/auto-attack (and
# Harry24k/adversarial-attacks-pytorch); neither is shipped here.
# Usage: bash bench/compare-reference.sh [OUT_DIR] [extra export flags, e.g. --n 500 --no-aa,
#        --model runs/pool/quick/fashion-mnist-small-cnn/pgd-at/best --data fashion-mnist]
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-runs/compare-reference}
shift || true
mkdir -p "$out"
node dist/bench/export-for-reference.js "$out" "$@"
eps=$(node -e "console.log(require('./$out/ours.json').eps)")
alpha=$(node -e "console.log(require('./$out/ours.json').alpha)")
model=$(node -e "console.log(require('./$out/ours.json').model)")
/usr/bin/python3 bench/compare_reference.py "$model" "$out/images.bin" "$out/labels.bin" "$out/ours.json" --eps "$eps" --alpha "$alpha"
