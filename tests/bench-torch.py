#!/usr/bin/python3
"""bench-torch.py: the LQ-VAE training step (paper config) and a classifier-A training step in
PyTorch, for a side-by-side comparison with `lq bench` (docs/PERFORMANCE.md). Not part of CI.

Run with Debian's python3-torch (1.13):

    /usr/bin/python3 tests/bench-torch.py [--threads 2] [--blas-threads N] [--steps 15] [--json]

The models are the module trees of tests/lq_torch_models.py (the ones the shipped weight files
load into). The step is the same computation as lq_vae_trainer_step (core/lq-train-vae.c,
DESIGN.md):

    (mu, logvar) = f(x);  GP = mean_i (K - ||d/dx sum_j mu_j(x_i)||)^2 with create_graph=True
    z = mu + t*0.5*exp(logvar/2)*eps;  H~ = softsign(500 (t^2 - z^2));  H = sign(t^2 - z^2) (constant)
    L_h = 10 MSE(x, h(H~));  L_g = 10 MSE(x, g(H));  L_f = KL/(latent*batch) + L_h + 10 GP
    theta <- L_f, phi <- L_g, psi <- L_h: three RMSprop optimizers (lr 3e-4)

One backward of (L_f + L_g) gives exactly those three gradients: h's parameters appear only in L_h
and g's only in L_g (H is detached), so each optimizer sees its own loss's gradient. torch's RMSprop
is used with TensorFlow's decay (alpha 0.9) and epsilon 1e-10; its epsilon sits outside the square
root and its mean square starts at 0, unlike TF's (the cost per step is the same). Images are
synthetic (uniform in [-1, 1]): the cost of a step does not depend on the pixels.

Also timed, for a like-for-like look at the encoder side alone (no ConvTranspose2d): one encoder
forward, the penalty with create_graph=True and the backward of KL + 10·GP — compare with
`lq bench`'s "encoder forward+backward" + "penalty" figures.

Threads: torch.set_num_threads sets torch's own (OpenMP) pool. Debian's torch calls OpenBLAS
(pthreads build) for Linear layers and for the im2col GEMMs of ConvTranspose2d, and OpenBLAS has
its own pool, sized by OPENBLAS_NUM_THREADS (default: all cores); --blas-threads sets that
variable before torch is loaded. Both settings are printed.
"""
import argparse
import json
import os
import platform
import statistics
import sys
import time

LATENT, T, K = 64, 0.1, 0.1
BATCH = 64


def cpu_model():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def time_steps(step, warmup, steps):
    for _ in range(warmup):
        step()
    times = []
    for _ in range(steps):
        t0 = time.perf_counter()
        step()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--threads", type=int, default=2, help="torch.set_num_threads (default 2)")
    ap.add_argument("--blas-threads", type=int, default=None,
                    help="OPENBLAS_NUM_THREADS for torch's BLAS calls (default: the environment's)")
    ap.add_argument("--steps", type=int, default=15, help="timed steps per model (median)")
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()

    if args.blas_threads is not None:
        os.environ["OPENBLAS_NUM_THREADS"] = str(args.blas_threads)
    import torch  # after OPENBLAS_NUM_THREADS is final: OpenBLAS reads it when it is loaded
    import torch.nn.functional as F
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    from lq_torch_models import ClassifierA, Decoder, Encoder

    def rmsprop(params):
        return torch.optim.RMSprop(params, lr=3e-4, alpha=0.9, eps=1e-10)

    class LqVaeStep:
        def __init__(self, gen):
            self.f, self.g, self.h = Encoder(), Decoder(), Decoder()
            self.opts = [rmsprop(m.parameters()) for m in (self.f, self.g, self.h)]
            self.data = torch.rand(8 * BATCH, 1, 28, 28, generator=gen) * 2 - 1
            self.gen, self.i = gen, 0

        def __call__(self):
            x = self.data[(self.i % 8) * BATCH:(self.i % 8 + 1) * BATCH].clone().requires_grad_(True)
            self.i += 1
            for o in self.opts:
                o.zero_grad(set_to_none=True)
            mu, logvar = self.f(x)
            (gx,) = torch.autograd.grad(mu.sum(), x, create_graph=True)
            gp = ((K - gx.flatten(1).norm(dim=1)) ** 2).mean()
            eps = torch.randn(mu.shape, generator=self.gen)
            z = mu + T * 0.5 * torch.exp(0.5 * logvar) * eps
            a = 500.0 * (T * T - z * z)
            soft = F.softsign(a)
            hard = torch.where(a >= 0, 1.0, -1.0).detach()
            l_h = 10.0 * F.mse_loss(self.h(soft), x.detach())
            l_g = 10.0 * F.mse_loss(self.g(hard), x.detach())
            kl = -0.5 * torch.sum(1 + logvar - mu * mu - torch.exp(logvar)) / (LATENT * BATCH)
            l_f = kl + l_h + 10.0 * gp
            (l_f + l_g).backward()
            for o in self.opts:
                o.step()

    class EncoderStep:  # encoder forward + penalty (create_graph) + backward of KL + 10·GP
        def __init__(self, gen):
            self.f = Encoder()
            self.x = torch.rand(BATCH, 1, 28, 28, generator=gen) * 2 - 1

        def __call__(self):
            self.f.zero_grad(set_to_none=True)
            x = self.x.clone().requires_grad_(True)
            mu, logvar = self.f(x)
            (gx,) = torch.autograd.grad(mu.sum(), x, create_graph=True)
            gp = ((K - gx.flatten(1).norm(dim=1)) ** 2).mean()
            kl = -0.5 * torch.sum(1 + logvar - mu * mu - torch.exp(logvar)) / (LATENT * BATCH)
            (kl + 10.0 * gp).backward()

    class ClassifierStep:
        def __init__(self, gen):
            self.net = ClassifierA()
            self.net.train()
            self.opt = torch.optim.Adam(self.net.parameters(), lr=1e-3)
            self.x = torch.rand(BATCH, 1, 28, 28, generator=gen)
            self.y = torch.randint(0, 10, (BATCH,), generator=gen)

        def __call__(self):
            self.opt.zero_grad(set_to_none=True)
            F.cross_entropy(self.net(self.x), self.y).backward()
            self.opt.step()

    torch.set_num_threads(args.threads)
    torch.manual_seed(1)
    gen = torch.Generator().manual_seed(1)
    vae_s = time_steps(LqVaeStep(gen), args.warmup, args.steps)
    enc_s = time_steps(EncoderStep(gen), args.warmup, args.steps)
    clf_s = time_steps(ClassifierStep(gen), args.warmup, args.steps)
    res = {
        "torch": torch.__version__, "threads": torch.get_num_threads(),
        "openblas_num_threads": os.environ.get("OPENBLAS_NUM_THREADS", "unset (all cores)"),
        "mkldnn": torch.backends.mkldnn.is_available(), "cpu": cpu_model(),
        "cores": os.cpu_count(), "batch": BATCH, "steps": args.steps,
        "lqvae": {"ms": 1e3 * vae_s, "images_per_s": BATCH / vae_s},
        "encoder_fwd_penalty_bwd": {"ms": 1e3 * enc_s},
        "classifier-A": {"ms": 1e3 * clf_s, "images_per_s": BATCH / clf_s},
    }
    if args.json:
        print(json.dumps(res, indent=2))
        return
    print(f"PyTorch {res['torch']} ({res['threads']} torch threads, OPENBLAS_NUM_THREADS "
          f"{res['openblas_num_threads']}, oneDNN {res['mkldnn']}) on {res['cpu']}, "
          f"{res['cores']} cores; median of {args.steps} steps at batch {BATCH}")
    print(f"  LQ-VAE step (paper config, GP by create_graph, 3 RMSprop): "
          f"{1e3 * vae_s:8.1f} ms {BATCH / vae_s:7.1f} images/s")
    print(f"  encoder forward + penalty + backward (no optimizer):       {1e3 * enc_s:8.1f} ms")
    print(f"  classifier A step (Adam, dropout on):                      "
          f"{1e3 * clf_s:8.1f} ms {BATCH / clf_s:7.1f} images/s")


if __name__ == "__main__":
    main()
