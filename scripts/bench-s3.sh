#!/usr/bin/env bash
# ark with its packs in an S3 bucket against restic to the same bucket, on the server of
# scripts/s3-server.sh (OpenStack Swift with s3api on loopback), in one run:
#   ingest:    `ark commit` of a large file and of a 20,000-file tree to the bucket, vs `restic backup`
#              and vs the same commits to an ark local store (what ark's own work costs)
#   cold read: sequential read of the large file through `ark mount` from the bucket (local store
#              rebuilt from the bucket by `ark repair index`, so no chunk is local), vs `restic
#              mount` and vs ark's local store
#   first byte (open + read(1), in one process), peak RSS (VmHWM) of each committer and mount.
# Prints a markdown table with the issue's targets.
#
# Both talk to the server's https front end (same path, same TLS cost): ark with `ca_file`,
# restic with `--cacert`, both trusting the CA scripts/s3-server.sh makes. Over plain http
# restic 0.14's S3 client (minio-go) signs PUTs with aws-chunked streaming payloads, which Swift
# 2.30's s3api rejects; over https it sends UNSIGNED-PAYLOAD, which Swift accepts.
# BENCH_HTTP=1 adds rows for ark over plain http (commit and cold read of the large file).
#
#   scripts/bench-s3.sh
#
# Environment: BENCH_SIZE_MB (default 2048), BENCH_FILES (default 20000), BENCH_HTTP (0),
# BENCH_DIR (work dir, default a temp dir under /var/tmp, removed unless BENCH_KEEP=1), ARK
# (binary, default .build/release/ark); ARK_S3_PORT / ARK_S3_DIR choose the server instance
# (scripts/s3-server.sh). Needs root (drop_caches, FUSE). Everything runs on loopback, LAN
# discovery off.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
ARK=$(readlink -f "${ARK:-$ROOT/.build/release/ark}")
[ -x "$ARK" ] || { echo "bench-s3.sh: $ARK is missing (swift build -c release, or set ARK)" >&2; exit 2; }
SIZE_MB=${BENCH_SIZE_MB:-2048}; NFILES=${BENCH_FILES:-20000}
source scripts/deps.sh
ark_install_debs fuse3 python3 restic time procps
# A server this script starts it also stops (a new start empties it): each run stores gigabytes.
OWN_SERVER=0; scripts/s3-server.sh status || OWN_SERVER=1
eval "$(scripts/s3-server.sh start)"
CA=$ARK_TEST_S3_CA
RUN=bench-$(date +%s)

W=${BENCH_DIR:-$(mktemp -d -p /var/tmp ark-bench-s3.XXXXXX)}
mkdir -p "$W/mnt"
MOUNTS=(); BG=()
cleanup() {
  local m p
  for m in "${MOUNTS[@]}"; do fusermount3 -u -z "$m" 2>/dev/null || true; done
  for p in "${BG[@]}"; do kill -INT "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  [ "${BENCH_KEEP:-0}" = 1 ] || rm -rf "$W"
  if [ "$OWN_SERVER" = 1 ]; then scripts/s3-server.sh stop; fi
}
trap cleanup EXIT
trap 'echo "bench-s3.sh: line $LINENO failed (exit $?): $BASH_COMMAND" >&2' ERR
echo "work dir: $W" >&2

now() { date +%s%N; }
drop() { sync; echo 3 > /proc/sys/vm/drop_caches; }
secs() { awk -v a="$1" -v b="$(now)" 'BEGIN{printf "%.2f", (b-a)/1e9}'; }
x() { awk -v a="$1" -v b="$2" 'BEGIN{ if (b > 0) printf "%.2f", a/b; else print "-" }'; }
mbps() { awk -v s="$1" -v b="$2" 'BEGIN{ if (s > 0) printf "%.0f", b/s/1e6; else print "-" }'; }
pf() { if awk "BEGIN{exit !($1)}"; then echo pass; else echo FAIL; fi; }
# timed_rss DIR CMD...: runs CMD in DIR from dropped caches (what is archived is rarely in
# memory: every commit and backup reads its input from the disk), sets T (seconds) and M (peak
# RSS, MB)
timed_rss() {
  local dir=$1 t0; shift; drop; t0=$(now)
  (cd "$dir" && /usr/bin/time -f %M -o "$W/rss" "$@" > /dev/null)
  T=$(secs "$t0"); M=$(awk '{printf "%.0f", $1*1024/1e6}' "$W/rss")
  echo "  $(basename "$1") ${*:2}: $T s, peak RSS $M MB" >&2
}
first_byte() {
  python3 -c 'import os,sys,time
t=time.perf_counter(); fd=os.open(sys.argv[1], os.O_RDONLY); b=os.read(fd, 1); t=time.perf_counter()-t
assert len(b)==1
print("%.1f" % (t*1000))' "$1"
}
wait_for() { local i; for i in $(seq 1 60000); do [ -e "$1" ] && return 0; sleep 0.002; done; echo "$1 did not appear" >&2; return 1; }
mount_pid() {
  local mp=$1 f pid
  for f in /proc/[0-9]*/cmdline; do
    pid=${f#/proc/}; pid=${pid%/cmdline}
    if tr '\0' '\n' 2>/dev/null < "$f" | grep -qxF "$mp"; then echo "$pid"; return 0; fi
  done
  return 1
}
hwm_mb() { awk '/VmHWM/{printf "%.0f", $2*1024/1e6}' "/proc/$1/status" 2>/dev/null || echo "-"; }

# --- data ----------------------------------------------------------------------------------
echo "generating a ${SIZE_MB} MiB file and $NFILES files..." >&2
mkdir -p "$W/big"; head -c $((SIZE_MB << 20)) /dev/urandom > "$W/big/big.bin"
BYTES=$((SIZE_MB << 20))
python3 scripts/make-tree.py "$W/tree" "$NFILES"
cat "$W/big/big.bin" > /dev/null; find "$W/tree" -type f -exec cat {} + > /dev/null
declare -A R

# --- ark to the bucket -----------------------------------------------------------------------
# s3_toml DIR ENDPOINT PREFIX: an ark.toml with its packs in the bucket (ca_file for https).
s3_toml() {
  local ca=""
  case "$2" in https:*) ca="ca_file = \"$CA\"\n" ;; esac
  printf '[store]\npath = "data"\n\n[store.s3]\nendpoint = "%s"\nbucket = "%s"\nprefix = "%s"\n'"$ca"'\n[net]\ndiscovery = false\n' \
    "$2" "$ARK_TEST_S3_BUCKET" "$3" > "$1/ark.toml"
}
S="$W/ark-s3"; mkdir -p "$S"; s3_toml "$S" "$ARK_TEST_S3_TLS_ENDPOINT" "$RUN/ark/"
echo "ark commit to the bucket (https)..." >&2
timed_rss "$S" "$ARK" commit "$W/big" --repo big -m big; R[ark.big]=$T; R[ark.big_rss]=$M
timed_rss "$S" "$ARK" commit "$W/tree" --repo tree -m tree; R[ark.tree]=$T; R[ark.tree_rss]=$M
R[ark.local_mb]=$(du -sm "$S/data" | cut -f1)
if [ "${BENCH_HTTP:-0}" = 1 ]; then
  H="$W/ark-http"; mkdir -p "$H"; s3_toml "$H" "$ARK_TEST_S3_ENDPOINT" "$RUN/ark-http/"
  echo "ark commit to the bucket (http)..." >&2
  timed_rss "$H" "$ARK" commit "$W/big" --repo big -m big; R[http.big]=$T; R[http.big_rss]=$M
fi

# --- restic to the same bucket -----------------------------------------------------------------
export RESTIC_PASSWORD=bench RESTIC_CACHE_DIR="$W/restic-cache"
export RESTIC_REPOSITORY="s3:$ARK_TEST_S3_TLS_ENDPOINT/$ARK_TEST_S3_BUCKET/$RUN/restic"
echo "restic backup to the bucket (https)..." >&2
restic --cacert "$CA" init -q >&2
timed_rss "$W" restic --cacert "$CA" backup -q big; R[restic.big]=$T; R[restic.big_rss]=$M
timed_rss "$W" restic --cacert "$CA" backup -q tree; R[restic.tree]=$T; R[restic.tree_rss]=$M

# --- ark local store (the cold-read baseline) --------------------------------------------------
L="$W/ark-local"; mkdir -p "$L"; printf '[net]\ndiscovery = false\n' > "$L/ark.toml"
# Timed too: what the same commits cost without the bucket (the client's own share of ingest).
timed_rss "$L" "$ARK" commit "$W/big" --repo big -m big; R[local.big]=$T
timed_rss "$L" "$ARK" commit "$W/tree" --repo tree -m tree; R[local.tree]=$T

# --- cold sequential reads -------------------------------------------------------------------
# read_mount NAME MOUNTPOINT FILE: first byte and sequential read, all caches dropped first.
read_mount() {
  local name=$1 mp=$2 file=$3 pid t0
  pid=$(mount_pid "$mp" || true)
  drop
  R[$name.ttfb]=$(first_byte "$file")
  drop
  t0=$(now); cat "$file" > /dev/null; R[$name.read]=$(secs "$t0")
  R[$name.rss]=$( [ -n "$pid" ] && hwm_mb "$pid" || echo - )
  echo "  $name: first byte ${R[$name.ttfb]} ms, read ${R[$name.read]} s, mount peak RSS ${R[$name.rss]} MB" >&2
}
echo "cold reads..." >&2
# read_from_bucket NAME STORE MOUNT: ark from the bucket: a store rebuilt from the bucket alone
# (STORE's ark.toml and node key only), so every chunk comes from S3; read through a mount.
read_from_bucket() {
  local c="$W/$1-cold" mp="$W/mnt/$3"
  mkdir -p "$c/data"; cp "$2/ark.toml" "$c/"; cp "$2/data/node.key" "$c/data/"
  (cd "$c" && "$ARK" repair index > /dev/null)
  mkdir -p "$mp"; MOUNTS+=("$mp")
  (cd "$c" && "$ARK" mount big "$mp" --daemon); wait_for "$mp/big.bin"
  read_mount "$1" "$mp" "$mp/big.bin"
  (cd "$c" && "$ARK" unmount "$mp")
}
read_from_bucket ark_s3 "$S" ark-s3
if [ "${BENCH_HTTP:-0}" = 1 ]; then read_from_bucket http "$H" ark-http; fi
MP="$W/mnt/ark-local"; mkdir -p "$MP"; MOUNTS+=("$MP")
(cd "$L" && "$ARK" mount big "$MP" --daemon); wait_for "$MP/big.bin"
read_mount ark_local "$MP" "$MP/big.bin"
(cd "$L" && "$ARK" unmount "$MP")
MP="$W/mnt/restic"; mkdir -p "$MP"; MOUNTS+=("$MP")
rm -rf "$RESTIC_CACHE_DIR"
restic --cacert "$CA" mount "$MP" > "$W/restic-mount.log" 2>&1 & BG+=($!)
# The large file is in the first snapshot (latest is the tree's): snapshots/<time>/big/big.bin.
wait_for "$MP/snapshots/latest"
F=$(find -L "$MP/snapshots" -mindepth 3 -maxdepth 3 -name big.bin 2>/dev/null | head -1 || true)
[ -n "$F" ] || { echo "big.bin not found in restic's mount" >&2; exit 1; }
read_mount restic "$MP" "$F"

# --- table -----------------------------------------------------------------------------------
RV=$(restic version | awk '{print $2}')
echo
echo "$(date -u +%Y-%m-%d), $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg); server: OpenStack Swift $(dpkg-query -W -f='${Version}' swift-proxy) s3api on loopback, https (both clients); ${SIZE_MB} MiB random file, $NFILES-file tree; ark $("$ARK" --version | awk '{print $2}'), restic $RV."
echo
echo "| measure | ark (S3, https) | restic (S3, https) | ark local | ark / restic |"
echo "|---|---|---|---|---|"
echo "| commit/backup big file (s) | ${R[ark.big]} | ${R[restic.big]} | ${R[local.big]} | $(x "${R[restic.big]}" "${R[ark.big]}")x faster |"
echo "| commit/backup tree (s) | ${R[ark.tree]} | ${R[restic.tree]} | ${R[local.tree]} | $(x "${R[restic.tree]}" "${R[ark.tree]}")x faster |"
echo "| ingest big file (MB/s) | $(mbps "${R[ark.big]}" $BYTES) | $(mbps "${R[restic.big]}" $BYTES) | $(mbps "${R[local.big]}" $BYTES) | |"
echo "| peak RSS commit/backup big, tree (MB) | ${R[ark.big_rss]}, ${R[ark.tree_rss]} | ${R[restic.big_rss]}, ${R[restic.tree_rss]} | | |"
echo "| local store after both commits (MB) | ${R[ark.local_mb]} | | | |"
echo "| cold sequential read through the mount (s) | ${R[ark_s3.read]} | ${R[restic.read]} | ${R[ark_local.read]} | $(x "${R[restic.read]}" "${R[ark_s3.read]}")x faster |"
echo "| cold read (MB/s) | $(mbps "${R[ark_s3.read]}" $BYTES) | $(mbps "${R[restic.read]}" $BYTES) | $(mbps "${R[ark_local.read]}" $BYTES) | |"
echo "| first byte, cold (ms) | ${R[ark_s3.ttfb]} | ${R[restic.ttfb]} | ${R[ark_local.ttfb]} | |"
echo "| peak RSS of the mount (MB) | ${R[ark_s3.rss]} | ${R[restic.rss]} | ${R[ark_local.rss]} | |"
if [ "${BENCH_HTTP:-0}" = 1 ]; then
  echo "| ark over plain http: commit big file (s, MB/s), cold read (s, MB/s), first byte (ms) | ${R[http.big]}, $(mbps "${R[http.big]}" $BYTES); ${R[http.read]}, $(mbps "${R[http.read]}" $BYTES); ${R[http.ttfb]} | | | |"
fi
echo
echo "| target | measured | |"
echo "|---|---|---|"
echo "| ingest >= 2x restic | big $(x "${R[restic.big]}" "${R[ark.big]}")x, tree $(x "${R[restic.tree]}" "${R[ark.tree]}")x | $(pf "$(x "${R[restic.big]}" "${R[ark.big]}") >= 2 && $(x "${R[restic.tree]}" "${R[ark.tree]}") >= 2") |"
echo "| cold read >= 2x restic | $(x "${R[restic.read]}" "${R[ark_s3.read]}")x | $(pf "$(x "${R[restic.read]}" "${R[ark_s3.read]}") >= 2") |"
echo "| cold read >= 0.5x ark local | $(x "${R[ark_local.read]}" "${R[ark_s3.read]}")x | $(pf "$(x "${R[ark_local.read]}" "${R[ark_s3.read]}") >= 0.5") |"
echo "| first byte < 50 ms | ${R[ark_s3.ttfb]} ms | $(pf "${R[ark_s3.ttfb]} < 50") |"
echo "| RSS < 300 MB | commit ${R[ark.big_rss]}, ${R[ark.tree_rss]}; mount ${R[ark_s3.rss]} | $(pf "${R[ark.big_rss]} < 300 && ${R[ark.tree_rss]} < 300 && ${R[ark_s3.rss]:-0} < 300") |"
