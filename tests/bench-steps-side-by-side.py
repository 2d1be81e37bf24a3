#!/usr/bin/python3
"""bench-steps-side-by-side.py: issue 3's LQ-VAE training-step comparison in one run — our
`lq bench --steps` (2 engine threads) and tests/bench-torch.py (2 torch threads, once with
OpenBLAS on all cores and once with OPENBLAS_NUM_THREADS=1, the faster of the two counting),
alternated round by round so that both see the same machine. Prints per round and as the median
over rounds the images/s of each and the ratio (target: ours ≥ 2.5× PyTorch's best), and what the
target asks of the machine: ours as a fraction of raw GEMM (the step's counted GFLOP/s over
lq_gemm's at 1024³, paired samples, from `lq bench --steps`), and the fraction 2.5× PyTorch would
need. Not part of CI (it needs python3-torch; ~2 minutes a round).

    /usr/bin/python3 tests/bench-steps-side-by-side.py [--lq build/src/lq] [--rounds 3]
"""
import argparse
import os
import statistics
import sys

from side_by_side import HERE, LQ_DEFAULT, run_json



def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--lq", default=LQ_DEFAULT)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--threads", type=int, default=2, help="ours: engine threads; torch: its own pool")
    args = ap.parse_args()
    base = {k: v for k, v in os.environ.items() if k not in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS")}
    rows = []
    for r in range(args.rounds):
        print(f"round {r + 1}/{args.rounds}: lq bench --steps", file=sys.stderr)
        res = run_json([args.lq, "bench", "--steps", "--threads", str(args.threads), "--json"], base)
        ours = {e["name"]: e["images_per_s"] for e in res["training"]}
        vae = next(e for e in res["training"] if e["name"] == "lqvae")
        torch = {}
        for blas in (None, "1"):
            env = dict(base) if blas is None else dict(base, OPENBLAS_NUM_THREADS=blas)
            print(f"round {r + 1}/{args.rounds}: bench-torch.py, OPENBLAS_NUM_THREADS="
                  f"{blas or 'unset'}", file=sys.stderr)
            t = run_json([sys.executable, os.path.join(HERE, "bench-torch.py"), "--threads",
                          str(args.threads), "--steps", "9", "--json"], env)
            torch[blas or "all"] = t["lqvae"]["images_per_s"]
        best = max(torch.values())
        frac = vae["raw_gemm_fraction"]
        need = frac * 2.5 * best / ours["lqvae"]  # the same flops in 1/2.5 of PyTorch's time
        rows.append((ours["lqvae"], torch["all"], torch["1"], best, ours["lqvae"] / best, frac, need))
        print(f"  ours {ours['lqvae']:.1f} img/s; PyTorch {torch['all']:.1f} (BLAS all cores), "
              f"{torch['1']:.1f} (BLAS 1 thread); ratio to the better {ours['lqvae'] / best:.2f}×; "
              f"ours at {frac:.2f} of raw GEMM, 2.5× would need {need:.2f}", file=sys.stderr)
    print("round   ours img/s   PyTorch (BLAS all)   PyTorch (BLAS 1)   ours ÷ best PyTorch"
          "   ours of raw GEMM   2.5× needs")
    for i, (o, ta, t1, _, q, f, n) in enumerate(rows):
        print(f"{i + 1:5d} {o:12.1f} {ta:20.1f} {t1:18.1f} {q:20.2f}× {f:18.2f} {n:12.2f}")
    q = statistics.median(r[4] for r in rows)
    print(f"median ratio {q:.2f}×   target ≥ 2.50×: {'met' if q >= 2.5 else 'MISSED'}")
    print(f"median fraction of raw GEMM: ours {statistics.median(r[5] for r in rows):.2f}, "
          f"needed for 2.5× {statistics.median(r[6] for r in rows):.2f}")


if __name__ == "__main__":
    main()
