#!/bin/sh
# The `lq` command line end to end: usage errors, a short LQ-VAE training run with checkpoint and
# resume, encode and purify with the file it wrote, eval's clear error for missing weights, a
# tiny Defense-GAN training run and eval with it. TAP.
lq=$1
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
n=0
failed=0
check () { # description, then a command that must succeed
  n=$((n + 1))
  desc=$1
  shift
  if "$@" >"$tmp/out" 2>&1; then
    echo "ok $n $desc"
  else
    echo "not ok $n $desc"
    sed 's/^/# /' "$tmp/out"
    failed=$((failed + 1))
  fi
}
exits () { # expected status, command…: the command exits with that status
  want=$1
  shift
  "$@" >"$tmp/cmd.out" 2>&1
  got=$?
  cat "$tmp/cmd.out"
  [ "$got" -eq "$want" ]
}
says () { # text, command…: the command's output contains the text
  text=$1
  shift
  "$@" >"$tmp/cmd.out" 2>&1
  cat "$tmp/cmd.out"
  grep -q -- "$text" "$tmp/cmd.out"
}
have_mnist () { "$lq" data info 2>/dev/null | grep -q "MNIST: installed"; }

echo "1..20"
check "no command is a usage error" exits 2 "$lq"
check "an unknown command is a usage error" exits 2 "$lq" frobnicate
check "an unknown data set is named" says "unknown" "$lq" eval --data cifar --defense none
check "an unknown classifier is a usage error" exits 2 "$lq" eval --model Z
check "a missing weight file is a clear error" says "no-such.safetensors" \
  "$lq" eval --model-file "$tmp/no-such.safetensors" --defense none
check "purify needs --out" exits 2 "$lq" purify --index 0
check "Defense-GAN refuses the LQ-VAE's soft BPDA" exits 2 \
  "$lq" eval --defense defensegan --attack fgsm --bpda soft
check "bench --attacks and --steps exclude each other" exits 2 "$lq" bench --attacks --steps
check "bench --steps --json times both training steps" sh -c \
  "'$lq' bench --steps --quick --threads 1 --json > '$tmp/b.json' && grep -q '\"lqvae\"' '$tmp/b.json' && grep -q '\"classifier-A\"' '$tmp/b.json' && ! grep -q '\"attacks\"' '$tmp/b.json'"
# the paper LQ-VAE step's products, counted by the engine: 46.70 GFLOP at batch 64 (729.6 MFLOP an image)
check "bench --steps counts the LQ-VAE step's flops" sh -c \
  "grep -Eq '\"gflop\" *: *46\\.69[0-9]*' '$tmp/b.json' && grep -q '\"raw_gemm_fraction\"' '$tmp/b.json'"
if have_mnist; then
  check "train lqvae writes a checkpoint and weights" \
    "$lq" train lqvae --data mnist --config compact --steps 2 \
      --checkpoint "$tmp/ck.safetensors" --out "$tmp/vae.safetensors"
  check "train lqvae --resume continues from the checkpoint's step" says "resumed .* at step 2" \
    "$lq" train lqvae --data mnist --config compact --steps 3 --resume \
      --checkpoint "$tmp/ck.safetensors" --out "$tmp/vae.safetensors"
  check "train lqvae --whole-batch trains too" \
    "$lq" train lqvae --data mnist --config compact --steps 1 --whole-batch \
      --checkpoint "$tmp/ckw.safetensors" --out "$tmp/vaew.safetensors"
  check "encode prints 64 bits" sh -c \
    "'$lq' encode --data mnist --index 0 --lqvae-file '$tmp/vae.safetensors' | head -1 | grep -Eq '^[01]{64}\$'"
  check "purify writes a PNG" sh -c \
    "'$lq' purify --data mnist --index 0 --lqvae-file '$tmp/vae.safetensors' --out '$tmp/p.png' --scale 4 && head -c 8 '$tmp/p.png' | grep -q PNG"
  check "an index outside the test split is refused" says "outside the test split" \
    "$lq" purify --data mnist --index 10000 --lqvae-file "$tmp/vae.safetensors" --out "$tmp/q.png"
  check "train defensegan (tiny) writes a generator" \
    "$lq" train defensegan --data mnist --config tiny --steps 2 \
      --checkpoint "$tmp/gck.safetensors" --out "$tmp/gan.safetensors"
  check "eval --defense defensegan purifies with it" says "purified (Defense-GAN)" \
    "$lq" eval --data mnist --n 2 --defense defensegan --gan-file "$tmp/gan.safetensors" \
      --gan-L 2 --gan-R 2
  # FGSM's L2 differs from image to image: images 1–3 in one run = image 1 + images 2–3 (--skip 1),
  # and image 2 alone is not image 1.
  l2 () { "$lq" eval --data mnist --defense none --attack fgsm --json "$@" | sed -n 's/.*"mean_l2" : \([0-9.e+-]*\).*/\1/p'; }
  check "eval --skip starts after the skipped images" sh -c "awk -v a=$(l2 --n 3) -v b=$(l2 --n 1) \
    -v c=$(l2 --n 2 --skip 1) -v d=$(l2 --n 1 --skip 1) \
    'BEGIN { e = 3 * a - b - 2 * c; exit !(e < 1e-3 && e > -1e-3 && (b - d > 1e-3 || d - b > 1e-3)) }'"
  # The JSON's fractions are fractions: the noise bit-flip figure matches the text's percentage.
  check "eval --json gives the noise bit flips as the text's fraction" sh -c \
    "pct=\$('$lq' eval --data mnist --n 50 | sed -n 's/.*bits flipped by N(0, 0.05²) *\\([0-9.]*\\) %.*/\\1/p'); \
     frac=\$('$lq' eval --data mnist --n 50 --json | sed -n 's/.*\"noise_bit_flip_fraction\" : \\([0-9.e+-]*\\).*/\\1/p'); \
     awk -v p=\"\$pct\" -v f=\"\$frac\" 'BEGIN { d = 100 * f - p; exit !(p != \"\" && f != \"\" && d < 0.006 && d > -0.006) }'"
else
  for d in "train lqvae" "resume" "whole batch" "encode" "purify" "index range" "train defensegan" \
           "eval defensegan" "eval --skip" "eval --json fractions"; do
    n=$((n + 1))
    echo "ok $n $d # SKIP MNIST is not imported (lq data import)"
  done
fi
[ "$failed" -eq 0 ]
