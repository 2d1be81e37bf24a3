"""PyTorch module trees matching the weight files in data/ (see docs/MODELS.md).

load_state_dict(strict=True) works on every shipped file:
    state = {k: torch.from_numpy(v) for k, v in read_safetensors(path).items()}
"""
import json
import struct

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F


def read_safetensors(path):
    """Minimal reader (F32/F16), so the check needs no package beyond torch and numpy."""
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
        data = f.read()
    meta = header.pop("__metadata__", {})
    out = {}
    for name, info in header.items():
        begin, end = info["data_offsets"]
        dt = {"F32": np.float32, "F16": np.float16}[info["dtype"]]
        arr = np.frombuffer(data[begin:end], dtype=dt).reshape(info["shape"])
        out[name] = torch.from_numpy(arr.astype(np.float32))
    return out, meta


class ClassifierA(nn.Module):  # Defense-GAN model A (C differs only in conv1: 3x3, 128 channels)
    def __init__(self, conv1_channels=64, conv1_kernel=5):
        super().__init__()
        self.conv1 = nn.Conv2d(1, conv1_channels, conv1_kernel, padding=conv1_kernel // 2)
        self.conv2 = nn.Conv2d(conv1_channels, 64, 5, stride=2)
        self.fc1 = nn.Linear(64 * 12 * 12, 128)
        self.fc2 = nn.Linear(128, 10)

    def forward(self, x):  # x: N×1×28×28 in [0, 1]; dropout 0.25 and 0.5 in training
        x = F.relu(self.conv2(F.relu(self.conv1(x))))
        x = F.dropout(x.flatten(1), 0.25, self.training)
        x = F.dropout(F.relu(self.fc1(x)), 0.5, self.training)
        return self.fc2(x)


def ClassifierC():
    return ClassifierA(conv1_channels=128, conv1_kernel=3)


class ClassifierB(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 64, 8, stride=2)   # TF "same": pad 3 on every side first
        self.conv2 = nn.Conv2d(64, 128, 6, stride=2)
        self.conv3 = nn.Conv2d(128, 128, 5)
        self.fc = nn.Linear(128, 10)

    def forward(self, x):
        x = F.dropout(x, 0.2, self.training)
        x = F.relu(self.conv1(F.pad(x, (3, 3, 3, 3))))
        x = F.relu(self.conv3(F.relu(self.conv2(x))))
        return self.fc(F.dropout(x, 0.5, self.training).flatten(1))


class Encoder(nn.Module):
    def __init__(self, latent=64, width=64, hidden=1024):
        super().__init__()
        self.conv1 = nn.Conv2d(1, width, 3, padding=1)
        self.conv2 = nn.Conv2d(width, width, 3, stride=2, padding=1)
        self.conv3 = nn.Conv2d(width, 2 * width, 3, stride=2, padding=1)
        self.conv4 = nn.Conv2d(2 * width, 2 * width, 3, padding=1)
        self.fc = nn.Linear(2 * width * 7 * 7, hidden)
        self.head = nn.Linear(hidden, 2 * latent)  # mu and logvar, stacked

    def forward(self, x):  # x in [-1, 1]
        for conv in (self.conv1, self.conv2, self.conv3, self.conv4):
            x = F.leaky_relu(conv(x), 0.2)
        mu, logvar = self.head(F.leaky_relu(self.fc(x.flatten(1)), 0.2)).chunk(2, dim=1)
        return mu, logvar


class Decoder(nn.Module):
    def __init__(self, latent=64, width=64, hidden=1024):
        super().__init__()
        self.width = width
        self.fc1 = nn.Linear(latent, hidden)
        self.fc2 = nn.Linear(hidden, 2 * width * 7 * 7)
        self.deconv1 = nn.ConvTranspose2d(2 * width, 2 * width, 3, padding=1)
        self.deconv2 = nn.ConvTranspose2d(2 * width, 2 * width, 3, stride=2, padding=1, output_padding=1)
        self.deconv3 = nn.ConvTranspose2d(2 * width, width, 3, stride=2, padding=1, output_padding=1)
        self.deconv4 = nn.ConvTranspose2d(width, 1, 3, padding=1)

    def forward(self, h):  # h: ±1 bits
        x = F.leaky_relu(self.fc2(F.leaky_relu(self.fc1(h), 0.2)), 0.2)
        x = x.view(-1, 2 * self.width, 7, 7)
        for deconv in (self.deconv1, self.deconv2, self.deconv3):
            x = F.leaky_relu(deconv(x), 0.2)
        return torch.tanh(self.deconv4(x))


class LQVAE(nn.Module):
    def __init__(self, latent=64, width=64, hidden=1024, threshold=0.1):
        super().__init__()
        self.t = threshold
        self.encoder = Encoder(latent, width, hidden)
        self.decoder = Decoder(latent, width, hidden)

    def forward(self, x01):  # purify: g(H(mu(x))), images in [0, 1]
        mu, _ = self.encoder(2 * x01 - 1)
        bits = torch.where(self.t ** 2 - mu ** 2 >= 0, 1.0, -1.0)
        return (self.decoder(bits) + 1) / 2


def model_for(meta):
    arch = meta["arch"]
    if arch == "lqvae":
        return LQVAE(int(meta["latent"]), int(meta["width"]), int(meta["hidden"]), float(meta["threshold"]))
    return {"classifier-A": ClassifierA, "classifier-B": ClassifierB, "classifier-C": ClassifierC}[arch]()
