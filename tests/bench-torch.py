#!/usr/bin/python3
"""bench-torch.py: the LQ-VAE training step (paper config) and a classifier-A training step in
PyTorch, for a side-by-side comparison with `lq bench` (docs/PERFORMANCE.md). Not part of CI.

Run with Debian's python3-torch (1.13):

    /usr/bin/python3 tests/bench-torch.py [--threads 2] [--steps 15] [--json]

The step is the same computation as lq_vae_trainer_step (core/lq-train-vae.c, DESIGN.md):

    (mu, logvar) = f(x);  GP = mean_i (K - ||d/dx sum_j mu_j(x_i)||)^2 with create_graph=True
    z = mu + t*0.5*exp(logvar/2)*eps;  H~ = softsign(500 (t^2 - z^2));  H = sign(t^2 - z^2) (constant)
    L_h = 10 MSE(x, h(H~));  L_g = 10 MSE(x, g(H));  L_f = KL/(latent*batch) + L_h + 10 GP
    theta <- L_f, phi <- L_g, psi <- L_h: three RMSprop optimizers (lr 3e-4)

One backward of (L_f + L_g) gives exactly those three gradients: h's parameters appear only in L_h
and g's only in L_g (H is detached), so each optimizer sees its own loss's gradient. torch's RMSprop
is used with TensorFlow's decay (alpha 0.9) and epsilon 1e-10; its epsilon sits outside the square
root and its mean square starts at 0, unlike TF's (the cost per step is the same). Images are
synthetic (uniform in [-1, 1]): the cost of a step does not depend on the pixels.
"""
import argparse
import json
import os
import platform
import statistics
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

LATENT, WIDTH, HIDDEN, T, K = 64, 64, 1024, 0.1, 0.1
BATCH = 64


def encoder():
    w = WIDTH
    return nn.Sequential(
        nn.Conv2d(1, w, 3, 1, 1), nn.LeakyReLU(0.2),
        nn.Conv2d(w, w, 3, 2, 1), nn.LeakyReLU(0.2),
        nn.Conv2d(w, 2 * w, 3, 2, 1), nn.LeakyReLU(0.2),
        nn.Conv2d(2 * w, 2 * w, 3, 1, 1), nn.LeakyReLU(0.2),
        nn.Flatten(),
        nn.Linear(2 * w * 7 * 7, HIDDEN), nn.LeakyReLU(0.2),
        nn.Linear(HIDDEN, 2 * LATENT))  # mu then logvar


class Decoder(nn.Module):
    def __init__(self):
        super().__init__()
        w = WIDTH
        self.fc = nn.Sequential(nn.Linear(LATENT, HIDDEN), nn.LeakyReLU(0.2),
                                nn.Linear(HIDDEN, 2 * w * 7 * 7), nn.LeakyReLU(0.2))
        self.deconv = nn.Sequential(
            nn.ConvTranspose2d(2 * w, 2 * w, 3, 1, 1), nn.LeakyReLU(0.2),
            nn.ConvTranspose2d(2 * w, 2 * w, 3, 2, 1, output_padding=1), nn.LeakyReLU(0.2),
            nn.ConvTranspose2d(2 * w, w, 3, 2, 1, output_padding=1), nn.LeakyReLU(0.2),
            nn.ConvTranspose2d(w, 1, 3, 1, 1), nn.Tanh())

    def forward(self, code):
        return self.deconv(self.fc(code).view(-1, 2 * WIDTH, 7, 7))


def classifier_a():
    return nn.Sequential(
        nn.Conv2d(1, 64, 5, 1, 2), nn.ReLU(),   # 'same' for a 5x5 kernel at stride 1
        nn.Conv2d(64, 64, 5, 2, 0), nn.ReLU(),  # 'valid'
        nn.Flatten(), nn.Dropout(0.25),
        nn.Linear(64 * 12 * 12, 128), nn.ReLU(), nn.Dropout(0.5),
        nn.Linear(128, 10))


def rmsprop(params):
    return torch.optim.RMSprop(params, lr=3e-4, alpha=0.9, eps=1e-10)


class LqVaeStep:
    def __init__(self, gen):
        self.f, self.g, self.h = encoder(), Decoder(), Decoder()
        self.opt_f, self.opt_g, self.opt_h = (rmsprop(m.parameters()) for m in (self.f, self.g, self.h))
        self.data = torch.rand(8 * BATCH, 1, 28, 28, generator=gen) * 2 - 1
        self.gen, self.i = gen, 0

    def __call__(self):
        x = self.data[(self.i % 8) * BATCH:(self.i % 8 + 1) * BATCH].clone().requires_grad_(True)
        self.i += 1
        for o in (self.opt_f, self.opt_g, self.opt_h):
            o.zero_grad(set_to_none=True)
        mu, logvar = self.f(x).chunk(2, 1)
        (gx,) = torch.autograd.grad(mu.sum(), x, create_graph=True)
        norm = gx.flatten(1).norm(dim=1)
        gp = ((K - norm) ** 2).mean()
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
        for o in (self.opt_f, self.opt_g, self.opt_h):
            o.step()
        return float(l_f), float(l_g)


class ClassifierStep:
    def __init__(self, gen):
        self.net = classifier_a()
        self.net.train()
        self.opt = torch.optim.Adam(self.net.parameters(), lr=1e-3)
        self.x = torch.rand(BATCH, 1, 28, 28, generator=gen)
        self.y = torch.randint(0, 10, (BATCH,), generator=gen)

    def __call__(self):
        self.opt.zero_grad(set_to_none=True)
        loss = F.cross_entropy(self.net(self.x), self.y)
        loss.backward()
        self.opt.step()
        return float(loss)


def time_steps(step, warmup, steps):
    for _ in range(warmup):
        step()
    times = []
    for _ in range(steps):
        t0 = time.perf_counter()
        step()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def cpu_model():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--steps", type=int, default=15, help="timed steps per model (median)")
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()

    torch.set_num_threads(args.threads)
    torch.manual_seed(1)
    gen = torch.Generator().manual_seed(1)
    vae_s = time_steps(LqVaeStep(gen), args.warmup, args.steps)
    clf_s = time_steps(ClassifierStep(gen), args.warmup, args.steps)
    res = {
        "torch": torch.__version__, "threads": torch.get_num_threads(),
        "mkldnn": torch.backends.mkldnn.is_available(), "cpu": cpu_model(),
        "cores": os.cpu_count(), "batch": BATCH, "steps": args.steps,
        "lqvae": {"ms": 1e3 * vae_s, "images_per_s": BATCH / vae_s},
        "classifier-A": {"ms": 1e3 * clf_s, "images_per_s": BATCH / clf_s},
    }
    if args.json:
        print(json.dumps(res, indent=2))
        return
    print(f"PyTorch {res['torch']} ({res['threads']} threads, oneDNN {res['mkldnn']}) on "
          f"{res['cpu']}, {res['cores']} cores; median of {args.steps} steps at batch {BATCH}")
    print(f"  LQ-VAE step (paper config, GP by create_graph, 3 RMSprop): "
          f"{1e3 * vae_s:7.1f} ms {BATCH / vae_s:7.1f} images/s")
    print(f"  classifier A step (Adam, dropout on):                     "
          f"{1e3 * clf_s:7.1f} ms {BATCH / clf_s:7.1f} images/s")


if __name__ == "__main__":
    main()
