#!/usr/bin/env bash
# Puts what bench/gpu/overfit-runs.sh brought back (its $OUT folder, given as the argument) under
# runs/ (or $PIAT_RUNS): finished runs there are re-opened from their records and states, and the
# evaluated ones' caches are keyed by the weights that come with them. Runs already here are kept.
set -euo pipefail
from=${1:?usage: bench/gpu/overfit-unpack.sh FOLDER, the OUT folder of the GPU run as fetched}
cd "$(dirname "$0")/../.."
to=${PIAT_RUNS:-runs}
mkdir -p "$to"
tar -C "$to" --skip-old-files -xzf "$from/runs-small.tgz"
if ls "$from"/weights.tgz.part-* > /dev/null 2>&1; then cat "$from"/weights.tgz.part-* | tar -C "$to" --skip-old-files -xzf -; fi
echo "unpacked into $to: $(tar -tzf "$from/runs-small.tgz" | grep -c 'done.json$') finished runs"
