#!/bin/sh
# Regenerates screenshots/*.png: the explorer renders its own window offscreen (--screenshot) once
# all its work is done, under a private D-Bus session and Xvfb, with the Cairo renderer.
#
#   scripts/make-screenshots.sh [BUILD_DIR]     (default: build)
#
# Needs the trained weights (data/*.safetensors or $LQ_WEIGHTS_DIR) and, for the full test split,
# `lq data import`; without them the window shows its inline error instead.
set -eu
here=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-build}
case "$build" in /*) ;; *) build="$here/$build" ;; esac
app="$build/src/lq-explorer"
out="$here/screenshots"
[ -x "$app" ] || { echo "no $app: build first (meson setup $build && ninja -C $build)" >&2; exit 1; }
mkdir -p "$out"
export GSK_RENDERER=cairo GDK_BACKEND=x11 NO_AT_BRIDGE=1 GTK_A11Y=none
export LQ_WEIGHTS_DIR="${LQ_WEIGHTS_DIR:-$here/data}"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
printf 'these are my notes, not a picture\n' > "$tmp/notes.txt"

shot () {
  name=$1
  shift
  echo "screenshots/$name.png: lq-explorer $*"
  dbus-run-session -- xvfb-run -a -s "-screen 0 1600x1000x24" \
    "$app" --screenshot "$out/$name.png" "$@" >/dev/null 2>"$tmp/err" || {
      cat "$tmp/err" >&2
      exit 1
    }
}

shot default --histogram
shot cw-fmnist --data fmnist --attack cw --index 1 --histogram-size 50
shot deepfool-heatmap --attack deepfool --heatmap --index 4
shot drawn-digit --draw-demo
shot histogram --histogram --histogram-size 500 --index 8 --attack pgd
shot bad-file --open "$tmp/notes.txt"
shot dark --dark --index 1 --heatmap
# Defense-GAN beside LQ-VAE; without data/mnist-defensegan.safetensors (none ships yet) the
# window shows its inline "not installed" message instead, so this never fails for lack of it.
shot defensegan --purifier both --index 1
echo "done: $(ls "$out"/*.png | wc -l) screenshots in $out"
