#!/usr/bin/env bash
# Benchmark for `ark import` (issue 5): builds a git repository of N commits (default 5000)
# that replay edits, renames and merges on real source files copied from /usr/include, then
# reports commits/s, peak memory, store size vs. the gc'ed .git, re-import time and the time
# of `git clone --no-local` of the same repository.
# Usage: scripts/bench-import.sh [commits] [ark binary]
set -euo pipefail
N=${1:-5000}
ARK=${2:-$(pwd)/.build/release/ark}
WORK=$(mktemp -d /tmp/ark-bench-import-XXXXXX)
trap '[ -n "${KEEP:-}" ] || rm -rf "$WORK"' EXIT; echo "work: $WORK" >&2
export GIT_CONFIG_NOSYSTEM=1 GIT_CONFIG_GLOBAL=/dev/null

git init -q -b main "$WORK/src"
python3 - "$N" > "$WORK/stream" <<'PY'
import os, random, sys
n = int(sys.argv[1]); rnd = random.Random(5)
files = []
for root, _, names in os.walk("/usr/include"):
    for name in sorted(names):
        p = os.path.join(root, name)
        if name.endswith(".h") and os.path.isfile(p) and not os.path.islink(p) and os.path.getsize(p) < 200_000:
            files.append(p)
files = sorted(files)[:3000]
content = {}
for p in files:
    with open(p, "rb") as f: content[p[len("/usr/include/"):]] = f.read()
paths = sorted(content)
out = sys.stdout.buffer
def w(s): out.write(s.encode() if isinstance(s, str) else s)
def data(b): w(f"data {len(b)}\n"); w(b); w("\n")
t = 1_600_000_000
# commit 1: the whole tree
w("commit refs/heads/main\nmark :1\n"); w(f"author A <a@x> {t} +0000\ncommitter A <a@x> {t} +0000\n"); data(b"import headers")
for p in paths: w(f"M 100644 inline {p}\n"); data(content[p])
side_from = None
for i in range(2, n + 1):
    t += 60
    merge = i % 100 == 0 and side_from is not None
    branch = "side" if i % 100 >= 90 else "main"
    w(f"commit refs/heads/{branch}\nmark :{i}\n"); w(f"author A <a@x> {t} +0100\ncommitter A <a@x> {t} +0100\n")
    data(f"change {i}".encode())
    if i % 100 == 90: w(f"from :{i-1}\n")
    if merge: w(f"merge :{side_from}\n")
    if branch == "side": side_from = i
    for _ in range(rnd.randint(1, 3)):
        p = rnd.choice(paths); b = bytearray(content[p])
        line = rnd.choice(content[rnd.choice(paths)].split(b"\n") or [b"x"])
        pos = rnd.randint(0, len(b)); b[pos:pos] = line + b"\n"
        content[p] = bytes(b); w(f"M 100644 inline {p}\n"); data(content[p])
    if i % 250 == 0:
        p = rnd.choice(paths); q = p + ".renamed"
        w(f"R {p} {q}\n"); content[q] = content.pop(p); paths = sorted(content)
PY
git -C "$WORK/src" fast-import --quiet < "$WORK/stream"
git -C "$WORK/src" checkout -q main
git -C "$WORK/src" gc -q
GITSIZE=$(du -sb "$WORK/src/.git" | cut -f1)
COMMITS=$(git -C "$WORK/src" rev-list --all | wc -l)

cd "$WORK"
/usr/bin/time -f "%e %M" -o time1 "$ARK" import src --repo bench > /dev/null
read -r T1 RSS1 < time1
STORE=$(du -sb data | cut -f1)
PACKS=$(du -sb data/packs | cut -f1)
/usr/bin/time -f "%e %M" -o time2 "$ARK" import src --repo bench > /dev/null
read -r T2 _ < time2
S=$(date +%s.%N); git clone -q --no-local src clone; E=$(date +%s.%N)
"$ARK" verify > /dev/null

awk -v c="$COMMITS" -v t1="$T1" -v rss="$RSS1" -v store="$STORE" -v packs="$PACKS" -v git="$GITSIZE" -v t2="$T2" -v s="$S" -v e="$E" 'BEGIN {
  printf "commits: %d\nfirst import: %.2f s (%.0f commits/s)\npeak memory: %.0f MB\n", c, t1, c / t1, rss / 1024
  printf "store: %.1f MB (packs %.1f MB, index %.1f MB), .git after gc: %.1f MB (%.2fx)\n", store / 1e6, packs / 1e6, (store - packs) / 1e6, git / 1e6, store / git
  printf "re-import (unchanged): %.2f s (%.1f%% of first)\ngit clone --no-local: %.2f s\n", t2, 100 * t2 / t1, e - s
}'
