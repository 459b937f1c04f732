#!/usr/bin/env bash
# Prepares the overfit profile's missing runs for a GPU machine (bench/gpu/overfit-runs.sh runs them
# there): the pack (bench/gpu/pack.sh: node, the CLI bundled), the Fashion-MNIST images those runs
# read, and the job list (bench/gpu/overfit-jobs.ts; its options pass through, e.g.
# --search a,b --profile-seeds 4,5). Everything lands in gpu-pack/ (git-ignored), to be carried.
#
# The data are the official IDX files cut to the images the overfit profile touches — training
# images 0–999 and the last 500 (held out for Best), test images 0–999 — so a run there sees the
# same examples as here (the runs' identities, which checksum them, agree) in 1 MB instead of 31.
set -euo pipefail
cd "$(dirname "$0")/../.."
bash bench/gpu/pack.sh
src=${FASHION_MNIST_DIR:-/usr/share/datasets/fashion-mnist}
rm -rf gpu-pack/data gpu-pack/overfit && mkdir -p gpu-pack/data/fashion-mnist
node dist/bench/gpu/cut-idx.js "$src" gpu-pack/data/fashion-mnist \
  train-images-idx3-ubyte.gz=0:1000,-500:0 train-labels-idx1-ubyte.gz=0:1000,-500:0 \
  t10k-images-idx3-ubyte.gz=0:1000 t10k-labels-idx1-ubyte.gz=0:1000
node dist/bench/gpu/overfit-jobs.js gpu-pack/overfit "$@"
du -sh gpu-pack
