#!/usr/bin/env python3
"""Writes the bundled sample sets of the explorer (resources/samples-<set>.bin) from the
original IDX files of the test split: the first N images and labels.

Format (little endian): b"LQS1", u32 n, u32 rows, u32 cols, n label bytes, n*rows*cols pixel
bytes (0 = background, 255 = ink), as in the IDX files.

Usage: make-samples.py IMAGES.idx[.gz] LABELS.idx[.gz] OUT.bin [N]
"""
import gzip, struct, sys

def read_idx(path):
    opener = gzip.open if path.endswith('.gz') else open
    with opener(path, 'rb') as f:
        data = f.read()
    magic, = struct.unpack('>I', data[:4])
    ndim = magic & 0xff
    dims = struct.unpack('>' + 'I' * ndim, data[4:4 + 4 * ndim])
    return dims, data[4 + 4 * ndim:]

def main():
    images, labels, out = sys.argv[1:4]
    n = int(sys.argv[4]) if len(sys.argv) > 4 else 100
    (ni, rows, cols), pix = read_idx(images)
    (nl,), lab = read_idx(labels)
    assert ni == nl and n <= ni
    with open(out, 'wb') as f:
        f.write(b'LQS1' + struct.pack('<III', n, rows, cols))
        f.write(lab[:n])
        f.write(pix[:n * rows * cols])

if __name__ == '__main__':
    main()
