#!/usr/bin/env bash
# Issue 19's pull row: peak RSS of the receiving and the serving `ark run` daemon while a node
# with an empty store pulls (and, with `fetch = "full"`, replicates) one commit of N small files
# from another on loopback, for one or more ark binaries in the same run. Prints a markdown
# table (also saved as $BENCH_DIR/pull-<time>.md).
#
#   scripts/bench-pull.sh [N ...]          (default 200000)
#
# The tree of N files is $BENCH_DATA/tN (bench-million.sh's generator and layout; generated
# there if missing). It is committed once, by the first binary, into the serving node; every
# binary then serves it from that store to a fresh receiving node. Completion is read from the
# receiving node's index (scripts/bench-sync-probe.py: the commit and no absent object); peak RSS is
# VmHWM of each daemon at that moment; `ark verify` of the receiving store must pass.
# Daemons listen on 127.0.0.1 with LAN discovery off.
#
# Environment: BENCH_ARKS ("label=path ..." binaries to compare, in this order; default the
# release build, "ark=<release>"), BENCH_DATA (trees, default /var/tmp/ark-bench-million/data),
# BENCH_DIR (work dir, default /var/tmp/ark-bench-pull), BENCH_FETCH (full or lazy; default
# full).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
SIZES=("$@")
[ ${#SIZES[@]} = 0 ] && SIZES=(200000)
source scripts/deps.sh
ark_install_debs python3
if [ -z "${BENCH_ARKS:-}" ]; then
  echo "building ark (release)..." >&2
  swift build -c release --scratch-path .build-release --product ark >&2
  BENCH_ARKS="ark=$(swift build -c release --scratch-path .build-release --show-bin-path)/ark"
fi
read -r -a ARKS <<< "$BENCH_ARKS"
DATA=${BENCH_DATA:-/var/tmp/ark-bench-million/data}
W=${BENCH_DIR:-/var/tmp/ark-bench-pull}
FETCH=${BENCH_FETCH:-full}
PROBE="python3 $ROOT/scripts/bench-sync-probe.py"
mkdir -p "$W"
PIDS=()
cleanup() {
  set +e
  for p in "${PIDS[@]}"; do kill -TERM "$p" 2>/dev/null; done
  for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null; done
  rm -rf "$W/a" "$W/b"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
export ARK_AUTHOR="Bench <bench@example.org>"
echo "work dir: $W" >&2

now() { date +%s%N; }
load() { cut -d' ' -f1-3 /proc/loadavg; }
hwm_mb() { awk '/VmHWM/{printf "%.0f", $2/1024}' "/proc/$1/status" 2>/dev/null || echo "-"; }
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_listening() { local i; for i in $(seq 1 2000); do [ -s "$W/$1/data/listen_addr" ] && return 0; sleep 0.01; done; return 1; }
# conf DIR PORT FETCH PEERNAME PEERID PEERPORT: writes DIR/ark.toml (one repo "many")
conf() {
  { echo "[net]"; echo "listen = \"127.0.0.1:$2\""; echo "discovery = false"; echo
    echo "[[repos]]"; echo "id = \"many\""; echo "fetch = \"$3\""
    echo "remotes = [ { name = \"$4\", node_id = \"$5\", addrs = [\"127.0.0.1:$6\"] } ]"; } > "$W/$1/ark.toml"
}
# daemon ARK DIR: starts `ark run` in DIR (log in DIR/run.log), sets DPID
daemon() {
  (cd "$W/$2" && ARK_LOG=info exec "$1" run >> "$W/$2/run.log" 2>&1) &
  DPID=$!; PIDS+=("$DPID")
}
stop() { kill -TERM "$1" 2>/dev/null || true; wait "$1" 2>/dev/null || true; }
generate() { python3 "$ROOT/scripts/make-small-files.py" "$1" "$2"; }   # DIR N: the many-small-files tree


OUT="$W/pull-$(date -u +%Y%m%dT%H%M%SZ).md"
{
  echo "## pull of one commit of N files to an empty node (fetch = \"$FETCH\"), $(date -u '+%Y-%m-%d %H:%M UTC')"
  echo
  echo "$(nproc) cores, $(awk '/MemTotal/{printf "%.0f GiB", $2/1048576}' /proc/meminfo) RAM, kernel $(uname -r). Peak RSS = VmHWM of each \`ark run\` when the receiving index has the commit and no absent object."
  echo
  echo "| files | ark | objects | pull (s) | receiving peak RSS (MB) | serving peak RSS (MB) | verify | load avg |"
  echo "|---:|---|---:|---:|---:|---:|---|---|"
} > "$OUT"
for N in "${SIZES[@]}"; do
  T="$DATA/t$N"
  if [ ! -d "$T" ]; then
    echo "generating $N files in $T..." >&2
    mkdir -p "$DATA"; rm -rf "$T.tmp"; generate "$T.tmp" "$N"; mv "$T.tmp" "$T"
  fi
  rm -rf "$W/a"; mkdir -p "$W/a"
  FIRST=${ARKS[0]#*=}
  A_ID=$(cd "$W/a" && "$FIRST" id)
  echo "committing $N files (${ARKS[0]%%=*})..." >&2
  (cd "$W/a" && "$FIRST" commit "$T" --repo many -m "$N files" > /dev/null)
  for spec in "${ARKS[@]}"; do
    LABEL=${spec%%=*}; ARK=$(readlink -f "${spec#*=}")
    rm -rf "$W/b"; mkdir -p "$W/b"
    B_ID=$(cd "$W/b" && "$ARK" id)
    PA=$(free_port); PB=$(free_port)
    conf a "$PA" full b "$B_ID" "$PB"
    conf b "$PB" "$FETCH" a "$A_ID" "$PA"
    L0=$(load)
    echo "$LABEL: pull of $N files (load $L0)..." >&2
    daemon "$ARK" a; APID=$DPID; wait_listening a
    t0=$(now)
    daemon "$ARK" b; BPID=$DPID
    # The serving node builds its closure of the commit (what it may serve) at the first
    # request; while that takes longer than the request deadline, the pull fails and is not
    # retried until the next connection: start the receiving daemon again then (the figures
    # are those of the last one; the serving node's peak includes its closure). Done = the
    # commit and every object stored (with `fetch = "lazy"`: the commit); not the head, which
    # a restarted daemon does not set (the announcement was recorded as seen by the first).
    tries=0
    done=no
    while [ $tries -lt 60 ]; do
      $PROBE pulled "$W/b/data/index.sqlite" "$(now)" 30 "$FETCH" > /dev/null && { done=yes; break; }
      if grep -q "failed a get-objects request" "$W/b/run.log"; then
        echo "$LABEL: the serving node is still building its closure; restarting the receiving daemon" >&2
        stop "$BPID"; : > "$W/b/run.log"; t0=$(now); daemon "$ARK" b; BPID=$DPID
      fi
      tries=$((tries + 1))
    done
    [ $done = yes ] || { echo "$LABEL: no complete pull within 30 minutes" >&2; tail -5 "$W/b/run.log" >&2; exit 1; }
    SECS=$(awk -v a="$t0" -v b="$(now)" 'BEGIN{printf "%.1f", (b-a)/1e9}')
    RB=$(hwm_mb "$BPID"); RA=$(hwm_mb "$APID")
    stop "$BPID"; stop "$APID"
    # Objects: rows of the receiving index (a restarted daemon sets no head for verify to walk).
    OBJ=$(python3 -c 'import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute("SELECT count(*) FROM objects WHERE pack IS NOT NULL").fetchone()[0])' "$W/b/data/index.sqlite")
    V=$( (cd "$W/b" && "$ARK" verify > /dev/null 2>&1) && echo "ok $OBJ" || echo "FAILED $OBJ")
    echo "| $N | $LABEL | ${V#* } | $SECS | $RB | $RA | ${V%% *} | $L0 -> $(load) |" | tee -a "$OUT" >&2
  done
done
echo >&2
cat "$OUT"
echo "saved to $OUT" >&2
