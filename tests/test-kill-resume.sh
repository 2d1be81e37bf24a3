#!/bin/sh
# Interrupted training (docs/ROBUSTNESS.md): `lq train lqvae` checkpointing every step is killed
# with SIGKILL at seeded random moments, several times. After every kill the folder holds only
# the last checkpoint (no temporary files), the checkpoint loads, and --resume continues from a
# step no earlier than the one before. The run finished that way gives the same model as one
# that was never interrupted. Needs MNIST imported (`lq data import`); skips without. TAP.
# SEED (default 7) and KILLS (default 5) can be set in the environment.
lq=$1
seed=${SEED:-7}
kills=${KILLS:-5}
tmp=$(mktemp -d)
pid=
trap '[ -n "$pid" ] && kill -9 "$pid" 2>/dev/null; rm -rf "$tmp"' EXIT
echo "1..$((kills + 2))"
if ! "$lq" data info 2>/dev/null | grep -q "MNIST: installed"; then
  for i in $(seq 1 $((kills + 2))); do echo "ok $i # SKIP MNIST is not imported (lq data import)"; done
  exit 0
fi
ck=$tmp/run/ck.safetensors
mkdir "$tmp/run"
# --checkpoint-minutes 0.0001: a checkpoint after every step (a step of the small config takes
# ~0.2 s), so a kill often lands in the middle of writing one.
train () { "$lq" train lqvae --data mnist --config small --seed 3 --checkpoint-minutes 0.0001 "$@"; }
# Started directly (not through the function), so that $! is lq itself and SIGKILL reaches it.
set -- "$lq" train lqvae --data mnist --config small --seed 3 --checkpoint-minutes 0.0001
# Kill delays in seconds, from the seed: 0.3 to 3 s after the run's first step (counted from
# there, not from the start, so that a loaded machine still sees progress between kills).
delays=$(awk -v s="$seed" -v k="$kills" 'BEGIN { srand(s); for (i = 0; i < k; i++) printf "%.2f\n", 0.3 + 2.7 * rand() }')
failed=0
last=0
i=0
for d in $delays; do
  i=$((i + 1))
  resume=
  [ -f "$ck" ] && resume=--resume
  "$@" --steps 100000 $resume --checkpoint "$ck" --out "$tmp/run/vae.safetensors" 2>"$tmp/log" &
  pid=$!
  t=0
  while ! grep -q '^step ' "$tmp/log" && kill -0 "$pid" 2>/dev/null && [ $t -lt 600 ]; do
    sleep 0.1
    t=$((t + 1))
  done
  sleep "$d"
  kill -9 "$pid"
  wait "$pid" 2>/dev/null
  if kill -0 "$pid" 2>/dev/null; then echo "Bail out! lq (pid $pid) survived SIGKILL"; exit 1; fi
  pid=
  msg=
  step=$(sed -n 's/^resumed .* at step \([0-9]*\)$/\1/p' "$tmp/log")
  if grep -q '^lq: ' "$tmp/log"; then
    msg="it failed: $(grep '^lq: ' "$tmp/log")"
  elif [ -n "$resume" ] && [ -z "$step" ] && grep -q '^step ' "$tmp/log"; then
    msg="--resume trained without resuming: $(cat "$tmp/log")"
  elif [ -n "$step" ] && [ "$step" -lt "$last" ]; then
    msg="resumed at step $step, before the previous checkpoint's $last"
  fi
  [ -n "$step" ] && last=$step
  left=$(cd "$tmp/run" && ls -A | tr '\n' ' ')
  if [ -z "$msg" ] && [ "$left" != "" ] && [ "$left" != "ck.safetensors " ]; then
    msg="the folder holds '$left', not just the checkpoint"
  fi
  # The checkpoint (if one was written yet) loads as an LQ-VAE.
  if [ -z "$msg" ] && [ -f "$ck" ] && ! "$lq" encode --data mnist --index 0 --lqvae-file "$ck" >"$tmp/enc" 2>&1; then
    msg="the checkpoint does not load: $(cat "$tmp/enc")"
  fi
  if [ -z "$msg" ]; then
    echo "ok $i killed ${d} s after its first step (resumed at step ${step:-none}; left: ${left:-nothing})"
  else
    echo "not ok $i killed ${d} s after its first step: $msg"
    failed=$((failed + 1))
  fi
done

# Read the last checkpoint's step (a target already reached trains nothing), finish two steps
# past it, and compare with a run of as many steps that was never interrupted.
total=
if [ -f "$ck" ] && train --steps 1 --resume --checkpoint "$ck" --out "$tmp/run/vae.safetensors" 2>"$tmp/log"; then
  steps=$(sed -n 's/^resumed .* at step \([0-9]*\)$/\1/p' "$tmp/log")
  total=$((steps + 2))
  train --steps "$total" --resume --checkpoint "$ck" --out "$tmp/run/vae.safetensors" 2>"$tmp/log" || total=
fi
if [ -n "$total" ]; then
  echo "ok $((kills + 1)) the interrupted run finishes (from step $steps to $total)"
else
  echo "not ok $((kills + 1)) the interrupted run finishes"
  sed 's/^/# /' "$tmp/log"
  failed=$((failed + 1))
fi
if [ -n "$total" ]; then
  mkdir "$tmp/once"
  train --steps "$total" --checkpoint "$tmp/once/ck.safetensors" --out "$tmp/once/vae.safetensors" 2>/dev/null
  for f in run once; do
    "$lq" encode --data mnist --index 0 --mu --lqvae-file "$tmp/$f/vae.safetensors" >"$tmp/$f.mu" 2>&1
  done
  if [ -s "$tmp/run.mu" ] && cmp -s "$tmp/run.mu" "$tmp/once.mu"; then
    echo "ok $((kills + 2)) killed and resumed = never interrupted ($total steps, same codes and mu)"
  else
    echo "not ok $((kills + 2)) killed and resumed differs from never interrupted ($total steps)"
    diff "$tmp/run.mu" "$tmp/once.mu" | head -5 | sed 's/^/# /'
    failed=$((failed + 1))
  fi
else
  echo "ok $((kills + 2)) # SKIP no finished run to compare"
fi
[ "$failed" -eq 0 ]
