#!/usr/bin/env bash
# Cross-checks piat-ts's clean / PGD20 / AutoAttack accuracy against PyTorch on the same weights
# and images. Needs Debian's python3-torch (bash scripts/setup.sh --bench installs it). For the
# reference AutoAttack, point PYTHONPATH at a checkout of fra31/auto-attack (not shipped here).
# Usage: bash bench/compare-reference.sh [OUT_DIR] [extra export flags, e.g. --n 500 --no-aa]
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-runs/compare-reference}
shift || true
mkdir -p "$out"
node dist/bench/export-for-reference.js "$out" "$@"
eps=$(node -e "console.log(require('./$out/ours.json').eps)")
alpha=$(node -e "console.log(require('./$out/ours.json').alpha)")
/usr/bin/python3 bench/compare_reference.py "$out/model" "$out/images.bin" "$out/labels.bin" "$out/ours.json" --eps "$eps" --alpha "$alpha"
