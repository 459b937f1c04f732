#!/usr/bin/env bash
# Puts what bench/gpu/overfit-runs.sh brought back (its $OUT folder, given as the argument) under
# runs/ (or $PIAT_RUNS): each run folder that is not here yet moves in whole (finished runs are
# re-opened from their records and states; the evaluated ones' caches are keyed by the weights that
# come with them); a folder already here, finished or not, is left as it is. The job logs go to
# runs/gpu-logs/<time>/.
set -euo pipefail
from=$(realpath "${1:?usage: bench/gpu/overfit-unpack.sh FOLDER, the OUT folder of the GPU run as fetched}")
cd "$(dirname "$0")/../.."
to=${PIAT_RUNS:-runs}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
tar -C "$tmp" -xzf "$from/runs-small.tgz"
if ls "$from"/weights.tar.part-* > /dev/null 2>&1; then cat "$from"/weights.tar.part-* | tar -C "$tmp" -xf -; fi
moved=0 kept=0
while read -r run; do
  rel=${run#"$tmp"/}
  if [ -e "$to/$rel" ]; then echo "kept $to/$rel (already here)"; kept=$((kept + 1)); continue; fi
  mkdir -p "$(dirname "$to/$rel")" && mv "$run" "$to/$rel" && moved=$((moved + 1))
done < <(find "$tmp" -name done.json -not -path "$tmp/gpu-logs/*" -printf '%h\n' | sort)
logs=$to/gpu-logs/$(date +%Y%m%d-%H%M%S)
mkdir -p "$logs" && mv "$tmp"/gpu-logs/* "$logs"/ 2>/dev/null || true
echo "unpacked into $to: $moved runs moved in, $kept already here; job logs in $logs"
