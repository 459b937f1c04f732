#!/usr/bin/env bash
# Sets up piat-ts on a fresh Debian machine: Debian packages (Jupyter's executor and HTML
# exporter, the Fashion-MNIST data package, libtorch for the native `torch` backend), npm packages
# from package-lock.json, the build, and the torch backend's addon.
# Idempotent: what is already there is not installed again. No network at run time afterwards.
set -euo pipefail
cd "$(dirname "$0")/.."

# Debian packages the project uses. python3-nbclient/-nbconvert run and render notebooks;
# dataset-fashion-mnist is the embedded real image data of the quick and smoke profiles;
# chromium: the tests open rendered reports in it headless to check that the charts draw;
# python3-jupyter-kernel-test: test/kernel_test.py checks the project's kernel as Jupyter checks kernels.
APT_PACKAGES=(jupyter-nbconvert jupyter-client python3-nbclient python3-nbconvert python3-nbformat python3-jupyter-kernel-test dataset-fashion-mnist chromium)
# Options:
#   --bench  PyTorch from Debian, the reference that npm run bench and bench/compare-reference.sh measure against
#   --slurm  Slurm (controller, node daemon, clients) and munge, for the sweep integration test against a
#            single-node cluster (test/sweep/slurm.test.ts, scripts/slurm-cluster.sh); CI sets it. Optional: where
#            they cannot be installed, setup says so and that test is skipped with a note.
SLURM_PACKAGES=()
for arg in "$@"; do
  case "$arg" in
    --bench) APT_PACKAGES+=(python3-torch) ;;
    --slurm) SLURM_PACKAGES=(slurmctld slurmd slurm-client munge) ;;
    *) echo "setup: unknown option $arg (options: --bench, --slurm)" >&2; exit 2 ;;
  esac
done

# The torch backend (native/torch): libtorch's headers and libraries, and OpenBLAS, without which
# Debian's libtorch multiplies matrices with the reference BLAS (~30x slower). Optional: where they
# cannot be installed or the addon does not build, setup says so and piat-ts runs on wasm.
TORCH_PACKAGES=(libtorch-dev libopenblas0-openmp)

SUDO=""
updated=""
missing_of() {
  local out=()
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || out+=("$p")
  done
  echo "${out[@]:-}"
}
apt_install() {
  if [ "$(id -u)" != "0" ]; then
    if command -v sudo >/dev/null 2>&1; then SUDO="sudo"; else
      echo "setup: need root to install $*; run as root: apt-get install -y $*" >&2
      return 1
    fi
  fi
  export DEBIAN_FRONTEND=noninteractive
  if [ -z "$updated" ]; then $SUDO apt-get update -qq >/dev/null && updated=1; fi
  $SUDO apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}

read -r -a missing <<< "$(missing_of "${APT_PACKAGES[@]}")"
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing Debian packages: ${missing[*]}" >&2
  apt_install "${missing[@]}"
fi
read -r -a missing <<< "$(missing_of "${TORCH_PACKAGES[@]}")"
torch_ok=1
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing Debian packages for the torch backend: ${missing[*]}" >&2
  apt_install "${missing[@]}" || { torch_ok=""; echo "setup: could not install ${missing[*]}: the torch backend is unavailable, piat-ts will run on wasm" >&2; }
fi

if [ ${#SLURM_PACKAGES[@]} -gt 0 ]; then
  read -r -a missing <<< "$(missing_of "${SLURM_PACKAGES[@]}")"
  if [ ${#missing[@]} -gt 0 ]; then
    echo "setup: installing Debian packages for the Slurm test cluster: ${missing[*]}" >&2
    apt_install "${missing[@]}" || echo "setup: could not install ${missing[*]}: the Slurm integration test will be skipped" >&2
  fi
fi

# npm: exact versions from package-lock.json. The native TensorFlow bindings are optional
# dependencies whose install downloads a binary; where that fails npm skips them.
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "setup: installing npm packages" >&2
  npm ci --no-audit --no-fund --loglevel=error
fi

# On a machine with an NVIDIA GPU the addon should link a CUDA libtorch: PIAT_LIBTORCH names one
# (a PyTorch install's `torch` folder); otherwise the first python3 on PATH, then Debian's, then
# those of virtual environments under /opt, whose torch was built with CUDA is used. Without one the
# build is for the CPU, and setup says so in one loud line.
find_cuda_libtorch() {
  local py dir
  for py in python3 /usr/bin/python3 /opt/*/bin/python3 /opt/*/.venv/bin/python3; do
    command -v "$py" >/dev/null 2>&1 || continue
    dir=$("$py" -c 'import torch, sys; sys.stdout.write(torch.__path__[0] if torch.version.cuda else "")' 2>/dev/null) || continue
    [ -n "$dir" ] && [ -d "$dir/include" ] && [ -d "$dir/lib" ] && { echo "$dir"; return 0; }
  done
  return 1
}
if [ -z "${PIAT_LIBTORCH:-}" ] && command -v nvidia-smi >/dev/null 2>&1 && nvidia-smi -L >/dev/null 2>&1; then
  if found=$(find_cuda_libtorch); then
    export PIAT_LIBTORCH=$found
    torch_ok=1
    echo "setup: NVIDIA GPU found; building the torch backend against the CUDA libtorch in $PIAT_LIBTORCH" >&2
  else
    echo "setup: WARNING: this machine has an NVIDIA GPU but no CUDA PyTorch was found: the torch backend is built for the CPU only. Set PIAT_LIBTORCH to a CUDA PyTorch install's torch folder and run setup again." >&2
  fi
elif [ -n "${PIAT_LIBTORCH:-}" ]; then
  torch_ok=1
  echo "setup: building the torch backend against PIAT_LIBTORCH=$PIAT_LIBTORCH" >&2
fi

echo "setup: building" >&2
npm run --silent build
if [ -n "$torch_ok" ]; then
  echo "setup: building the torch backend (native/torch)" >&2
  bash scripts/build-native.sh || echo "setup: the torch backend did not build (see above); piat-ts will run on wasm" >&2
fi
torch_state=missing
if [ -f native/build/torch_backend.node ]; then
  torch_state="built for $(node -e "const b = require('./dist/src/backend'); b.initBackend({ backend: 'torch' }).then(() => console.log(b.backendInfo().torch?.device ?? 'cpu'), () => console.log('cpu (it did not start)'))" 2>/dev/null || echo cpu)"
fi
echo "setup: done (Jupyter: $(/usr/bin/jupyter nbconvert --version 2>/dev/null || echo missing); node $(node --version); torch backend: $torch_state)" >&2
