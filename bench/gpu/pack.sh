#!/usr/bin/env bash
# Packs what the GPU check needs on a machine that has PyTorch with CUDA but no Node.js:
# a compressed node binary, Node-API headers, and the kernel tests (per kernel, the fused model, the
# fused loss, the device random starts, the attack step), the bench and the CLI bundled with
# their npm dependencies (esbuild), into gpu-pack/pack.tar (git-ignored, under 64 MiB). bench/gpu/run.sh
# unpacks it there, builds native/torch against that machine's CUDA libtorch and runs the tests and the bench;
# bench/gpu/overfit-runs.sh runs the CLI.
set -euo pipefail
cd "$(dirname "$0")/../.."
npm run --silent build
out=gpu-pack
rm -rf "$out/stage" "$out/pack.tar" && mkdir -p "$out/stage/node-include"
cp /usr/include/node/{node_api.h,node_api_types.h,js_native_api.h,js_native_api_types.h} "$out/stage/node-include/"
xz -T2 -6 -c "$(command -v node)" > "$out/stage/node.xz"
for entry in dist/test/backend/torch-kernels.test.js dist/test/backend/fused-model.test.js dist/test/backend/fused-loss.test.js dist/test/backend/device-random.test.js dist/test/backend/fused-attack.test.js dist/bench/run.js dist/src/cli.js; do
  node_modules/.bin/esbuild "$entry" --bundle --platform=node --log-level=warning \
    --external:@tensorflow/tfjs-node --external:@tensorflow/tfjs-node-gpu --external:'*.node' \
    --outfile="$out/stage/$(basename "$entry")"
done
# xz-compressed (GNU tar -xf detects it): the bundles shrink about fivefold, leaving room under 64 MiB
tar -C "$out/stage" -cf - . | xz -T2 -6 > "$out/pack.tar" && rm -rf "$out/stage"
du -h "$out/pack.tar"
