#!/usr/bin/env bash
# npm test: the build, Prettier's check, ESLint's (npm run lint: eslint.config.mjs), then the
# layer rules of src/ (npm run check:layers: .dependency-cruiser.cjs, no upward import out of the
# library, no import cycle), then the whole suite on the torch backend
# with no cpu fallback allowed, then the wasm backend's own kernels on wasm. Without a built torch
# addon the suite runs on the backend initBackend picks (said below); in CI (CI=true) a missing
# torch backend is a failure.
set -euo pipefail
cd "$(dirname "$0")/.."
# build first, so that a stale dist/ never tests old code (its compiled tests are made anew: a
# test renamed or removed in test/ must not run from an old copy)
echo "test: building (tsc)" >&2
rm -rf dist/test
npx tsc -p tsconfig.json
echo "test: formatting (npm run format:check; npm run format fixes it)" >&2
npm run --silent format:check
echo "test: lint (npm run lint: ESLint with type information, eslint.config.mjs)" >&2
npm run --silent lint
echo "test: layers of src/ (npm run check:layers)" >&2
npm run --silent check:layers || { echo "test: src/ breaks a layer rule (above: the rule and the import; see .dependency-cruiser.cjs)" >&2; exit 1; }
if [ -f native/build/torch_backend.node ]; then
  export PIAT_BACKEND=${PIAT_BACKEND:-torch} PIAT_TORCH_FALLBACK=${PIAT_TORCH_FALLBACK:-error}
elif [ "${CI:-}" = "true" ]; then
  echo "test: native/build/torch_backend.node is missing (scripts/setup.sh builds it); CI requires the torch backend" >&2
  exit 1
else
  echo "test: the torch backend is not built (bash scripts/build-native.sh); running on the default backend" >&2
fi
echo "test: backend ${PIAT_BACKEND:-default}" >&2
# every *.test.js under dist/test/, in folders that mirror src/ (test/attacks/, test/train/, …);
# the shared helpers beside them (helpers.js, formats.js, …) are not test files
mapfile -t tests < <(find dist/test -name '*.test.js' | sort)
[ "${#tests[@]}" -gt 0 ] || { echo "test: no *.test.js under dist/test/" >&2; exit 1; }
node --test --test-concurrency=1 "${tests[@]}"
echo "test: the wasm backend's own kernels on wasm" >&2
PIAT_BACKEND=wasm node --test --test-concurrency=1 dist/test/backend/wasm-kernels.test.js
