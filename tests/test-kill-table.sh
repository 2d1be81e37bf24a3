#!/bin/sh
# Interrupted tables (docs/ROBUSTNESS.md): `lq eval --table` killed with SIGKILL in the middle of
# its run keeps every finished cell: the cache file is whole (valid JSON, no temporary files
# beside it) and the next run takes those cells from it instead of recomputing them. A random
# LQ-VAE is enough: the test is about the bookkeeping, not the accuracy. Needs MNIST and the
# shipped classifiers; skips without. TAP.
lq=$1
tmp=$(mktemp -d)
pid=
trap '[ -n "$pid" ] && kill -9 "$pid" 2>/dev/null; rm -rf "$tmp"' EXIT
echo "1..3"
if ! "$lq" data info 2>/dev/null | grep -q "MNIST: installed"; then
  for i in 1 2 3; do echo "ok $i # SKIP MNIST is not imported (lq data import)"; done
  exit 0
fi
"$lq" train lqvae --data mnist --config small --steps 1 --checkpoint "$tmp/ck.safetensors" \
  --out "$tmp/vae.safetensors" 2>/dev/null
mkdir "$tmp/cache"
cache=$tmp/cache/tables.json
set -- "$lq" eval --table mnist-whitebox --rows 'fgsm-*,deepfool-*' --n 100 --cache "$cache" \
  --lqvae-file "$tmp/vae.safetensors" --gan-L 2 --gan-R 1 --no-write
cells () { python3 -c 'import json, sys; print(len(json.load(open(sys.argv[1]))["cells"]))' "$1" 2>/dev/null; }
"$@" >/dev/null 2>"$tmp/log" &
pid=$!
t=0
while [ "$(cells "$cache" || echo 0)" -lt 3 ] && kill -0 "$pid" 2>/dev/null && [ $t -lt 3000 ]; do
  sleep 0.1
  t=$((t + 1))
done
if kill -9 "$pid" 2>/dev/null; then killed=yes; else killed=no; fi
wait "$pid" 2>/dev/null
pid=
k=$(cells "$cache")
if [ "$killed" = yes ] && [ -n "$k" ] && [ "$k" -ge 3 ] && [ "$(ls "$tmp/cache")" = tables.json ]; then
  echo "ok 1 killed mid-table: the cache is whole and holds $k finished cells, nothing else is left"
else
  echo "not ok 1 killed mid-table (killed: $killed, cells: ${k:-unreadable}, files: $(ls "$tmp/cache" | tr '\n' ' '))"
  sed 's/^/# /' "$tmp/log"
fi
"$@" --json >"$tmp/out.json" 2>"$tmp/log"
status=$?
cached=$(python3 -c '
import json, sys
o = json.load(open(sys.argv[1]))
print(sum(1 for t in o for r in t["rows"] for c in r["cells"].values() if c.get("cached")))' "$tmp/out.json" 2>/dev/null)
if [ "$status" -eq 0 ] && [ -n "$cached" ] && [ -n "$k" ] && [ "$cached" -ge "$k" ]; then
  echo "ok 2 the next run takes the $k finished cells from the cache ($cached cached in all)"
else
  echo "not ok 2 the next run reused ${cached:-?} cells, expected at least ${k:-?} (exit $status)"
  sed 's/^/# /' "$tmp/log"
fi
total=$(cells "$cache")
if [ -n "$total" ] && [ -n "$k" ] && [ "$total" -gt "$k" ]; then
  echo "ok 3 the next run finished the table ($total cells cached)"
else
  echo "not ok 3 the next run did not add cells (${total:-?} after, ${k:-?} before)"
fi
