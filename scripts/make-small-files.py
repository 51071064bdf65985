#!/usr/bin/env python3
"""Writes the many-small-files tree of issue 19: make-small-files.py DEST N.

N files of 256 B to 2.2 KB of seeded random bytes, spread over 97 x 53 directories
(d00/s00 ... d96/s52), the same bytes on every run."""
import os, random, sys
dest, n = sys.argv[1], int(sys.argv[2])
rng = random.Random(19)
for i in range(n):
    leaf = i % (97 * 53)
    d = os.path.join(dest, "d%02d" % (leaf // 53), "s%02d" % (leaf % 53))
    if i < 97 * 53:
        os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "f%07d.dat" % i), "wb") as f:
        f.write(rng.randbytes(rng.randint(256, 2200)))
