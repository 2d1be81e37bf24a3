#!/usr/bin/env python3
"""Writes the seed corpora of the fuzz harnesses (tests/fuzz/corpus-<name>/seed-*).

Small, deterministic files (python3 standard library only); run again to regenerate them.
Beside the seeds: regress-* (inputs of past findings, kept by hand) and files named by their
SHA-1 (inputs the fuzz runs found, minimized with libFuzzer's -merge=1 -use_counters=0; see
docs/ROBUSTNESS.md).
"""
import gzip
import json
import os
import struct

HERE = os.path.dirname(os.path.abspath(__file__))


def put(corpus, name, data):
    d = os.path.join(HERE, "corpus-" + corpus)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "seed-" + name), "wb") as f:
        f.write(data)


# ---- safetensors ----------------------------------------------------------------------------

def half(v):
    return struct.pack("<e", v)


def st_file(tensors, metadata=None, compact=True, pad=True):
    """tensors: list of (name, dtype, shape, values); written in the given order, like our writer."""
    header, blobs, off = {}, [], 0
    if metadata:
        header["__metadata__"] = dict(sorted(metadata.items()))
    for name, dtype, shape, values in tensors:
        blob = b"".join(struct.pack("<f", v) if dtype == "F32" else half(v) for v in values)
        header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [off, off + len(blob)]}
        blobs.append(blob)
        off += len(blob)
    text = json.dumps(header, separators=(",", ":") if compact else (", ", ": "))
    raw = text.encode()
    if pad:
        raw += b" " * (-len(raw) % 8)
    return struct.pack("<Q", len(raw)) + raw + b"".join(blobs)


w = [0.25 * i - 1.0 for i in range(6)]
put("safetensors", "f32-canonical.safetensors",
    st_file([("conv.weight", "F32", [2, 1, 3], w), ("conv.bias", "F32", [2], [0.5, -0.5])],
            {"arch": "A", "dataset": "mnist"}))
put("safetensors", "f16-canonical.safetensors",
    st_file([("w", "F16", [2, 3], w), ("b", "F16", [3], [1.0, 2.0, 65504.0])], {"arch": "B"}))
put("safetensors", "mixed-dtypes.safetensors",
    st_file([("a", "F16", [2], [1.5, -2.0]), ("b", "F32", [1], [3.0])]))
put("safetensors", "scalar-and-empty.safetensors",
    st_file([("e", "F32", [0], []), ("s", "F32", [], [3.5]), ("z", "F32", [2, 0], [])]))
put("safetensors", "no-tensors.safetensors", st_file([], {"note": "empty"}))
put("safetensors", "foreign-style.safetensors",
    st_file([("b", "F32", [2], [1.0, 2.0]), ("a", "F32", [1, 1, 1, 1], [-0.0])],
            {"k\u00e9y": "v\\al\"ue"}, compact=False, pad=False))
put("safetensors", "subnormal-f16.safetensors",
    st_file([("h", "F16", [4], [5.960464477539063e-08, -6.103515625e-05, 0.0, -0.0])]))
# Refused: NaN values, a lying length field, overlapping offsets, an unknown dtype.
put("safetensors", "nan.safetensors", st_file([("n", "F32", [1], [float("nan")])]))
good = st_file([("x", "F32", [2], [1.0, 2.0])])
put("safetensors", "truncated.safetensors", good[:-3])
put("safetensors", "length-lies.safetensors", struct.pack("<Q", 1 << 40) + good[8:])
overlap = b'{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},' \
          b'"b":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}'
put("safetensors", "overlap.safetensors", struct.pack("<Q", len(overlap)) + overlap + b"\0" * 8)
bf16 = b'{"a":{"dtype":"BF16","shape":[1],"data_offsets":[0,2]}}'
put("safetensors", "bf16.safetensors", struct.pack("<Q", len(bf16)) + bf16 + b"\0\0")

# Header corners: a surrogate pair (accepted), a lone one, a "__metadata__" that is not an
# object of strings, an entry without a shape.
def raw(header, data=b""):
    return struct.pack("<Q", len(header)) + header + data


put("safetensors", "surrogate-pair.safetensors", raw(b'{"__metadata__":{"e":"\\ud83d\\ude00"}}'))
put("safetensors", "lone-surrogate.safetensors", raw(b'{"__metadata__":{"e":"\\ud83dx"}}'))
put("safetensors", "metadata-array.safetensors", raw(b'{"__metadata__":["a"]}'))
put("safetensors", "metadata-number.safetensors", raw(b'{"__metadata__":{"a":1}}'))
put("safetensors", "no-shape.safetensors",
    raw(b'{"a":{"dtype":"F32","data_offsets":[0,4]}}', b"\0" * 4))

# ---- IDX --------------------------------------------------------------------------------------

def idx_file(dims, payload):
    return bytes([0, 0, 8, len(dims)]) + b"".join(struct.pack(">I", d) for d in dims) + payload


labels = idx_file([10], bytes([5, 0, 4, 1, 9, 2, 1, 3, 1, 4]))
images = idx_file([2, 4, 4], bytes(range(0, 256, 8)))
put("idx", "labels.idx", labels)
put("idx", "images-3d.idx", images)
put("idx", "4d.idx", idx_file([1, 2, 2, 2], bytes(range(8))))
put("idx", "labels-out-of-range.idx", idx_file([3], bytes([0, 10, 255])))
put("idx", "labels.idx.gz", gzip.compress(labels, mtime=0))
put("idx", "images-3d.idx.gz", gzip.compress(images, mtime=0))
put("idx", "truncated.idx", images[:-1])
put("idx", "trailing.idx", labels + b"\0")
put("idx", "float-magic.idx", bytes([0, 0, 0x0D, 1, 0, 0, 0, 1]) + struct.pack(">f", 1.0))
put("idx", "huge-dims.idx", idx_file([0xFFFFFFFF, 0xFFFFFFFF], b""))
put("idx", "truncated.idx.gz", gzip.compress(labels, mtime=0)[:-5])
# 100 KB inflated: past the first 64 KiB buffer. With the true size in the trailer the buffer is
# sized from it; with a lying size (10) it has to grow, then the length check fails.
big = gzip.compress(idx_file([100, 1000], bytes(100000)), mtime=0)
put("idx", "big.idx.gz", big)
put("idx", "big-size-lies.idx.gz", big[:-4] + struct.pack("<I", 10))

# ---- images -------------------------------------------------------------------------------------
# Byte 0: bit 0 RGB8, bit 1 alpha; bytes 1-4: width and height (u16 LE, 1 + v % 256 below 0xff00);
# byte 5: row padding; the rest: pixels (grey: 0-250 → [0, 1], 251-255 specials), repeated.

def img(mode, w, h, pad, pixels):
    return bytes([mode]) + struct.pack("<HHB", w - 1, h - 1, pad) + bytes(pixels)


digit = [250 if (3 <= x <= 5 and 1 <= y <= 8) or (y == 8 and 1 <= x <= 7) else 0
         for y in range(10) for x in range(9)]
put("image", "grey-digit", img(0, 9, 10, 0, digit))
put("image", "grey-digit-paper", img(0, 9, 10, 3, [250 - v for v in digit]))
put("image", "grey-one-pixel", img(0, 1, 1, 0, [250]))
put("image", "grey-blank", img(0, 5, 5, 0, [0]))
put("image", "grey-nan", img(0, 4, 4, 0, [0, 250, 253, 0]))
put("image", "grey-out-of-range", img(0, 6, 3, 1, [251, 252, 0, 125]))
put("image", "grey-wide", img(0, 200, 2, 2, [0, 0, 250, 0]))
put("image", "rgb-digit", img(1, 9, 10, 2, [v for p in digit for v in (255 - p, 255 - p, 255 - p)]))
put("image", "rgba-translucent", img(3, 4, 4, 0, [0, 0, 0, 128, 255, 255, 255, 0]))
put("image", "short-stride", img(0, 8, 8, 255, [0, 250]))
put("image", "edge-sizes", bytes([0]) + struct.pack("<HHB", 0xff03, 0, 0) + bytes([250, 0]))
put("image", "too-large", bytes([1]) + struct.pack("<HHB", 0xff04, 0xff05, 0))
