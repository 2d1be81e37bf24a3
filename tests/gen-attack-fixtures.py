#!/usr/bin/python3
"""gen-attack-fixtures.py: reference runs of the attacks for tests/test-attacks.c.

Run with Debian's python3-torch (1.13):  /usr/bin/python3 tests/gen-attack-fixtures.py
Writes tests/fixtures/attacks-reference.safetensors (F32, written here with struct + json).

A small fixed network (weights stored in the file, PyTorch layouts and names):
    conv1 = Conv2d(1, 4, 3, padding=1) -> ReLU -> conv2 = Conv2d(4, 6, 3, stride=2, padding=1)
    -> ReLU -> flatten -> fc = Linear(96, 10)            input 1x8x8 in [0, 1]
and five images, labelled with the network's own predictions. On them, straightforward PyTorch
implementations of the published algorithms, all on the [0, 1] scale, computed in float64 (the
reference is the exact algorithm; the C side runs in float32):

  FGSM (Goodfellow et al.)   adv = clip(x + eps*sign(grad CE(label)))   eps 0.1; targeted:
                             adv = clip(x - eps*sign(grad CE(target)))
  PGD L-inf (Madry et al.)   from a fixed start (stored), 10 steps of 0.02, eps 0.1: sign step,
                             projection onto the ball, clip
  PGD L2                     from a fixed start (stored), 10 steps of 0.2, eps 0.8: step along
                             grad/||grad||, projection onto the ball, clip
  DeepFool (Moosavi-Dezfooli et al., the authors' deepfool.py, all 10 classes, overshoot 0.02,
                             50 iterations; the iterate is clipped to [0, 1] as in Foolbox)
  Carlini-Wagner L2 (the authors' l2_attack.py on [0, 1]: tanh variables scaled by 0.999999,
                             TF-style Adam, binary search with upper bound 1e10, per-image early
                             abort every max_iter/10 iterations; 3 search steps x 50 iterations,
                             lr 0.05, c0 0.1, kappa 0)

The C test's tolerances are stated there; the generator checks that no decision of the
reference runs sits on a knife edge (gradient signs, DeepFool's argmin, CW's success and abort
tests), so that float32 rounding cannot flip it.
"""
import json
import os
import struct
import sys

import torch
import torch.nn as nn
import torch.nn.functional as F

torch.set_default_dtype(torch.float64)
HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "fixtures", "attacks-reference.safetensors")


def write_safetensors(path, tensors, metadata):
    header = {"__metadata__": metadata}
    blobs, offset = [], 0
    for name, t in tensors.items():
        data = t.detach().to(torch.float32).contiguous().numpy().tobytes()
        header[name] = {"dtype": "F32", "shape": list(t.shape),
                        "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)
    os.replace(tmp, path)


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 4, 3, padding=1)
        self.conv2 = nn.Conv2d(4, 6, 3, stride=2, padding=1)
        self.fc = nn.Linear(96, 10)

    def forward(self, x):
        x = x.view(-1, 1, 8, 8)
        x = F.relu(self.conv1(x))
        x = F.relu(self.conv2(x))
        return self.fc(x.flatten(1))


MIN_GRAD = 1e-6   # relative: every gradient component used through sign() is this far from 0
edge_log = []


def check_signs(g, what):
    """Every nonzero component of g is well away from 0 relative to its row's scale."""
    for row in g.view(g.shape[0], -1):
        scale = row.abs().max().item()
        small = row[(row != 0) & (row.abs() < MIN_GRAD * scale)]
        if small.numel():
            edge_log.append(f"{what}: {small.numel()} gradient components near 0")


def ce_grad(net, x, y):
    x = x.clone().requires_grad_(True)
    loss = F.cross_entropy(net(x), y, reduction="sum")
    (g,) = torch.autograd.grad(loss, x)
    return g


def fgsm(net, x, y, eps, targeted=False):
    g = ce_grad(net, x, y)
    check_signs(g, "fgsm")
    s = -1.0 if targeted else 1.0
    return (x + s * eps * g.sign()).clamp(0, 1), g


def pgd(net, x, y, start, eps, step, steps, norm):
    adv = start.clone()
    for i in range(steps):
        g = ce_grad(net, adv, y)
        if norm == "linf":
            check_signs(g, f"pgd step {i}")
            adv = adv + step * g.sign()
            adv = torch.min(torch.max(adv, x - eps), x + eps).clamp(0, 1)
        else:
            n = g.flatten(1).norm(dim=1).clamp_min(1e-300).view(-1, 1, 1, 1)
            adv = adv + step * g / n
            d = adv - x
            dn = d.flatten(1).norm(dim=1).view(-1, 1, 1, 1)
            d = d * torch.clamp(eps / dn.clamp_min(1e-300), max=1.0)
            adv = (x + d).clamp(0, 1)
    return adv


def deepfool(net, x0, label, classes=10, overshoot=0.02, max_iter=50):
    """One image, the authors' algorithm with the iterate clipped to [0, 1]."""
    r_tot = torch.zeros_like(x0)
    x = x0.clone()
    it = 0
    while it < max_iter:
        xv = x.clone().requires_grad_(True)
        z = net(xv)[0]
        if z.argmax().item() != label:
            break
        grads = [torch.autograd.grad(z[k], xv, retain_graph=True)[0] for k in range(classes)]
        perts = []
        for k in range(classes):
            if k == label:
                continue
            w_k = grads[k] - grads[label]
            f_k = (z[k] - z[label]).item()
            perts.append((abs(f_k) / w_k.norm().item(), k, w_k))
        perts.sort(key=lambda p: p[0])
        if len(perts) > 1 and perts[1][0] - perts[0][0] < 1e-4 * perts[0][0]:
            edge_log.append(f"deepfool: near tie between classes {perts[0][1]} and {perts[1][1]}")
        pert, k, w = perts[0]
        r_i = (pert + 1e-4) * w / w.norm()
        r_tot = r_tot + r_i
        x = (x0 + (1 + overshoot) * r_tot).clamp(0, 1)
        it += 1
    return x, it


def cw_l2(net, x, labels, search_steps, max_iter, lr, c0, kappa, targeted=False, abort_early=True):
    """Carlini and Wagner's l2_attack.py, batched, with per-image early abort."""
    n = x.shape[0]
    w0 = torch.atanh((2 * x - 1) * 0.999999)
    x0 = (torch.tanh(w0) + 1) / 2
    lower = [0.0] * n
    upper = [1e10] * n
    const = [c0] * n
    o_bestl2 = [1e10] * n
    o_best = x.clone()
    iters = [0] * n
    check_every = max(1, max_iter // 10)
    onehot = F.one_hot(labels, 10).to(x.dtype)

    def found(z, l):
        z = z.clone()
        z[l] += -kappa if targeted else kappa
        a = z.argmax().item()
        return a == l if targeted else a != l

    for outer in range(search_steps):
        delta = torch.zeros_like(x)
        m = torch.zeros_like(x)
        v = torch.zeros_like(x)
        bestl2 = [1e10] * n
        bestscore = [-1] * n
        prev = [float("inf")] * n
        aborted = [False] * n
        if search_steps >= 10 and outer == search_steps - 1:
            const = list(upper)
        c = torch.tensor(const)
        for it in range(max_iter):
            d = delta.clone().requires_grad_(True)
            xp = (torch.tanh(w0 + d) + 1) / 2
            z = net(xp)
            real = (onehot * z).sum(1)
            other = ((1 - onehot) * z - onehot * 1e4).max(1).values
            f = torch.clamp((other - real if targeted else real - other) + kappa, min=0)
            l2 = ((xp - x0) ** 2).flatten(1).sum(1)
            loss = l2 + c * f
            (g,) = torch.autograd.grad(loss.sum(), d)
            t = it + 1
            lr_t = lr * (1 - 0.999 ** t) ** 0.5 / (1 - 0.9 ** t)
            step = torch.zeros(n, dtype=torch.bool)
            for i in range(n):
                if aborted[i]:
                    continue
                li = loss[i].item()
                if abort_early and it % check_every == 0:
                    if abs(li - prev[i] * 0.9999) < 1e-6 * abs(li):
                        edge_log.append(f"cw: image {i} abort test on a knife edge at {it}")
                    if li > prev[i] * 0.9999:
                        aborted[i] = True
                        continue
                    prev[i] = li
                zi = z[i].detach()
                zz = zi.clone()
                zz[labels[i]] += -kappa if targeted else kappa
                top2 = zz.topk(2).values
                if (top2[0] - top2[1]).item() < 2e-5:  # float32 logits are good to ~1e-6 here
                    edge_log.append(f"cw: image {i} success test on a knife edge at {outer}/{it}")
                if found(zi, labels[i].item()):
                    l2i = l2[i].item()
                    if l2i < bestl2[i]:
                        bestl2[i] = l2i
                        bestscore[i] = zi.argmax().item()
                    if l2i < o_bestl2[i]:
                        o_bestl2[i] = l2i
                        o_best[i] = xp[i].detach()
                step[i] = True
                iters[i] += 1
            if not step.any():
                if all(aborted):
                    break
            sm = step.view(-1, 1, 1, 1).to(x.dtype)
            m = torch.where(sm > 0, 0.9 * m + 0.1 * g, m)
            v = torch.where(sm > 0, 0.999 * v + 0.001 * g * g, v)
            delta = torch.where(sm > 0, delta - lr_t * m / (v.sqrt() + 1e-8), delta)
        for i in range(n):
            ok = bestscore[i] != -1 and ((bestscore[i] == labels[i].item()) if targeted
                                         else (bestscore[i] != labels[i].item()))
            if ok:
                upper[i] = min(upper[i], const[i])
                if upper[i] < 1e9:
                    const[i] = (lower[i] + upper[i]) / 2
            else:
                lower[i] = max(lower[i], const[i])
                if upper[i] < 1e9:
                    const[i] = (lower[i] + upper[i]) / 2
                else:
                    const[i] *= 10
    success = torch.tensor([1.0 if b < 1e10 else 0.0 for b in o_bestl2])
    return o_best, torch.tensor(o_bestl2), success, torch.tensor(iters, dtype=x.dtype)


def main():
    torch.manual_seed(20240611)
    net = Net()
    with torch.no_grad():
        for p in net.parameters():
            p.mul_(2.0)
        # centre the logits over uniform images so that predictions vary
        u = torch.rand(512, 1, 8, 8)
        net.fc.bias.sub_(net(u).mean(0))
    for p in net.parameters():
        p.requires_grad_(False)

    n = 5
    u = torch.rand(n, 1, 8, 8)
    x = torch.where(u < 0.15, torch.zeros_like(u),
                    torch.where(u > 0.85, torch.ones_like(u), torch.rand(n, 1, 8, 8)))
    # round to float32 first: the C side sees these exact values
    x = x.to(torch.float32).to(torch.float64)
    for p in net.parameters():
        p.data = p.data.to(torch.float32).to(torch.float64)
    labels = net(x).argmax(1)
    targets = (labels + 1 + torch.arange(n)) % 10
    t = {}
    for name, p in net.state_dict().items():
        t[name] = p
    t["x"] = x
    t["labels"] = labels.to(x.dtype)
    t["targets"] = targets.to(x.dtype)

    eps = 0.1
    t["fgsm.adv"], t["fgsm.grad"] = fgsm(net, x, labels, eps)
    t["fgsm_targeted.adv"], _ = fgsm(net, x, targets, eps, targeted=True)

    g = torch.Generator().manual_seed(7)
    start = (x + eps * (2 * torch.rand(x.shape, generator=g) - 1)).clamp(0, 1)
    start = start.to(torch.float32).to(torch.float64)
    t["pgd.start"] = start
    t["pgd.adv"] = pgd(net, x, labels, start, eps, 0.02, 10, "linf")

    d = torch.randn(x.shape, generator=g)
    d = d / d.flatten(1).norm(dim=1).view(-1, 1, 1, 1) * 0.5
    start2 = (x + d).clamp(0, 1).to(torch.float32).to(torch.float64)
    t["pgd_l2.start"] = start2
    t["pgd_l2.adv"] = pgd(net, x, labels, start2, 0.8, 0.2, 10, "l2")

    advs, its = [], []
    for i in range(n):
        a, k = deepfool(net, x[i:i + 1], labels[i].item())
        advs.append(a)
        its.append(k)
    t["deepfool.adv"] = torch.cat(advs)
    t["deepfool.iterations"] = torch.tensor(its, dtype=x.dtype)

    adv, l2, succ, iters = cw_l2(net, x, labels, 3, 50, 0.05, 0.1, 0.0)
    t["cw.adv"], t["cw.l2sq"], t["cw.success"], t["cw.iterations"] = adv, l2, succ, iters

    for k in ("deepfool.iterations", "cw.success", "cw.iterations", "labels"):
        print(k, t[k].tolist())
    print("cw.l2", l2.sqrt().tolist())
    if edge_log:
        print("knife edges:\n  " + "\n  ".join(edge_log), file=sys.stderr)
        sys.exit(1)

    meta = {
        "generator": "tests/gen-attack-fixtures.py",
        "torch": torch.__version__,
        "fgsm": "eps 0.1",
        "pgd": "linf eps 0.1 step 0.02 steps 10 from pgd.start",
        "pgd_l2": "l2 eps 0.8 step 0.2 steps 10 from pgd_l2.start",
        "deepfool": "overshoot 0.02 max_iter 50 classes 10",
        "cw": "search 3 max_iter 50 lr 0.05 c0 0.1 kappa 0 abort_early",
    }
    os.makedirs(os.path.dirname(OUT), exist_ok=True)
    write_safetensors(OUT, t, meta)
    print("wrote", OUT)


if __name__ == "__main__":
    main()
