#!/bin/sh
# Bad inputs through the `lq` command line (docs/ROBUSTNESS.md, "Bad inputs"): each must end in a
# non-zero exit and one message naming the file and the problem, with nothing on disk changed.
# Needs the shipped MNIST classifier A ($LQ_WEIGHTS_DIR); rows that need it skip without. TAP.
lq=$1
fx=$LQ_FIXTURES/robustness
tmp=$(mktemp -d)
trap 'chmod -R u+w "$tmp" 2>/dev/null; rm -rf "$tmp"' EXIT
n=0
failed=0
ok () { n=$((n + 1)); echo "ok $n $1"; }
skip () { n=$((n + 1)); echo "ok $n $1 # SKIP $2"; }
check () { # description, then a command that must succeed
  n=$((n + 1))
  desc=$1
  shift
  if "$@" >"$tmp/check.out" 2>&1; then
    echo "ok $n $desc"
  else
    echo "not ok $n $desc"
    sed 's/^/# /' "$tmp/check.out"
    failed=$((failed + 1))
  fi
}
# refused TEXT COMMAND…: exits with status 1 and says TEXT (a fixed string) on stderr, in one
# valid UTF-8 line that starts with "lq: ".
refused () {
  text=$1
  shift
  "$@" >"$tmp/out" 2>"$tmp/err"
  got=$?
  cat "$tmp/err"
  [ "$got" -eq 1 ] || { echo "exit status $got, not 1"; return 1; }
  [ "$(wc -l <"$tmp/err")" -eq 1 ] || { echo "not one line"; return 1; }
  grep -q '^lq: ' "$tmp/err" || return 1
  iconv -f UTF-8 -t UTF-8 "$tmp/err" >/dev/null || { echo "not UTF-8"; return 1; }
  grep -qF -- "$text" "$tmp/err"
}
# A folder's state: names, kinds and checksums.
state () { (cd "$1" && ls -lA --time-style=+ | sed 1d && for f in *; do [ -f "$f" ] && cksum "$f"; done) 2>/dev/null; }
unchanged () { # folder, command…: the command fails and the folder is exactly as before
  dir=$1
  shift
  state "$dir" >"$tmp/before"
  "$@"
  rc=$?
  state "$dir" >"$tmp/after"
  cmp -s "$tmp/before" "$tmp/after" || { echo "the folder changed:"; diff "$tmp/before" "$tmp/after"; return 1; }
  return $rc
}

A=$LQ_WEIGHTS_DIR/mnist-A.safetensors
have_a () { [ -f "$A" ]; }
w=$tmp/w
mkdir "$w"

echo "1..21"
# ---- weight files
: >"$w/empty.safetensors"
check "an empty weight file" unchanged "$w" refused "$w/empty.safetensors: 0 bytes is too short" \
  "$lq" eval --model-file "$w/empty.safetensors" --defense none
mkdir "$w/dir.safetensors"
check "a folder as a weight file" refused "$w/dir.safetensors: not a regular file" \
  "$lq" eval --model-file "$w/dir.safetensors" --defense none
check "a missing weight file" refused "$w/absent.safetensors: cannot open: No such file" \
  "$lq" eval --model-file "$w/absent.safetensors" --defense none
if have_a; then
  size=$(wc -c <"$A")
  head -c $((size - 1000)) "$A" >"$w/truncated.safetensors"
  check "a truncated weight file" unchanged "$w" refused "$w/truncated.safetensors: the tensors cover" \
    "$lq" eval --model-file "$w/truncated.safetensors" --defense none
  cp "$A" "$w/nan.safetensors"
  # F16 NaN (0x7e00, little endian) as the last value, which belongs to fc2.bias.
  printf '\000\176' | dd of="$w/nan.safetensors" bs=1 seek=$((size - 2)) conv=notrunc 2>/dev/null
  check "NaN in a weight file names the tensor" refused "tensor 'fc2.bias' holds NaN" \
    "$lq" eval --model-file "$w/nan.safetensors" --defense none
  cp "$A" "$w/inf.safetensors"
  printf '\000\174' | dd of="$w/inf.safetensors" bs=1 seek=$((size - 2)) conv=notrunc 2>/dev/null
  check "Inf in a weight file names the tensor" refused "tensor 'fc2.bias' holds Inf" \
    "$lq" eval --model-file "$w/inf.safetensors" --defense none
  check "a classifier given as the LQ-VAE" refused "$A: not an LQ-VAE file" \
    "$lq" encode --data mnist --in "$fx/digit.png" --lqvae-file "$A"
  check "weights for the other data set" refused "holds weights for MNIST, not Fashion-MNIST" \
    "$lq" eval --data fmnist --model-file "$A" --defense none --n 10
else
  for d in truncated NaN Inf wrong-arch wrong-data; do skip "$d weights" "no $A"; done
fi
# A header whose offsets promise 1600 bytes of data that the file does not hold.
json='{"__metadata__":{"arch":"classifier-A","dataset":"mnist"},"w":{"dtype":"F32","shape":[400],"data_offsets":[0,1600]}}'
len=${#json}
pad=$(((8 - len % 8) % 8))
{ printf "\\$(printf %o $(((len + pad) % 256)))\\$(printf %o $(((len + pad) / 256)))\\000\\000\\000\\000\\000\\000"
  printf '%s' "$json"; printf '%*s' $pad ''; printf 'only sixteen....'; } >"$w/lying.safetensors"
check "a weight file whose header lies" refused "$w/lying.safetensors: the tensors cover 1600 bytes but the data section holds 16" \
  "$lq" eval --model-file "$w/lying.safetensors" --defense none

# ---- images (through `lq attack --in`, which only needs classifier A)
if have_a; then
  check "a 1×1 image" refused "one-pixel.png: the image has no ink" "$lq" attack --in "$fx/one-pixel.png"
  # 20 000 × 20 000 is 1.2 GB decoded: refused from its header, so 600 MB of address space is plenty.
  # An AddressSanitizer build cannot start with its address space capped: there the allocator's
  # own limit plays the part of the ulimit.
  if ldd "$lq" 2>/dev/null | grep -q libasan; then
    cap="export ASAN_OPTIONS=\${ASAN_OPTIONS:+\$ASAN_OPTIONS:}max_allocation_size_mb=600:allocator_may_return_null=1"
  else
    cap="ulimit -v 600000"
  fi
  check "a 20000×20000 image" sh -c "$cap; exec \"\$0\" \"\$@\" 2>&1 | grep -F 'huge-20000.png: 20000×20000 is too large'" \
    "$lq" attack --in "$fx/huge-20000.png"
  check "a 10000×10000 image (within the side limit)" refused "big-10000.png: 10000×10000 is too large" \
    "$lq" attack --in "$fx/big-10000.png"
  check "a truncated image" refused "truncated.png" "$lq" attack --in "$fx/truncated.png"
  check "an animated GIF gives its first frame" sh -c \
    "'$lq' attack --in '$fx/digit.gif' --out '$tmp/gif.png' >/dev/null && '$lq' attack --in '$fx/digit.png' --out '$tmp/png.png' >/dev/null && cmp '$tmp/gif.png' '$tmp/png.png'"
  check "a 16-bit PNG reads as its 8-bit twin" sh -c \
    "'$lq' attack --in '$fx/digit-16bit.png' --out '$tmp/16.png' >/dev/null && cmp '$tmp/16.png' '$tmp/png.png'"
  # ---- paths that are not UTF-8 (Latin-1 "déjà.png" and a 0xff byte)
  latin=$(printf 'd\351j\340.png')
  cp "$fx/digit.png" "$tmp/$latin"
  check "non-UTF-8 file names in and out" sh -c \
    "'$lq' attack --in '$tmp/$latin' --out '$tmp/$(printf '\377').png' >/dev/null && cmp '$tmp/$(printf '\377').png' '$tmp/png.png'"
  check "a missing non-UTF-8 file, named in UTF-8" refused "d�j�.png" "$lq" attack --in "$tmp/x-$latin"
else
  for d in 1x1 huge big truncated gif 16bit utf8 utf8-missing; do skip "$d image" "no $A"; done
fi

# ---- saves that cannot happen: nothing on disk may change
o=$tmp/saves
mkdir "$o"
echo "the previous result" >"$o/adv.png"
if have_a; then
  chmod 755 "$tmp"
  chmod 555 "$o"
  if [ "$(id -u)" -eq 0 ]; then
    # root writes anywhere: become nobody, who still reads the fixtures and the weights.
    as_user="setpriv --reuid=65534 --regid=65534 --clear-groups"
  else
    as_user=""
  fi
  check "a read-only output folder" unchanged "$o" refused "cannot write $o/adv.png: Permission denied" \
    $as_user "$lq" attack --in "$fx/digit.png" --out "$o/adv.png"
  chmod 755 "$o"
  # A full disk: the file-size limit makes writes past 512 bytes fail with EFBIG (and lq ignores
  # SIGXFSZ, so it reports the error); /dev/full fails them with ENOSPC.
  check "a full disk (ulimit -f)" unchanged "$o" refused "cannot write $o/adv.png: File too large" \
    sh -c 'ulimit -f 1; exec "$0" "$@"' "$lq" attack --in "$fx/digit.png" --out "$o/adv.png" --scale 16
  ln -s /dev/full "$o/full.png"
  check "a full disk (/dev/full)" unchanged "$o" refused "cannot write $o/full.png: No space left on device" \
    "$lq" attack --in "$fx/digit.png" --out "$o/full.png"
  check "a folder as the output" unchanged "$o" refused "cannot write $o: Is a directory" \
    "$lq" attack --in "$fx/digit.png" --out "$o"
else
  for d in read-only full-disk dev-full folder; do skip "$d output" "no $A"; done
fi
[ "$failed" -eq 0 ]
