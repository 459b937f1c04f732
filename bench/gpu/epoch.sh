#!/usr/bin/env bash
# One ResNet-18 PGD-AT epoch on CIFAR-10-format data, then AutoAttack on a subset of the test set,
# timed: what bench/gpu/run.sh adds after the bench (GPU_EPOCH=0 skips it). The images are random
# bytes in the official binary format (the GPU machines reach no network, and the timing is the
# point, not the accuracy); the run takes the paper's settings (batch 128, PGD-10 at ε = 8/255,
# SGD 0.1 with momentum 0.9 and weight decay 5e-4).
#
#   bash bench/gpu/epoch.sh            # where `PIAT_CLI` (default gpu-pack/x/cli.js) runs with node
#   EPOCH_IMAGES=50000 AA_IMAGES=200 PIAT_FUSED_MODEL=1 OUT=dir bash bench/gpu/epoch.sh
#
# Also runs here, on the CPU, at a small EPOCH_IMAGES (PIAT_CLI=dist/src/cli.js).
set -euo pipefail
cd "$(dirname "$0")/../.."
OUT=${OUT:-gpu-pack/out}
CLI=${PIAT_CLI:-gpu-pack/x/cli.js}
N=${EPOCH_IMAGES:-50000}
AA=${AA_IMAGES:-200}
DATA=$OUT/epoch-data
RUN=$OUT/epoch-run
rm -rf "$DATA" "$RUN" && mkdir -p "$DATA/cifar-10-batches-bin"
# five training batches of N/5 records and a test batch of 10,000: label byte, then 3072 pixel bytes.
# Each class is a random image with each pixel's low 5 bits scrambled per example: learnable within
# an epoch and far apart at ε = 8/255, so AutoAttack's later attacks run on most images, as they do
# on a robust model.
echo "epoch.sh: writing $N training and 10000 test images in CIFAR-10's binary format to $DATA"
python3 - "$DATA/cifar-10-batches-bin" "$N" <<'PYEOF'
import os, random, sys
d, n = sys.argv[1], int(sys.argv[2])
rng = random.Random(0)
templates = [int.from_bytes(rng.randbytes(3072), "big") for _ in range(10)]
low = int.from_bytes(b"\x1f" * 3072, "big")
def batch(name, count):
    with open(os.path.join(d, name), "wb") as f:
        for _ in range(count):
            y = rng.randrange(10)
            x = templates[y] ^ (int.from_bytes(rng.randbytes(3072), "big") & low)
            f.write(bytes([y]) + x.to_bytes(3072, "big"))
for b in range(1, 6):
    batch(f"data_batch_{b}.bin", n // 5)
batch("test_batch.bin", 10000)
PYEOF
cat > "$OUT/epoch-config.json" <<JSON
{
  "dataset": "cifar10",
  "dataDir": "$DATA",
  "testSize": $AA,
  "model": { "arch": "resnet18" },
  "objective": { "name": "pgd-at", "attack": { "eps": 0.03137254901960784, "alpha": 0.00784313725490196, "steps": 10 } },
  "train": { "epochs": 1, "batchSize": 128, "seed": 1, "optimizer": { "lr": 0.1, "momentum": 0.9, "weightDecay": 0.0005 } },
  "runDir": "$RUN"
}
JSON
t0=$(date +%s.%N)
node "$CLI" train --config "$OUT/epoch-config.json"
t1=$(date +%s.%N)
node "$CLI" eval --checkpoint "$RUN/checkpoint" --data cifar10 --data-dir "$DATA" --n "$AA" --attacks clean,aa
t2=$(date +%s.%N)
python3 - "$t0" "$t1" "$t2" "$N" "$AA" "${PIAT_FUSED_MODEL:-0}" <<'PYEOF'
import sys
t0, t1, t2, n, aa, fused = float(sys.argv[1]), float(sys.argv[2]), float(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5]), sys.argv[6]
print(f"ResNet-18 PGD-AT epoch on {n} CIFAR-10-format images: {t1 - t0:.1f} s ({n / (t1 - t0):.0f} img/s, "
      f"start-up and per-epoch evaluation included; PIAT_FUSED_MODEL={fused})")
print(f"clean + AutoAttack (standard) on {aa} test images: {t2 - t1:.1f} s (AutoAttack attacks the clean-correct ones: see the accuracies above)")
PYEOF
