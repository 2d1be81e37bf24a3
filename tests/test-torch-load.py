#!/usr/bin/env python3
"""Every shipped weight file loads into the PyTorch module tree of docs/MODELS.md with
load_state_dict(strict=True) and runs. TAP output; exit 77 (skip) without torch."""
import glob
import os
import sys

try:
    import torch
except ImportError:
    print("1..0 # SKIP python3-torch is not installed")
    sys.exit(0)

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from lq_torch_models import model_for, read_safetensors  # noqa: E402

root = os.environ.get("LQ_SOURCE_DIR", os.path.join(os.path.dirname(__file__), ".."))
files = sorted(glob.glob(os.path.join(root, "data", "*.safetensors")))
if not files:
    print("1..0 # SKIP no weight files in data/")
    sys.exit(0)
print(f"1..{len(files)}")
failed = 0
for i, path in enumerate(files, 1):
    name = os.path.basename(path)
    try:
        state, meta = read_safetensors(path)
        model = model_for(meta).eval()
        model.load_state_dict(state, strict=True)
        with torch.no_grad():
            y = model(torch.rand(2, 1, 28, 28))
        assert torch.isfinite(y).all(), "non-finite output"
        print(f"ok {i} {name} loads with strict load_state_dict ({meta['arch']})")
    except Exception as e:  # report, count, go on
        failed += 1
        print(f"not ok {i} {name}: {e}")
sys.exit(1 if failed else 0)
