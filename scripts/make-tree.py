#!/usr/bin/env python3
"""Writes the benchmarks' tree of N real files: make-tree.py DEST N.

Real files from /usr/include and /usr/share, in a fixed order; each truncated to 64 KiB, and
copies beyond the number of source files padded with a distinct line so no two files are
identical by construction. 200 files a directory."""
import os, sys
dest, n = sys.argv[1], int(sys.argv[2])
srcs = []
for top in ("/usr/include", "/usr/share"):
    for d, dirs, files in os.walk(top):
        dirs.sort()
        for f in sorted(files):
            p = os.path.join(d, f)
            if os.path.isfile(p) and not os.path.islink(p) and os.path.getsize(p) > 0:
                srcs.append(p)
for i in range(n):
    src = srcs[i % len(srcs)]
    with open(src, "rb") as fh:
        data = fh.read(64 << 10)
    if i >= len(srcs):
        data += b"\n/* copy %d */\n" % i
    sub = os.path.join(dest, "d%03d" % (i // 200))
    os.makedirs(sub, exist_ok=True)
    with open(os.path.join(sub, "%05d-%s" % (i, os.path.basename(src))), "wb") as out:
        out.write(data)
