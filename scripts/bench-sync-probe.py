#!/usr/bin/env python3
"""Measurement probes for scripts/bench-sync.sh. They read ark's SQLite index directly (no `ark`
process start-up inside a measurement) and time file reads inside one process.

  replicated DB REPO T0_NS TIMEOUT_S [TIMELINE]  until REPO has a head in DB and no chunk is absent
  pulled DB T0_NS TIMEOUT_S [lazy]               until DB has a commit and (unless lazy) no object is absent
  head DB REPO T0_NS TIMEOUT_S           until REPO has a head in DB (metadata closure stored)
  commits DB REPO N T0_NS TIMEOUT_S      until DB holds >= N commits and REPO has a head
  announce ARK ADIR BDB SRC REPO K       K commits of SRC on A; latency until B's index has each
  commit DB HEX T0_NS TIMEOUT_S          until DB holds the commit with id HEX
  read FILE NBYTES                       open + read of the first NBYTES, in ms
Times are printed in ms since T0_NS (a `date +%s%N` taken by the caller just before it started
the process being measured). Exit status 1 on timeout.
"""
import os
import sqlite3
import statistics
import subprocess
import sys
import time


def connect(path):
    # Read-only use of a WAL database another process writes; wait out its brief locks.
    while not os.path.exists(path):
        time.sleep(0.005)
    db = sqlite3.connect(path, timeout=30, isolation_level=None)
    return db


def has_head(db, repo):
    return db.execute("SELECT 1 FROM heads WHERE repo = ? LIMIT 1", (repo,)).fetchone() is not None


def absent(db):
    return db.execute("SELECT 1 FROM objects WHERE pack IS NULL LIMIT 1").fetchone() is not None


def wait(cond, t0, timeout, interval):
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            if cond():
                print("%.1f" % ((time.time_ns() - t0) / 1e6))
                return 0
        except sqlite3.OperationalError:
            pass  # the schema is being created by the process under test
        time.sleep(interval)
    print("timeout")
    return 1


def main(argv):
    mode = argv[1]
    if mode == "replicated":
        db = connect(argv[2]); repo = argv[3]; t0 = int(argv[4])
        if len(argv) > 6:
            # Timeline: every 250 ms, bytes of chunks stored and whether the head is visible.
            out = open(argv[6], "w"); last = [0.0]
            def cond():
                done = has_head(db, repo) and not absent(db)
                now = time.time()
                if done or now - last[0] >= 0.25:
                    last[0] = now
                    stored = db.execute("SELECT coalesce(sum(raw_len), 0) FROM objects WHERE pack IS NOT NULL AND kind = 1").fetchone()[0]
                    out.write("%.0f %d %d\n" % ((time.time_ns() - t0) / 1e6, has_head(db, repo), stored))
                    out.flush()
                return done
            return wait(cond, t0, float(argv[5]), 0.01)
        return wait(lambda: has_head(db, repo) and not absent(db), t0, float(argv[5]), 0.01)
    if mode == "pulled":
        db = connect(argv[2])
        lazy = len(argv) > 5 and argv[5] == "lazy"
        return wait(lambda: db.execute("SELECT count(*) FROM commits").fetchone()[0] > 0 and (lazy or not absent(db)),
                    int(argv[3]), float(argv[4]), 0.01)
    if mode == "head":
        db = connect(argv[2]); repo = argv[3]
        return wait(lambda: has_head(db, repo), int(argv[4]), float(argv[5]), 0.002)
    if mode == "commits":
        db = connect(argv[2]); repo = argv[3]; n = int(argv[4])
        return wait(lambda: has_head(db, repo) and db.execute("SELECT count(*) FROM commits").fetchone()[0] >= n,
                    int(argv[5]), float(argv[6]), 0.01)
    if mode == "commit":
        db = connect(argv[2]); cid = bytes.fromhex(argv[3])
        return wait(lambda: db.execute("SELECT 1 FROM commits WHERE id = ?", (cid,)).fetchone() is not None,
                    int(argv[4]), float(argv[5]), 0.002)
    if mode == "announce":
        return announce(argv[2], argv[3], argv[4], argv[5], argv[6], int(argv[7]))
    if mode == "read":
        path, n = argv[2], int(argv[3])
        t = time.perf_counter()
        fd = os.open(path, os.O_RDONLY)
        got = 0
        while got < n:
            b = os.read(fd, min(n - got, 1 << 20))
            if not b:
                break
            got += len(b)
        t = time.perf_counter() - t
        os.close(fd)
        assert got == n, "short read: %d of %d bytes" % (got, n)
        print("%.2f" % (t * 1000))
        return 0
    print("bench-sync-probe: unknown mode %r" % mode, file=sys.stderr)
    return 2


def announce(ark, adir, bdb_path, src, repo, k):
    """Commits K times on A (its store under ADIR/data) while B's daemon runs. For each commit:
    index-to-index latency (A's head row changed -> B's heads contain that commit), and the
    latency from the moment `ark commit` exited. Both indexes are polled every 0.5 ms."""
    adb = connect(os.path.join(adir, "data", "index.sqlite"))
    bdb = connect(bdb_path)
    own = lambda: adb.execute("SELECT commit_id FROM heads WHERE repo = ? AND name = ''", (repo,)).fetchall()
    rows = []
    for i in range(k):
        with open(os.path.join(src, "f.txt"), "w") as f:
            f.write("announcement %d %d\n" % (i, time.time_ns()))
        before = set(r[0] for r in own())
        t_start = time.perf_counter()
        p = subprocess.Popen([ark, "commit", src, "--repo", repo, "-m", "announce %d" % i], cwd=adir,
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        t_a = t_b = t_exit = None
        new = None
        deadline = time.perf_counter() + 30
        while t_b is None and time.perf_counter() < deadline:
            now = time.perf_counter()
            if t_exit is None and p.poll() is not None:
                t_exit = now
            if t_a is None:
                heads = set(r[0] for r in own())
                if heads - before:
                    new = (heads - before).pop(); t_a = now
            if new is not None and bdb.execute("SELECT 1 FROM heads WHERE repo = ? AND commit_id = ?", (repo, new)).fetchone():
                t_b = time.perf_counter()
                break
            time.sleep(0.0005)
        p.wait()
        if t_exit is None:
            t_exit = time.perf_counter()  # B saw it before `ark commit` had exited
        if t_b is None:
            print("commit %d: not visible on B within 30 s" % i, file=sys.stderr)
            rows.append(None)
        else:
            rows.append(((t_b - t_a) * 1000, (t_b - t_exit) * 1000, (t_b - t_start) * 1000, (t_exit - t_start) * 1000))
        time.sleep(0.3)
    ok = [r for r in rows if r]
    if not ok:
        print("none none none none none 0 %d" % k)
        return 1
    idx = [r[0] for r in ok]; ex = [r[1] for r in ok]; st = [r[2] for r in ok]; cm = [r[3] for r in ok]
    for n, r in enumerate(rows):
        print("  commit %d: %s" % (n, "lost" if r is None else
              "index->index %.1f ms, commit exit->B %.1f ms, commit start->B %.1f ms (commit process %.1f ms)" % r),
              file=sys.stderr)
    print("%.1f %.1f %.1f %.1f %.1f %d %d" % (statistics.median(idx), max(idx), statistics.median(ex),
                                            statistics.median(st), statistics.median(cm), len(ok), k))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
