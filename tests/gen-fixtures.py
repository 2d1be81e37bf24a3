#!/usr/bin/python3
"""Writes the PyTorch reference fixtures of tests/test-torch-fixtures.c into tests/fixtures/.

Run with Debian's interpreter, which has python3-torch (1.13):

    /usr/bin/python3 tests/gen-fixtures.py [OUTDIR]

Every file is a safetensors file (written here with struct + json: F32, little endian, header
padded with spaces to 8 bytes, tensors contiguous in the order written) whose __metadata__ says
what it holds. Inputs and parameters are drawn from seeded generators and rounded to float32;
the references are computed by PyTorch in float64 from those float32 values and stored as float32,
so they carry no float32 accumulation error of their own. Parameter names and layouts are
PyTorch's (Conv2d.weight [out, in, kh, kw], ConvTranspose2d.weight [in, out, kh, kw],
Linear.weight [out, in]), which are the project's.
"""
import json
import os
import struct
import sys

import torch
import torch.nn.functional as F

torch.set_grad_enabled(True)
OUT = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(os.path.abspath(__file__)), "fixtures")
GEN_VERSION = "1"


def save(name, tensors, meta):
    """tensors: list of (name, tensor); written in that order."""
    header = {}
    blobs = []
    off = 0
    for key, t in tensors:
        t = t.detach().to(torch.float32).contiguous()
        shape = list(t.shape) if t.dim() > 0 else [1]
        assert len(shape) <= 4, key
        assert torch.isfinite(t).all(), key
        b = t.numpy().astype("<f4").tobytes()
        header[key] = {"dtype": "F32", "shape": shape, "data_offsets": [off, off + len(b)]}
        blobs.append(b)
        off += len(b)
    md = {"generator": "tests/gen-fixtures.py", "generator_version": GEN_VERSION,
          "torch": torch.__version__}
    md.update({k: str(v) for k, v in meta.items()})
    header["__metadata__"] = md
    h = json.dumps(header, separators=(",", ":")).encode("utf-8")
    h += b" " * ((8 - len(h) % 8) % 8)
    path = os.path.join(OUT, name + ".safetensors")
    with open(path + ".tmp", "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)
    os.replace(path + ".tmp", path)
    print(f"{path}: {8 + len(h) + off} bytes")


def f32(t):
    """Rounded to float32, then held in float64 for the reference computation."""
    return t.to(torch.float32).to(torch.float64)


def rand(gen, *shape, scale=1.0):
    return f32((torch.rand(*shape, generator=gen, dtype=torch.float64) * 2 - 1) * scale)


def layer_fixture(name, module, x_shape, meta, pad=None, seed=0):
    """Forward y = module(F.pad(x, pad)), L = <dy, y>, and every gradient of L."""
    gen = torch.Generator().manual_seed(seed)
    module = module.to(torch.float64)
    with torch.no_grad():
        for p in module.parameters():
            p.copy_(rand(gen, *p.shape, scale=0.5))
    x = rand(gen, *x_shape).requires_grad_(True)
    xin = F.pad(x, pad) if pad else x
    y = module(xin)
    dy = rand(gen, *y.shape)
    (y * dy).sum().backward()
    tensors = [("x", x), ("y", y), ("dy", dy), ("dx", x.grad)]
    for pname, p in module.named_parameters():
        tensors += [(pname, p), ("grad." + pname, p.grad)]
    save(name, tensors, meta)


def layers():
    layer_fixture("layer-dense", torch.nn.Linear(2 * 3 * 3, 5), (3, 18),
                  {"kind": "dense", "in": "2x3x3 flattened", "out": 5}, seed=1)
    layer_fixture("layer-conv-same", torch.nn.Conv2d(2, 3, 3, stride=1, padding=1), (2, 2, 7, 6),
                  {"kind": "conv2d", "kernel": 3, "stride": 1, "padding": "same (1,1,1,1)"}, seed=2)
    layer_fixture("layer-conv-valid", torch.nn.Conv2d(2, 3, 5, stride=2, padding=0), (2, 2, 9, 8),
                  {"kind": "conv2d", "kernel": 5, "stride": 2, "padding": "valid"}, seed=3)
    # TensorFlow "same" for an 8x8 kernel, stride 2, on a 9x7 input: out 5x4, pads
    # (top, bottom) = (3, 4), (left, right) = (3, 4); F.pad takes (left, right, top, bottom).
    layer_fixture("layer-conv-asym", torch.nn.Conv2d(2, 2, 8, stride=2, padding=0), (2, 2, 9, 7),
                  {"kind": "conv2d", "kernel": 8, "stride": 2,
                   "padding": "TF same via F.pad: top 3, left 3, bottom 4, right 4"},
                  pad=(3, 4, 3, 4), seed=4)
    # 3x3 stride 2 TF same on an even 8x8 input: pads (0, 1) — the LQ-VAE encoder's case
    layer_fixture("layer-conv-s2-same-even", torch.nn.Conv2d(2, 3, 3, stride=2, padding=0),
                  (2, 2, 8, 8),
                  {"kind": "conv2d", "kernel": 3, "stride": 2,
                   "padding": "TF same via F.pad: top 0, left 0, bottom 1, right 1"},
                  pad=(0, 1, 0, 1), seed=5)
    layer_fixture("layer-deconv-s1", torch.nn.ConvTranspose2d(3, 2, 3, stride=1, padding=1),
                  (2, 3, 5, 4), {"kind": "deconv2d", "kernel": 3, "stride": 1, "padding": 1,
                                 "output_padding": 0}, seed=6)
    layer_fixture("layer-deconv-s2",
                  torch.nn.ConvTranspose2d(3, 2, 3, stride=2, padding=1, output_padding=1),
                  (2, 3, 4, 5), {"kind": "deconv2d", "kernel": 3, "stride": 2, "padding": 1,
                                 "output_padding": 1}, seed=7)


def activations():
    gen = torch.Generator().manual_seed(8)
    fns = {
        "leaky_relu": lambda x: F.leaky_relu(x, 0.2),
        "relu": F.relu,
        "tanh": torch.tanh,
        "sigmoid": torch.sigmoid,
        "softsign": F.softsign,
    }
    tensors = []
    for name, fn in fns.items():
        x = rand(gen, 2, 3, 4, 5, scale=3.0)
        # ReLU-family kink: keep every input at least 0.05 from 0
        x = torch.where(x.abs() < 0.05, x.sign() * 0.05 + (x == 0) * 0.05, x).requires_grad_(True)
        y = fn(x)
        dy = rand(gen, *y.shape)
        (y * dy).sum().backward()
        tensors += [(name + ".x", x), (name + ".y", y), (name + ".dy", dy), (name + ".dx", x.grad)]
    save("activations", tensors, {"kind": "activations", "leaky_relu_slope": 0.2,
                                  "names": ",".join(fns)})


class Encoder(torch.nn.Module):
    """conv3x3(4, s1, same) → leaky → conv3x3(6, s2, same) → leaky → flatten → dense(16) → leaky
    → dense(3) = mu; TF-same padding (the stride-2 conv on 8x8 pads 0 top/left and 1
    bottom/right); LeakyReLU(0.2) after every hidden layer, as the LQ-VAE encoder."""

    def __init__(self):
        super().__init__()
        self.conv1 = torch.nn.Conv2d(1, 4, 3, stride=1, padding=1)
        self.conv2 = torch.nn.Conv2d(4, 6, 3, stride=2, padding=0)
        self.fc = torch.nn.Linear(6 * 4 * 4, 16)
        self.mu = torch.nn.Linear(16, 3)

    def forward(self, x):
        h = F.leaky_relu(self.conv1(x), 0.2)
        h = F.leaky_relu(self.conv2(F.pad(h, (0, 1, 0, 1))), 0.2)
        h = F.leaky_relu(self.fc(h.flatten(1)), 0.2)
        return self.mu(h)


def encoder_penalty():
    gen = torch.Generator().manual_seed(9)
    net = Encoder().to(torch.float64)
    with torch.no_grad():
        for name, p in net.named_parameters():
            fan_in = p[0].numel() if p.dim() > 1 else None
            bound = 1.0 / (fan_in ** 0.5) if fan_in else 0.2
            # twice PyTorch's default bound (biases: 0.2): input-gradient norms of ~0.5
            p.copy_(rand(gen, *p.shape, scale=2.0 * bound))
    x = rand(gen, 4, 1, 8, 8).requires_grad_(True)
    K = 0.1
    mu = net(x)
    g, = torch.autograd.grad(mu.sum(), x, create_graph=True)
    norms = g.flatten(1).norm(dim=1)
    P = ((K - norms) ** 2).mean()
    params = list(net.named_parameters())
    grads = torch.autograd.grad(P, [p for _, p in params], allow_unused=True)
    tensors = [("x", x), ("mu", mu), ("g", g), ("norms", norms), ("penalty", P.reshape(1))]
    for (name, p), gr in zip(params, grads):
        tensors.append((name, p))
    for (name, p), gr in zip(params, grads):
        tensors.append(("penalty_grad." + name, gr if gr is not None else torch.zeros_like(p)))
    save("encoder-penalty", tensors, {
        "kind": "encoder gradient penalty",
        "architecture": "conv1 3x3 s1 same (4) > leaky 0.2 > conv2 3x3 s2 TF-same (6) > leaky 0.2 "
                        "> flatten > fc (16) > leaky 0.2 > mu (3); input 1x8x8, batch 4",
        "penalty": "mean_i (K - ||grad_x sum_j mu_j(x_i)||_2)^2, K = 0.1, "
                   "parameter gradients by autograd.grad(create_graph=True)",
    })


def optimizers():
    """Five steps of each optimizer on mean((W x + b − t)²) for a fixed batch. The gradient of
    each step is rounded to float32 before the step, so the C side can apply exactly the same
    gradient; the stored parameters are the float64 results rounded to float32."""
    gen = torch.Generator().manual_seed(10)
    x = rand(gen, 4, 3)
    t = rand(gen, 4, 2)
    w0 = rand(gen, 2, 3)
    b0 = rand(gen, 2)
    configs = {
        "sgd": lambda ps: torch.optim.SGD(ps, lr=0.1, momentum=0.9),
        "adam": lambda ps: torch.optim.Adam(ps, lr=0.01, betas=(0.9, 0.999), eps=1e-8),
        "rmsprop": lambda ps: torch.optim.RMSprop(ps, lr=0.01, alpha=0.99, eps=1e-8),
        "rmsprop_tf": None,  # TF1 RMSPropOptimizer, written out below (ms starts at 1)
    }
    tensors = [("x", x), ("t", t), ("w0.weight", w0), ("w0.bias", b0)]
    steps = 5
    for name, make in configs.items():
        W = w0.clone().requires_grad_(True)
        b = b0.clone().requires_grad_(True)
        opt = make([W, b]) if make else None
        ms = [torch.ones_like(W), torch.ones_like(b)]
        for k in range(1, steps + 1):
            W.grad = None
            b.grad = None
            loss = ((x @ W.t() + b - t) ** 2).mean()
            loss.backward()
            W.grad = f32(W.grad)
            b.grad = f32(b.grad)
            tensors += [(f"{name}.loss{k}", loss.reshape(1)), (f"{name}.grad{k}.weight", W.grad),
                        (f"{name}.grad{k}.bias", b.grad)]
            if opt:
                opt.step()
            else:
                with torch.no_grad():
                    for i, p in enumerate((W, b)):
                        ms[i] = 0.9 * ms[i] + 0.1 * p.grad ** 2
                        p -= 0.01 * p.grad / torch.sqrt(ms[i] + 1e-10)
            tensors += [(f"{name}.step{k}.weight", W.detach().clone()),
                        (f"{name}.step{k}.bias", b.detach().clone())]
    save("optim", tensors, {
        "kind": "optimizer steps",
        "problem": "loss = mean((x W^T + b - t)^2) over x [4,3], t [4,2]; 5 steps",
        "sgd": "torch.optim.SGD lr 0.1 momentum 0.9",
        "adam": "torch.optim.Adam lr 0.01 betas (0.9, 0.999) eps 1e-8",
        "rmsprop": "torch.optim.RMSprop lr 0.01 alpha 0.99 eps 1e-8",
        "rmsprop_tf": "TF1 RMSPropOptimizer lr 0.01 decay 0.9 eps 1e-10, ms initialised to 1",
    })


def losses():
    gen = torch.Generator().manual_seed(11)
    logits = rand(gen, 5, 10, scale=3.0).requires_grad_(True)
    labels = torch.tensor([3, 0, 9, 3, 7])
    xent = F.cross_entropy(logits, labels)
    xent.backward()
    probs = torch.softmax(logits, dim=1)

    a = rand(gen, 3, 7).requires_grad_(True)
    b = rand(gen, 3, 7)
    mse = F.mse_loss(a, b)
    mse.backward()

    mu = rand(gen, 4, 6, scale=2.0).requires_grad_(True)
    logvar = rand(gen, 4, 6, scale=2.0).requires_grad_(True)
    scale = 1.0 / (6 * 4)
    kl = scale * (-0.5 * (1 + logvar - mu ** 2 - logvar.exp())).sum()
    kl.backward()
    save("losses", [
        ("xent.logits", logits), ("xent.labels", labels.to(torch.float64)), ("xent.loss", xent.reshape(1)),
        ("xent.dlogits", logits.grad), ("xent.probs", probs),
        ("mse.a", a), ("mse.b", b), ("mse.loss", mse.reshape(1)), ("mse.da", a.grad),
        ("kl.mu", mu), ("kl.logvar", logvar), ("kl.scale", torch.tensor([scale])),
        ("kl.loss", kl.reshape(1)), ("kl.dmu", mu.grad), ("kl.dlogvar", logvar.grad),
    ], {"kind": "losses",
        "xent": "F.cross_entropy (mean over the batch), labels stored as floats",
        "mse": "F.mse_loss (mean)",
        "kl": "scale * sum(-0.5 (1 + logvar - mu^2 - exp(logvar))), scale = 1/(latent*batch)"})


def main():
    os.makedirs(OUT, exist_ok=True)
    layers()
    activations()
    encoder_penalty()
    optimizers()
    losses()


if __name__ == "__main__":
    main()
