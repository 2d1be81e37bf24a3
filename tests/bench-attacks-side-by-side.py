#!/usr/bin/python3
"""bench-attacks-side-by-side.py: issue 4's batch-256 comparison in one run — our `lq bench
--attacks` and tests/bench-attacks-torch.py, alternated round by round, each with one compute
thread (OpenBLAS 1, torch 1), timed as process CPU time so that the load of a shared machine does
not enter the ratio. Prints per attack the median images per CPU-second of each and their ratio
(target: ours ≥ 1.5× PyTorch's). Not part of CI (it needs python3-torch and takes ~10 minutes).

    /usr/bin/python3 tests/bench-attacks-side-by-side.py [--lq build/src/lq] [--rounds 2]
"""
import argparse
import os
import statistics
import sys

from side_by_side import HERE, LQ_DEFAULT, run_json

ATTACKS = ("fgsm", "pgd-40", "deepfool")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--lq", default=LQ_DEFAULT)
    ap.add_argument("--rounds", type=int, default=2, help="alternations of the two (default 2)")
    args = ap.parse_args()
    env = dict(os.environ, OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1")
    ours = {a: [] for a in ATTACKS}
    torch = {a: [] for a in ATTACKS}
    for r in range(args.rounds):
        print(f"round {r + 1}/{args.rounds}: lq bench --attacks --threads 1", file=sys.stderr)
        res = run_json([args.lq, "bench", "--attacks", "--threads", "1", "--json"], env)
        for e in res["attacks"]["entries"]:
            if e["batch"] == 256 and e["name"] in ours:
                ours[e["name"]].append(e["images_per_cpu_s"])
        print(f"round {r + 1}/{args.rounds}: bench-attacks-torch.py", file=sys.stderr)
        res = run_json([sys.executable, os.path.join(HERE, "bench-attacks-torch.py"),
                        "--threads", "1", "--blas-threads", "1", "--json"], env)
        for e in res["attacks"]:
            torch[e["name"]].append(e["images_per_cpu_s"])
    print("attack     batch   ours img/cpu-s   PyTorch img/cpu-s   ours ÷ PyTorch   target")
    for a in ATTACKS:
        if not ours[a] or not torch[a]:
            print(f"{a:10s} missing from one of the runs")
            continue
        o, t = statistics.median(ours[a]), statistics.median(torch[a])
        print(f"{a:10s} {256:5d} {o:16.1f} {t:19.1f} {o / t:15.2f}×   ≥ 1.50× "
              f"{'met' if o / t >= 1.5 else 'MISSED'}")


if __name__ == "__main__":
    main()
