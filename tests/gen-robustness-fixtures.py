#!/usr/bin/python3
"""Writes the image fixtures of tests/test-robustness.{c,sh} into tests/fixtures/robustness/.

    python3 tests/gen-robustness-fixtures.py [OUTDIR]

Standard library only (zlib, struct): PNG and GIF are written by hand so that the files hold
exactly what the tests need, including headers that lie about the image size. Running it again
gives byte-identical files.
"""
import os
import struct
import sys
import zlib

OUT = sys.argv[1] if len(sys.argv) > 1 else os.path.join(
    os.path.dirname(os.path.abspath(__file__)), "fixtures", "robustness")


def chunk(kind, data):
    crc = zlib.crc32(kind + data) & 0xFFFFFFFF
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)


def png(width, height, depth, rows, idat=None):
    """Greyscale PNG (colour type 0); rows: list of byte strings without the filter byte."""
    ihdr = struct.pack(">IIBBBBB", width, height, depth, 0, 0, 0, 0)
    if idat is None:
        idat = zlib.compress(b"".join(b"\0" + r for r in rows), 9)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")


def bar_image(w, h, x0, x1, y0, y1):
    """Black ink (0) on white paper (1): a filled rectangle, as rows of floats."""
    return [[0.0 if x0 <= x < x1 and y0 <= y < y1 else 1.0 for x in range(w)] for y in range(h)]


def rows8(img):
    return [bytes(round(255 * v) for v in row) for row in img]


def rows16(img):
    # 16-bit samples whose high byte is the 8-bit value: gdk-pixbuf keeps the high byte, so the
    # 16-bit file must convert exactly as the 8-bit one.
    return [b"".join(struct.pack(">H", round(255 * v) * 257) for v in row) for row in img]


def gif_lzw(indices, min_code=2):
    """GIF LZW without compression: a clear code before the table would grow past the code
    width, so every code is a literal of min_code + 1 bits."""
    clear, end, width = 1 << min_code, (1 << min_code) + 1, min_code + 1
    codes, run = [clear], 0
    for i in indices:
        if run == (1 << min_code) - 2:
            codes.append(clear)
            run = 0
        codes.append(i)
        run += 1
    codes.append(end)
    bits, nbits, out = 0, 0, bytearray()
    for c in codes:
        bits |= c << nbits
        nbits += width
        while nbits >= 8:
            out.append(bits & 0xFF)
            bits >>= 8
            nbits -= 8
    if nbits:
        out.append(bits & 0xFF)
    blocks = bytearray([min_code])
    for k in range(0, len(out), 255):
        part = out[k:k + 255]
        blocks += bytes([len(part)]) + part
    return bytes(blocks + b"\0")


def gif(w, h, frames):
    """Animated GIF, 4-colour global palette (white, black, grey, grey), looping, 0.5 s a frame."""
    data = b"GIF89a" + struct.pack("<HHBBB", w, h, 0x81, 0, 0)
    data += bytes([255, 255, 255, 0, 0, 0, 128, 128, 128, 128, 128, 128])
    data += b"\x21\xff\x0bNETSCAPE2.0\x03\x01\x00\x00\x00"
    for img in frames:
        data += b"\x21\xf9\x04\x00\x32\x00\x00\x00"  # graphic control: 50 cs, no transparency
        data += b"\x2c" + struct.pack("<HHHHB", 0, 0, w, h, 0)
        data += gif_lzw([0 if v > 0.5 else 1 for row in img for v in row])
    return data + b"\x3b"


def main():
    os.makedirs(OUT, exist_ok=True)
    files = {}
    digit = bar_image(60, 80, 24, 34, 10, 70)          # a "1": a vertical bar
    files["digit.png"] = png(60, 80, 8, rows8(digit))
    files["digit-16bit.png"] = png(60, 80, 16, rows16(digit))
    frame2 = bar_image(60, 80, 5, 55, 35, 45)           # a horizontal bar
    files["digit.gif"] = gif(60, 80, [digit, frame2])
    files["frame2.png"] = png(60, 80, 8, rows8(frame2))
    files["one-pixel.png"] = png(1, 1, 8, [b"\0"])
    # Headers that promise 20 000 × 20 000 (over the side limit) and 10 000 × 10 000 (within it,
    # but 100 megapixels): one compressed row of data, so decoding them would fail late, after
    # the decoder had asked for the whole frame buffer.
    one_row = zlib.compress(b"\0" + b"\xff" * 20000, 9)
    files["huge-20000.png"] = png(20000, 20000, 8, None, idat=one_row)
    files["big-10000.png"] = png(10000, 10000, 8, None, idat=zlib.compress(b"\0" + b"\xff" * 10000, 9))
    whole = files["digit.png"]
    files["truncated.png"] = whole[:len(whole) // 2]
    for name, data in files.items():
        with open(os.path.join(OUT, name), "wb") as f:
            f.write(data)
    print("wrote", len(files), "files to", OUT)


if __name__ == "__main__":
    main()
