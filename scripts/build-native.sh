#!/usr/bin/env bash
# Builds the torch backend's Node-API addon (native/torch/*.cc) into native/build/torch_backend.node.
#
#   bash scripts/build-native.sh            # against Debian's libtorch-dev (CPU; apt-get install libtorch-dev)
#   PIAT_LIBTORCH=/path/to/torch bash scripts/build-native.sh   # against another libtorch, e.g. the
#                                            # `torch` folder of a CUDA PyTorch install (include/, lib/)
#
# A plain g++ call, not node-gyp: it needs only g++ and Node's headers (Debian's /usr/include/node, or
# NODE_INCLUDE), downloads nothing, and runs where npm does not (the GPU machines have no Node).
# The object files of unchanged sources are reused (all are rebuilt when common.h or this script changes).
#
# Our sources compile with -Wall -Wextra and no warning: against Debian's libtorch a warning is an
# error (-Werror). Against another libtorch (PIAT_LIBTORCH, e.g. a PyTorch install on the GPU
# machines, built with their own g++) warnings are only shown: a newer libtorch or compiler may warn
# where Debian's do not (a deprecation, a new warning), and that build must not fail for it.
# PIAT_NATIVE_WERROR=1 or 0 overrides either default. libtorch's and Node's headers are included
# with -isystem, so their own warnings do not count.
set -euo pipefail
cd "$(dirname "$0")/.."
SRC=native/torch
OUT=${PIAT_NATIVE_OUT:-native/build}
mkdir -p "$OUT/obj"

NODE_INCLUDE=${NODE_INCLUDE:-}
if [ -z "$NODE_INCLUDE" ]; then
  for d in /usr/include/node /usr/local/include/node "$(dirname "$(dirname "$(command -v node 2>/dev/null || echo /x/x)")")/include/node"; do
    [ -f "$d/node_api.h" ] && NODE_INCLUDE=$d && break
  done
fi
[ -f "${NODE_INCLUDE:-/nonexistent}/node_api.h" ] || { echo "build-native: node_api.h not found (set NODE_INCLUDE to Node's include/node folder)" >&2; exit 1; }

if [ -n "${PIAT_LIBTORCH:-}" ]; then
  INC=(-isystem "$PIAT_LIBTORCH/include" -isystem "$PIAT_LIBTORCH/include/torch/csrc/api/include")
  LIBDIR="$PIAT_LIBTORCH/lib"
  LIBS=(-L"$LIBDIR" -Wl,-rpath,"$LIBDIR" -Wl,--no-as-needed -ltorch -ltorch_cpu -lc10)
  [ -f "$LIBDIR/libtorch_cuda.so" ] && LIBS+=(-ltorch_cuda -lc10_cuda)
  LIBS+=(-Wl,--as-needed)
  # a pip wheel's libtorch is built with the pre-C++11 ABI unless it says otherwise
  ABI=$(python3 -c 'import torch;print(int(torch._C._GLIBCXX_USE_CXX11_ABI))' 2>/dev/null || echo 1)
  DEFS=("-D_GLIBCXX_USE_CXX11_ABI=$ABI")
  WERROR=${PIAT_NATIVE_WERROR:-0}
else
  [ -f /usr/include/ATen/ATen.h ] || { echo "build-native: libtorch headers missing: apt-get install libtorch-dev (or set PIAT_LIBTORCH)" >&2; exit 1; }
  INC=(-isystem /usr/include/torch/csrc/api/include)
  LIBS=(-Wl,--no-as-needed -ltorch -ltorch_cpu -lc10 -Wl,--as-needed)
  DEFS=()
  WERROR=${PIAT_NATIVE_WERROR:-1}
fi

CXXFLAGS=(-O2 -fPIC -std=c++17 -DNODE_GYP_MODULE_NAME=torch_backend -isystem "$NODE_INCLUDE" "${INC[@]}" "${DEFS[@]}" -Wall -Wextra)
if [ "$WERROR" = 1 ]; then CXXFLAGS+=(-Werror); fi
pids=()
objs=()
for f in "$SRC"/*.cc; do
  o="$OUT/obj/$(basename "${f%.cc}").o"
  objs+=("$o")
  if [ ! -f "$o" ] || [ "$f" -nt "$o" ] || [ "$SRC/common.h" -nt "$o" ] || [ scripts/build-native.sh -nt "$o" ]; then
    g++ "${CXXFLAGS[@]}" -c "$f" -o "$o" &
    pids+=($!)
  fi
done
failed=0
for p in "${pids[@]}"; do wait "$p" || failed=1; done
[ "$failed" = 0 ] || { echo "build-native: compilation failed (see above)" >&2; exit 1; }
# link to a new file, then rename: a process that has the old addon loaded keeps its copy intact
g++ -shared -o "$OUT/torch_backend.node.tmp" "${objs[@]}" "${LIBS[@]}"
mv -f "$OUT/torch_backend.node.tmp" "$OUT/torch_backend.node"
echo "build-native: $OUT/torch_backend.node" >&2
