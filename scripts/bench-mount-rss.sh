#!/usr/bin/env bash
# Memory of a mount while it streams one large file (issue 19: peak RSS < 64 MiB by default):
# `cat` of a random file through `ark mount`, squashfuse (`mksquashfs` of the same file) and,
# when BENCH_ARK_BASE names one, a previous ark binary, in one run; native `cat` of the file is
# the throughput baseline. Prints a markdown table (saved under .build/).
#
#   scripts/bench-mount-rss.sh            1 GiB file, 3 rounds (one run of every system each)
#   scripts/bench-mount-rss.sh --quick    256 MiB file, 1 round
#
# Every run is a fresh mount (a new process, nothing cached inside it) and starts from
# `sync; echo 3 > /proc/sys/vm/drop_caches`. Peak RSS = VmHWM of the mount process after the
# `cat`; its split into anonymous and file-backed pages (the program and its libraries) is the
# largest RssAnon / RssFile seen by sampling /proc/PID/status every 50 ms during the read.
# "start" = VmRSS of the mount once it answers, before the read. MB = 10^6 bytes.
#
# Environment: BENCH_ARK (ark binary; default: a release build of this tree with
# --static-swift-stdlib, as installed), BENCH_ARK_BASE (a previous ark binary), BENCH_SIZE_MB,
# BENCH_RUNS, BENCH_CACHE (a `[mount] cache_size` for the store, e.g. "16MiB"; default: none,
# so the default applies), BENCH_DIR (work directory, default a new temp dir under /var/tmp,
# removed unless BENCH_KEEP=1).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)

QUICK=0
for a in "$@"; do
  case "$a" in
    --quick) QUICK=1 ;;
    *) echo "bench-mount-rss.sh: unknown argument '$a' (only --quick)" >&2; exit 2 ;;
  esac
done
if [ "$QUICK" = 1 ]; then SIZE_MB=${BENCH_SIZE_MB:-256}; RUNS=${BENCH_RUNS:-1}; else SIZE_MB=${BENCH_SIZE_MB:-1024}; RUNS=${BENCH_RUNS:-3}; fi
[ "$(id -u)" = 0 ] || { echo "bench-mount-rss.sh: needs root (drop_caches, FUSE mounts)" >&2; exit 1; }

source scripts/deps.sh
ark_install_debs squashfs-tools squashfuse fuse3 coreutils util-linux
if [ -z "${BENCH_ARK:-}" ]; then
  echo "building ark (release, --static-swift-stdlib)..." >&2
  swift build -c release --static-swift-stdlib --product ark >&2
  BENCH_ARK="$(swift build -c release --static-swift-stdlib --show-bin-path)/ark"
fi
ARK=$BENCH_ARK
BASE=${BENCH_ARK_BASE:-}
SYSTEMS="native ark"
[ -n "$BASE" ] && SYSTEMS="$SYSTEMS base"
SYSTEMS="$SYSTEMS squashfuse"

W=${BENCH_DIR:-$(mktemp -d -p /var/tmp ark-bench-rss.XXXXXX)}
mkdir -p "$W"
MP="$W/mnt"
SAMPLER=""
cleanup() {
  set +e
  [ -n "$SAMPLER" ] && kill "$SAMPLER" 2>/dev/null
  if mountpoint -q "$MP" 2>/dev/null; then fusermount3 -u "$MP" 2>/dev/null || umount -l "$MP" 2>/dev/null; fi
  [ "${BENCH_KEEP:-0}" = 1 ] || rm -rf "$W"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
echo "work dir: $W" >&2

SIZE=$((SIZE_MB << 20))
mkdir -p "$W/data" "$W/store" "$W/sqfs" "$MP"
echo "generating a ${SIZE_MB} MiB random file..." >&2
head -c "$SIZE" /dev/urandom > "$W/data/big.bin"
{
  printf '[net]\ndiscovery = false\n'
  [ -n "${BENCH_CACHE:-}" ] && printf '\n[mount]\ncache_size = "%s"\n' "$BENCH_CACHE"
} > "$W/store/ark.toml"
(cd "$W/store" && "$ARK" commit "$W/data" --repo big > /dev/null)
mksquashfs "$W/data" "$W/sqfs/big.sqfs" -quiet -no-progress > /dev/null

now() { date +%s%N; }
drop() { sync; echo 3 > /proc/sys/vm/drop_caches; }
mbps() { awk -v b="$SIZE" -v a="$1" -v c="$2" 'BEGIN{ s = (c - a) / 1e9; if (s > 0) printf "%.0f", b/s/1e6; else print "-" }'; }
kb_mb() { awk -v k="$1" 'BEGIN{printf "%.1f", k*1024/1e6}'; }
status_kb() { awk -v f="$2:" '$1 == f {print $2}' "/proc/$1/status" 2>/dev/null || echo 0; }
# PID of the process serving the mountpoint (its command line names it).
mount_pid() {
  local f pid
  for f in /proc/[0-9]*/cmdline; do
    pid=${f#/proc/}; pid=${pid%/cmdline}
    [ "$pid" = $$ ] && continue
    if tr '\0' '\n' 2>/dev/null < "$f" | grep -qxF "$MP"; then echo "$pid"; return 0; fi
  done
  return 1
}
# sample PID OUT: the largest RssAnon and RssFile (kB) every 50 ms, written to OUT until killed
sample() {
  local pid=$1 out=$2 a f ma=0 mf=0
  trap 'echo "$ma $mf" > "$out"; exit 0' TERM
  while [ -e "/proc/$pid/status" ]; do
    read -r a f < <(awk '$1 == "RssAnon:" {a=$2} $1 == "RssFile:" {f=$2} END {print a+0, f+0}' "/proc/$pid/status")
    [ "$a" -gt "$ma" ] && ma=$a
    [ "$f" -gt "$mf" ] && mf=$f
    sleep 0.05
  done
  echo "$ma $mf" > "$out"
}

declare -A R
median() { tr ' ' '\n' | grep -v '^$' | sort -n | awk '{v[NR]=$1} END {print (NR ? v[int((NR+1)/2)] : "-")}'; }
maxof() { tr ' ' '\n' | grep -v '^$' | sort -n | tail -1; }

# Rounds of one run per system, so a change in the machine's load falls on every system alike.
declare -A SPEEDS HWMS ANONS FILES STARTS
for run in $(seq 1 "$RUNS"); do
  for sys in $SYSTEMS; do
    case "$sys" in
      native) f="$W/data/big.bin" ;;
      ark) (cd "$W/store" && "$ARK" mount big "$MP" --daemon); f="$MP/big.bin" ;;
      base) (cd "$W/store" && "$BASE" mount big "$MP" --daemon); f="$MP/big.bin" ;;
      squashfuse) squashfuse "$W/sqfs/big.sqfs" "$MP"; f="$MP/big.bin" ;;
    esac
    pid=""
    if [ "$sys" != native ]; then
      stat "$f" > /dev/null
      pid=$(mount_pid)
      STARTS[$sys]="${STARTS[$sys]:-} $(status_kb "$pid" VmRSS)"
    fi
    drop
    if [ -n "$pid" ]; then sample "$pid" "$W/sample" & SAMPLER=$!; fi
    t0=$(now); cat "$f" > /dev/null; t1=$(now)
    speed=$(mbps "$t0" "$t1")
    SPEEDS[$sys]="${SPEEDS[$sys]:-} $speed"
    hwm=0
    if [ -n "$pid" ]; then
      hwm=$(status_kb "$pid" VmHWM)
      HWMS[$sys]="${HWMS[$sys]:-} $hwm"
      kill "$SAMPLER"; wait "$SAMPLER" 2>/dev/null || true; SAMPLER=""
      read -r a fb < "$W/sample"
      ANONS[$sys]="${ANONS[$sys]:-} $a"; FILES[$sys]="${FILES[$sys]:-} $fb"
      case "$sys" in
        ark | base) (cd "$W/store" && "$ARK" unmount "$MP") ;;
        squashfuse) fusermount3 -u "$MP" ;;
      esac
      # The next mount's process must not be confused with this one while it exits.
      for _ in $(seq 1 300); do [ -e "/proc/$pid" ] || break; sleep 0.1; done
    fi
    echo "  run $run, $sys: $speed MB/s, peak RSS $(kb_mb "$hwm") MB" >&2
  done
done
for sys in $SYSTEMS; do
  R[$sys.mbps]=$(echo "${SPEEDS[$sys]}" | median)
  R[$sys.speeds]=$(echo "${SPEEDS[$sys]}" | sed 's/^ //')
  if [ "$sys" != native ]; then
    R[$sys.hwm]=$(kb_mb "$(echo "${HWMS[$sys]}" | maxof)")
    R[$sys.anon]=$(kb_mb "$(echo "${ANONS[$sys]}" | maxof)")
    R[$sys.file]=$(kb_mb "$(echo "${FILES[$sys]}" | maxof)")
    R[$sys.start]=$(kb_mb "$(echo "${STARTS[$sys]}" | maxof)")
  fi
done

OUT="$ROOT/.build/bench-mount-rss-$(date -u +%Y%m%dT%H%M%SZ).md"
mkdir -p "$ROOT/.build"
v() { echo "${R[$1]:--}"; }
LIMIT_MB=$(awk 'BEGIN{printf "%.1f", 64*1048576/1e6}')
{
  echo "## Mount RSS while streaming, $(date -u '+%Y-%m-%d %H:%M UTC')"
  echo
  echo "\`cat\` of a ${SIZE_MB} MiB random file, $RUNS round(s) of one run per system, each from a fresh mount and dropped caches;"
  echo "$(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg), kernel $(uname -r); $("$ARK" --version 2>/dev/null | head -1), this tree at $(git rev-parse --short HEAD 2>/dev/null || echo '?')${BENCH_CACHE:+, cache_size $BENCH_CACHE}."
  echo "MB/s: median (all runs); peak RSS: the largest VmHWM; anon / file: the largest RssAnon / RssFile sampled."
  echo
  echo "| system | cold read MB/s | runs | RSS at start (MB) | peak RSS (MB) | peak anon (MB) | peak file-backed (MB) |"
  echo "|---|---:|---|---:|---:|---:|---:|"
  for sys in $SYSTEMS; do
    echo "| $sys | $(v "$sys.mbps") | $(v "$sys.speeds") | $(v "$sys.start") | $(v "$sys.hwm") | $(v "$sys.anon") | $(v "$sys.file") |"
  done
  echo
  echo "| target (issue 19) | measured | result |"
  echo "|---|---|---|"
  pf=$(awk -v a="${R[ark.hwm]}" -v l="$LIMIT_MB" 'BEGIN{print (a < l ? "pass" : "FAIL")}')
  echo "| mount peak RSS < 64 MiB ($LIMIT_MB MB) while streaming | ${R[ark.hwm]} MB | $pf |"
} | tee "$OUT"
echo "results saved to $OUT" >&2
