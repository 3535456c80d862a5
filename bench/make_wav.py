#!/usr/bin/env python3
"""bench/make_wav.py PATH MIB: a valid 16-bit stereo 44.1 kHz PCM WAV of MIB mebibytes of random samples.

Random, not zero: real audio is full of CR bytes and boundary-like runs, which is what a multipart
parser has to scan past (zeros hid a 10x slower multipart path until 2026-11-26).
"""
import os
import struct
import sys

path, mib = sys.argv[1], int(sys.argv[2])
data = mib * 1048576 - 44
with open(path, "wb") as f:
    f.write(b"RIFF" + struct.pack("<I", 36 + data) + b"WAVE")
    f.write(b"fmt " + struct.pack("<IHHIIHH", 16, 1, 2, 44100, 44100 * 4, 4, 16))
    f.write(b"data" + struct.pack("<I", data))
    left = data
    while left:
        n = min(left, 1 << 20)
        f.write(os.urandom(n))
        left -= n
