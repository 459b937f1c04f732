#!/usr/bin/env bash
# Sets up piat-ts on a fresh Debian machine: Debian packages (Jupyter's executor and HTML
# exporter, the Fashion-MNIST data package), npm packages from package-lock.json, and the build.
# Idempotent: what is already there is not installed again. No network at run time afterwards.
set -euo pipefail
cd "$(dirname "$0")/.."

# Debian packages the project uses. python3-nbclient/-nbconvert run and render notebooks;
# dataset-fashion-mnist is the embedded real image data of the quick and smoke profiles;
# chromium: the tests open rendered reports in it headless to check that the charts draw.
APT_PACKAGES=(jupyter-nbconvert jupyter-client python3-nbclient python3-nbconvert python3-nbformat dataset-fashion-mnist chromium)
# --bench: PyTorch from Debian, the reference that npm run bench and bench/compare-reference.sh measure against
if [ "${1:-}" = "--bench" ]; then APT_PACKAGES+=(python3-torch); fi

missing=()
for p in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing Debian packages: ${missing[*]}" >&2
  SUDO=""
  if [ "$(id -u)" != "0" ]; then
    if command -v sudo >/dev/null 2>&1; then SUDO="sudo"; else
      echo "setup: need root to install ${missing[*]}; run as root: apt-get install -y ${missing[*]}" >&2
      exit 1
    fi
  fi
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq >/dev/null
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# npm: exact versions from package-lock.json. The native TensorFlow bindings are optional
# dependencies whose install downloads a binary; where that fails npm skips them.
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "setup: installing npm packages" >&2
  npm ci --no-audit --no-fund --loglevel=error
fi

echo "setup: building" >&2
npm run --silent build
echo "setup: done (Jupyter: $(/usr/bin/jupyter nbconvert --version 2>/dev/null || echo missing); node $(node --version))" >&2
