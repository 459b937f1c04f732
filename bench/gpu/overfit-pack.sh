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
python3 - "$src" gpu-pack/data/fashion-mnist <<'PY'
import gzip, struct, sys
src, dst = sys.argv[1], sys.argv[2]
def cut(name, ranges):
    raw = gzip.open(f'{src}/{name}').read()
    ndim = struct.unpack('>I', raw[:4])[0] & 0xff
    dims = struct.unpack('>' + 'I' * ndim, raw[4:4 + 4 * ndim])
    head, per = 4 + 4 * ndim, 1
    for d in dims[1:]: per *= d
    ranges = [(a if a >= 0 else dims[0] + a, b if b > 0 else dims[0] + b) for a, b in ranges]
    if any(a < 0 or b > dims[0] for a, b in ranges) or any(ranges[i][1] > ranges[i + 1][0] for i in range(len(ranges) - 1)):
        sys.exit(f'{name} has {dims[0]} items: too few for {ranges}')
    body = b''.join(raw[head + a * per:head + b * per] for a, b in ranges)
    with gzip.open(f'{dst}/{name}', 'wb') as f:
        f.write(raw[:4] + struct.pack('>I', sum(b - a for a, b in ranges)) + raw[8:head] + body)
for kind in ('images-idx3', 'labels-idx1'):
    cut(f'train-{kind}-ubyte.gz', [(0, 1000), (-500, 0)])
    cut(f't10k-{kind}-ubyte.gz', [(0, 1000)])
PY
node dist/bench/gpu/overfit-jobs.js gpu-pack/overfit "$@"
du -sh gpu-pack
