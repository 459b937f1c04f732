# Sourced by bench/gpu/run.sh and bench/gpu/overfit-runs.sh on the GPU machine (repository root,
# gpu-pack/ carried): unpacks the Node binary and the bundles of gpu-pack/pack.tar into gpu-pack/x
# (on PATH), builds native/torch against the machine's PyTorch (CUDA) libtorch into gpu-pack/build
# and exports what runs the torch backend there: PY, PIAT_TORCH_ADDON, PIAT_BACKEND=torch,
# PIAT_DEVICE (default cuda), PIAT_TORCH_FALLBACK=error. Exits 2 without g++, 3 if the build fails.
mkdir -p gpu-pack/x
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader
PY=$(command -v python3 || command -v python)
$PY -c 'import torch; print("torch", torch.__version__, "cuda", torch.version.cuda, "available", torch.cuda.is_available())'
command -v g++ > /dev/null || { echo "no g++ on this machine: cannot build the addon"; exit 2; }
tar -C gpu-pack/x -xf gpu-pack/pack.tar
xz -dc gpu-pack/x/node.xz > gpu-pack/x/node && chmod +x gpu-pack/x/node
export PATH=$PWD/gpu-pack/x:$PATH
echo "node $(node --version)"
TORCH_DIR=$($PY -c 'import torch, os; print(os.path.dirname(torch.__file__))')
build_t0=$(date +%s)
PIAT_LIBTORCH=$TORCH_DIR NODE_INCLUDE=$PWD/gpu-pack/x/node-include PIAT_NATIVE_OUT=gpu-pack/build bash scripts/build-native.sh || { echo "the addon did not build against $TORCH_DIR"; exit 3; }
echo "build: $(( $(date +%s) - build_t0 )) s"
export PY PIAT_TORCH_ADDON=$PWD/gpu-pack/build/torch_backend.node PIAT_BACKEND=torch PIAT_DEVICE=${PIAT_DEVICE:-cuda} PIAT_TORCH_FALLBACK=error
