#!/usr/bin/env bash
# Benchmarks `ark mount` against the original files (native), `borg mount` and `restic mount` on
# the same data in one run, and prints markdown tables with pass/fail against the targets of
# issue 3. See docs/benchmarks-archive.md, section "Mount (issue 3)".
#
#   scripts/bench-mount.sh           full run: 2 GiB file, 20,000-file tree
#   scripts/bench-mount.sh --quick   256 MiB file, 2,000 files, 3 s fio runs
# fio: the cold run keeps fio's default --invalidate=1 (drop_caches alone left pages of the file
# cached through ark's mount in a quick run), the warm run uses --invalidate=0.
#
# Needs root (drop_caches, FUSE). "cold" = `sync; echo 3 > /proc/sys/vm/drop_caches` just before
# the measurement (drops the kernel page, dentry and inode caches; not the caches inside the
# mount processes, which stay as they are); "warm" = the same measurement repeated right after.
#
# Environment: BENCH_SIZE_MB, BENCH_FILES, BENCH_FIO_S override the sizes/runtime; BENCH_DIR picks
# the work directory (default: a new temp dir under /var/tmp, removed at the end unless
# BENCH_KEEP=1); BENCH_PERF=1 records `perf` profiles of the ark mount process during the cold
# sequential read and the cold find (reports saved next to the results under .build/).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)

QUICK=0
for a in "$@"; do
  case "$a" in
    --quick) QUICK=1 ;;
    *) echo "bench-mount.sh: unknown argument '$a' (only --quick)" >&2; exit 2 ;;
  esac
done
if [ "$QUICK" = 1 ]; then
  SIZE_MB=${BENCH_SIZE_MB:-256}; NFILES=${BENCH_FILES:-2000}; FIO_S=${BENCH_FIO_S:-3}
else
  SIZE_MB=${BENCH_SIZE_MB:-2048}; NFILES=${BENCH_FILES:-20000}; FIO_S=${BENCH_FIO_S:-10}
fi
[ "$(id -u)" = 0 ] || { echo "bench-mount.sh: needs root (drop_caches, FUSE mounts)" >&2; exit 1; }

# --- dependencies and build ----------------------------------------------------------------
source scripts/deps.sh
BENCH_DEBS="borgbackup restic fio python3 python3-llfuse python3-pyfuse3 fuse3 libfuse3-dev gcc pkg-config util-linux coreutils tar"
[ "${BENCH_PERF:-0}" = 1 ] && BENCH_DEBS="$BENCH_DEBS linux-perf"
ark_install_debs $BENCH_DEBS
# The Swift runtime linked in, as the README's install does: one binary to load, which is most
# of a mount's start when every cache is cold.
echo "building ark (release, --static-swift-stdlib)..." >&2
swift build -c release --static-swift-stdlib >&2
BIN=$(swift build -c release --static-swift-stdlib --show-bin-path)
ARK="$BIN/ark"

# --- work directory, mounts and cleanup ----------------------------------------------------
W=${BENCH_DIR:-$(mktemp -d -p /var/tmp ark-bench-mount.XXXXXX)}
mkdir -p "$W"
MOUNTS=()      # mountpoints to release on exit
BG_PIDS=()     # foreground mount processes started here (restic)
cleanup() {
  set +e
  for mp in "${MOUNTS[@]}"; do
    if mountpoint -q "$mp" 2>/dev/null; then
      fusermount3 -u "$mp" 2>/dev/null || umount -l "$mp" 2>/dev/null
    fi
  done
  for p in "${BG_PIDS[@]}"; do kill "$p" 2>/dev/null; done
  [ "${BENCH_KEEP:-0}" = 1 ] || rm -rf "$W"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
echo "work dir: $W ($(df -h --output=source "$W" | tail -1))" >&2

export BORG_BASE_DIR="$W/borg-base" BORG_REPO="$W/borg" \
  BORG_UNKNOWN_UNENCRYPTED_REPO_ACCESS_IS_OK=yes BORG_RELOCATED_REPO_ACCESS_IS_OK=yes
export RESTIC_PASSWORD=bench RESTIC_CACHE_DIR="$W/restic-cache"

# --- data (same generator as scripts/bench.sh) ---------------------------------------------
SIZE=$((SIZE_MB << 20))
echo "generating ${SIZE_MB} MiB incompressible file..." >&2
mkdir -p "$W/big"
head -c "$SIZE" /dev/urandom > "$W/big/big.bin"
echo "generating $NFILES small files from /usr/include and /usr/share..." >&2
python3 scripts/make-tree.py "$W/tree" "$NFILES"
TREE_BYTES=$(du -sb --apparent-size "$W/tree" | cut -f1)

echo "storing the data in ark, borg and restic..." >&2
mkdir -p "$W/ark"
(cd "$W/ark" && "$ARK" commit "$W/big" --repo big >/dev/null && "$ARK" commit "$W/tree" --repo tree >/dev/null)
borg init --encryption none "$BORG_REPO" >&2
(cd "$W" && borg create --compression lz4 ::big big && borg create --compression lz4 ::tree tree)
restic -r "$W/restic-big" init -q >&2
restic -r "$W/restic-tree" init -q >&2
restic -r "$W/restic-big" backup -q "$W/big"
restic -r "$W/restic-tree" backup -q "$W/tree"

# --- helpers -------------------------------------------------------------------------------
now() { date +%s%N; }
ms_since() { awk -v a="$1" -v b="$(now)" 'BEGIN{printf "%.1f", (b-a)/1e6}'; }
drop() { sync; echo 3 > /proc/sys/vm/drop_caches; }
secs() { local t0; t0=$(now); "$@"; awk -v a="$t0" -v b="$(now)" 'BEGIN{printf "%.3f", (b-a)/1e9}'; }
mbps() { awk -v b="$1" -v s="$2" 'BEGIN{ if (s > 0) printf "%.0f", b/s/1e6; else print "-" }'; }
x() { awk -v a="$1" -v b="$2" 'BEGIN{ if (b > 0) printf "%.2f", a/b; else print "-" }'; }   # a / b
pf() { if awk "BEGIN{exit !($1)}"; then echo pass; else echo FAIL; fi; }
catfile() { cat "$1" > /dev/null; }
# In-process time of open + read of the first byte (no process start-up counted), in ms.
first_byte() {
  python3 -c 'import os,sys,time
t=time.perf_counter(); fd=os.open(sys.argv[1], os.O_RDONLY); b=os.read(fd, 1); t=time.perf_counter()-t
assert len(b)==1
print("%.2f" % (t*1000))' "$1"
}
fio_iops() {
  fio --name=rr --filename="$1" --readonly --invalidate="$2" --rw=randread --bs=4k --direct=0 --ioengine=psync \
    --numjobs=1 --runtime="$FIO_S" --time_based --output-format=json 2>/dev/null |
    python3 -c 'import json,sys; print("%.0f" % json.load(sys.stdin)["jobs"][0]["read"]["iops"])'
}
do_find() { (cd "$1" && find . | wc -l > /dev/null); }
do_du() { (cd "$1" && du -s . > /dev/null); }
do_tar() { (cd "$1" && tar cf - . | cat > /dev/null); }
# PID of the process serving mountpoint MP (its command line names MP).
mount_pid() {
  local mp=$1 f pid
  for f in /proc/[0-9]*/cmdline; do
    pid=${f#/proc/}; pid=${pid%/cmdline}
    [ "$pid" = $$ ] && continue
    if tr '\0' '\n' 2>/dev/null < "$f" | grep -qxF "$mp"; then
      case "$(tr '\0' ' ' 2>/dev/null < "$f")" in *" mount "*|*"mount "*) echo "$pid"; return 0 ;; esac
    fi
  done
  return 1
}
hwm_mb() { awk '/VmHWM/{printf "%.0f", $2*1024/1e6}' "/proc/$1/status" 2>/dev/null || echo "-"; }
wait_for() {   # wait_for PATH: until PATH exists (mount answering), at most 60 s
  local i
  for i in $(seq 1 60000); do [ -e "$1" ] && return 0; sleep 0.001; done
  echo "bench-mount.sh: $1 did not appear" >&2; return 1
}
PERF_DIR="$ROOT/.build/bench-mount-perf-$(date -u +%Y%m%dT%H%M%SZ)"
perf_start() {   # perf_start PID NAME
  [ "${BENCH_PERF:-0}" = 1 ] || return 0
  mkdir -p "$PERF_DIR"
  perf record -F 499 -g -p "$1" -o "$PERF_DIR/$2.data" > /dev/null 2>&1 &
  PERF_PID=$!
  sleep 0.5
}
perf_stop() {    # perf_stop NAME
  [ "${BENCH_PERF:-0}" = 1 ] || return 0
  kill -INT "$PERF_PID" 2>/dev/null; wait "$PERF_PID" 2>/dev/null || true
  perf report -i "$PERF_DIR/$1.data" --stdio --no-children --sort dso,symbol 2>/dev/null |
    grep -v '^$' | head -400 | swift demangle --simplified > "$PERF_DIR/$1.txt" 2>/dev/null || true
}

declare -A R   # results: R[<system>.<metric>]

# --- drop_caches check ---------------------------------------------------------------------
BIG="$W/big/big.bin"
DROP_NOTE=""
cat "$BIG" > /dev/null
before=$(fincore -b -n -o RES "$BIG" | tr -d ' ')
drop
after=$(fincore -b -n -o RES "$BIG" | tr -d ' ')
if [ "$after" -lt $((SIZE / 10)) ]; then
  DROP_NOTE="drop_caches works here: ${before} bytes of the file cached before, ${after} after."
else
  DROP_NOTE="WARNING: drop_caches does not empty the page cache here (${after} bytes of the file still cached): cold figures are not cold."
fi
echo "$DROP_NOTE" >&2

# --- one system: SYS BIGFILE TREE_DIR (already mounted / present) --------------------------
measure() {
  local sys=$1 file=$2 tree=$3 pid=${4:-} tpid=${5:-}
  echo "  $sys: sequential read" >&2
  R[$sys.ttfb]=${R[$sys.ttfb]:-$( drop; first_byte "$file" )}
  drop; [ -n "$pid" ] && perf_start "$pid" "$sys-cold-read"
  local t; t=$(secs catfile "$file"); R[$sys.cold]=$(mbps "$SIZE" "$t")
  [ -n "$pid" ] && perf_stop "$sys-cold-read"
  t=$(secs catfile "$file"); R[$sys.warm]=$(mbps "$SIZE" "$t")
  # Steady state: the best of the first re-read and two more (the first re-read also pays for
  # moving every page to the kernel's active list, 4 KiB at a time for FUSE mounts here).
  local best=${R[$sys.warm]} i r
  for i in 1 2; do
    t=$(secs catfile "$file"); r=$(mbps "$SIZE" "$t")
    best=$(awk -v a="$best" -v b="$r" 'BEGIN{print (b > a ? b : a)}')
  done
  R[$sys.warm3]=$best
  [ -n "$pid" ] && R[$sys.rss]=$(hwm_mb "$pid")
  echo "  $sys: fio 4 KiB random read" >&2
  drop; R[$sys.fio_cold]=$(fio_iops "$file" 1)
  cat "$file" > /dev/null; R[$sys.fio_warm]=$(fio_iops "$file" 0)
  echo "  $sys: find, du, tar over the tree" >&2
  drop; [ -n "$tpid" ] && perf_start "$tpid" "$sys-cold-find"
  R[$sys.find_cold]=$(secs do_find "$tree")
  [ -n "$tpid" ] && perf_stop "$sys-cold-find"
  R[$sys.find_warm]=$(secs do_find "$tree")
  drop; R[$sys.du_cold]=$(secs do_du "$tree"); R[$sys.du_warm]=$(secs do_du "$tree")
  drop; R[$sys.tar_cold]=$(secs do_tar "$tree"); R[$sys.tar_warm]=$(secs do_tar "$tree")
  [ -n "$pid" ] && R[$sys.rss_end]=$(hwm_mb "$pid")
  [ -n "$tpid" ] && R[$sys.rss_tree]=$(hwm_mb "$tpid")
  return 0
}

# --- native --------------------------------------------------------------------------------
echo "native" >&2
R[native.mount]="-"; R[native.ready]="-"
measure native "$BIG" "$W/tree"

# --- ark mount -----------------------------------------------------------------------------
echo "ark mount" >&2
MP_AB="$W/mnt/ark-big"; MP_AT="$W/mnt/ark-tree"; mkdir -p "$MP_AB" "$MP_AT"
MOUNTS+=("$MP_AB" "$MP_AT")
drop
t0=$(now)
(cd "$W/ark" && "$ARK" mount big "$MP_AB" --daemon)
R[ark.mount]=$(ms_since "$t0")           # `ark mount --daemon` returned
stat "$MP_AB" > /dev/null
R[ark.ready]=$(ms_since "$t0")           # ... and the mountpoint answers getattr
R[ark.ttfb]=$(first_byte "$MP_AB/big.bin")
(cd "$W/ark" && "$ARK" mount tree "$MP_AT" --daemon)
ARK_PID=$(mount_pid "$MP_AB")
# the file through the mount must be the file
if ! cmp -s "$BIG" "$MP_AB/big.bin"; then echo "bench-mount.sh: ark mount serves different bytes" >&2; exit 1; fi
ARK_PID2=$(mount_pid "$MP_AT")
# Again with only the ark binary and its libraries in the page cache (the store stays cold):
# how long ark's own work takes, without loading the Swift runtime from disk.
(cd "$W/ark" && "$ARK" unmount "$MP_AB"); drop; "$ARK" --version > /dev/null
t0=$(now)
(cd "$W/ark" && "$ARK" mount big "$MP_AB" --daemon)
stat "$MP_AB" > /dev/null
R[ark.ready_bin]=$(ms_since "$t0")
R[ark.ttfb_bin]=$(first_byte "$MP_AB/big.bin")
ARK_PID=$(mount_pid "$MP_AB")         # fresh process: its VmHWM covers only what follows
measure ark "$MP_AB/big.bin" "$MP_AT" "$ARK_PID" "$ARK_PID2"
(cd "$W/ark" && "$ARK" unmount "$MP_AB" && "$ARK" unmount "$MP_AT")

# --- borg mount ----------------------------------------------------------------------------
echo "borg mount" >&2
MP_BB="$W/mnt/borg-big"; MP_BT="$W/mnt/borg-tree"; mkdir -p "$MP_BB" "$MP_BT"
MOUNTS+=("$MP_BB" "$MP_BT")
drop
t0=$(now)
borg mount "::big" "$MP_BB"
R[borg.mount]=$(ms_since "$t0")
wait_for "$MP_BB/big/big.bin"
R[borg.ready]=$(ms_since "$t0")
R[borg.ttfb]=$(first_byte "$MP_BB/big/big.bin")
borg umount "$MP_BB"; drop; borg --version > /dev/null
t0=$(now)
borg mount "::big" "$MP_BB"
wait_for "$MP_BB/big/big.bin"
R[borg.ready_bin]=$(ms_since "$t0")
R[borg.ttfb_bin]=$(first_byte "$MP_BB/big/big.bin")
borg mount "::tree" "$MP_BT"; wait_for "$MP_BT/tree"
BORG_PID=$(mount_pid "$MP_BB"); BORG_PID2=$(mount_pid "$MP_BT")
measure borg "$MP_BB/big/big.bin" "$MP_BT/tree" "$BORG_PID" "$BORG_PID2"
borg umount "$MP_BB"; borg umount "$MP_BT"

# --- restic mount --------------------------------------------------------------------------
echo "restic mount" >&2
MP_RB="$W/mnt/restic-big"; MP_RT="$W/mnt/restic-tree"; mkdir -p "$MP_RB" "$MP_RT"
MOUNTS+=("$MP_RB" "$MP_RT")
drop
t0=$(now)
restic -r "$W/restic-big" mount "$MP_RB" > "$W/restic-big.log" 2>&1 &
BG_PIDS+=($!); RESTIC_PID=$!
R[restic.mount]="-"                     # runs in the foreground: no "returned" moment
wait_for "$MP_RB/snapshots/latest$W/big/big.bin"
R[restic.ready]=$(ms_since "$t0")
R[restic.ttfb]=$(first_byte "$MP_RB/snapshots/latest$W/big/big.bin")
restic -r "$W/restic-tree" mount "$MP_RT" > "$W/restic-tree.log" 2>&1 &
BG_PIDS+=($!); RESTIC_PID2=$!
wait_for "$MP_RT/snapshots/latest$W/tree"
measure restic "$MP_RB/snapshots/latest$W/big/big.bin" "$MP_RT/snapshots/latest$W/tree" "$RESTIC_PID" "$RESTIC_PID2"
kill -INT "$RESTIC_PID" "$RESTIC_PID2"; wait "$RESTIC_PID" "$RESTIC_PID2" 2>/dev/null || true

# --- FUSE ceiling ------------------------------------------------------------------------------
# The same sequential reads of a FUSE file whose server does no work at all (replies from memory,
# scripts/fuse-ceiling.c), mounted with ark's settings and read-ahead: what this kernel's FUSE
# path allows any FUSE filesystem on this machine, measured in the same run.
echo "FUSE ceiling" >&2
CEIL="$W/fuse-ceiling"
if cc -O2 -o "$CEIL" "$ROOT/scripts/fuse-ceiling.c" $(pkg-config --cflags --libs fuse3); then
  MP_C="$W/mnt/ceiling"; mkdir -p "$MP_C"; MOUNTS+=("$MP_C")
  "$CEIL" "$MP_C" "$SIZE" & BG_PIDS+=($!)
  wait_for "$MP_C/file"
  majmin=$(awk -v mp="$MP_C" '$5 == mp {print $3}' /proc/self/mountinfo)
  if [ -n "$majmin" ]; then echo 8192 > "/sys/class/bdi/$majmin/read_ahead_kb" || true; fi
  drop; t=$(secs catfile "$MP_C/file"); R[ceiling.cold]=$(mbps "$SIZE" "$t")
  t=$(secs catfile "$MP_C/file"); R[ceiling.warm]=$(mbps "$SIZE" "$t")
  best=${R[ceiling.warm]}
  for i in 1 2; do
    t=$(secs catfile "$MP_C/file"); r=$(mbps "$SIZE" "$t")
    best=$(awk -v a="$best" -v b="$r" 'BEGIN{print (b > a ? b : a)}')
  done
  R[ceiling.warm3]=$best
  fusermount3 -u "$MP_C"
else
  echo "bench-mount.sh: could not build scripts/fuse-ceiling.c; the FUSE ceiling column stays empty" >&2
fi

# --- report --------------------------------------------------------------------------------
OUT="$ROOT/.build/bench-mount-$(date -u +%Y%m%dT%H%M%SZ).md"
v() { echo "${R[$1]:--}"; }
{
  echo "## ark mount benchmark, $(date -u '+%Y-%m-%d %H:%M UTC')"
  echo
  echo "File ${SIZE_MB} MiB (random), tree $NFILES files / $(awk -v b="$TREE_BYTES" 'BEGIN{printf "%.1f", b/1048576}') MiB; $(nproc) cores, $(awk '/MemTotal/{printf "%.0f GiB", $2/1048576}' /proc/meminfo) RAM,"
  echo "$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), kernel $(uname -r); fio ${FIO_S} s, 1 job, psync, 4 KiB, --direct=0."
  echo "cold = \`sync; echo 3 > /proc/sys/vm/drop_caches\` right before (kernel caches only; the mount processes keep their own). $DROP_NOTE"
  echo "MB/s = 10^6 bytes/s. mount = until \`mount --daemon\` returned; ready = until the mountpoint (borg, restic: the file) answers;"
  echo "\"binary cached\": caches dropped, then \`ark --version\` / \`borg --version\` run once, so only the program is in the page cache."
  echo "first byte = open + read(1) of the big file right after mounting, timed inside one process. RSS = VmHWM of the mount process after the sequential reads."
  echo
  echo "| measure | native | ark mount | borg mount | restic mount | FUSE ceiling |"
  echo "|---|---:|---:|---:|---:|---:|"
  for m in cold:"seq read cold (MB/s)" warm:"seq read warm, first re-read (MB/s)" warm3:"seq read warm, best of 3 re-reads (MB/s)" fio_cold:"4 KiB random read cold (IOPS)" \
           fio_warm:"4 KiB random read warm (IOPS)" find_cold:"find \| wc -l cold (s)" find_warm:"find \| wc -l warm (s)" \
           du_cold:"du -s cold (s)" du_warm:"du -s warm (s)" tar_cold:"tar \| cat cold (s)" tar_warm:"tar \| cat warm (s)" \
           mount:"mount returned (ms)" ready:"mount ready, all caches dropped (ms)" ttfb:"first byte cold (ms)" \
           ready_bin:"mount ready, binary cached, store cold (ms)" ttfb_bin:"first byte cold, that mount (ms)" rss:"peak RSS after seq reads (MB)" \
           rss_end:"peak RSS of the file mount at the end (MB)" rss_tree:"peak RSS of the tree mount (MB)"; do
    k=${m%%:*}; label=${m#*:}
    echo "| $label | $(v native.$k) | $(v ark.$k) | $(v borg.$k) | $(v restic.$k) | $(v ceiling.$k) |"
  done
  echo
  echo "| target (issue 3) | measured | result |"
  echo "|---|---|---|"
  echo "| warm read >= 0.8x native warm | $(x "${R[ark.warm]}" "${R[native.warm]}")x | $(pf "${R[ark.warm]} >= 0.8 * ${R[native.warm]}") |"
  echo "| cold read >= 0.6x native cold | $(x "${R[ark.cold]}" "${R[native.cold]}")x | $(pf "${R[ark.cold]} >= 0.6 * ${R[native.cold]}") |"
  echo "| cold read >= 2x borg mount | $(x "${R[ark.cold]}" "${R[borg.cold]}")x | $(pf "${R[ark.cold]} >= 2 * ${R[borg.cold]}") |"
  echo "| cold random 4 KiB >= 10x borg mount | $(x "${R[ark.fio_cold]}" "${R[borg.fio_cold]}")x | $(pf "${R[ark.fio_cold]} >= 10 * ${R[borg.fio_cold]}") |"
  echo "| find <= 2x native cold | $(x "${R[ark.find_cold]}" "${R[native.find_cold]}")x | $(pf "${R[ark.find_cold]} <= 2 * ${R[native.find_cold]}") |"
  echo "| find <= 1.5x native warm | $(x "${R[ark.find_warm]}" "${R[native.find_warm]}")x | $(pf "${R[ark.find_warm]} <= 1.5 * ${R[native.find_warm]}") |"
  echo "| warm read >= 0.8x native warm, best of 3 | $(x "${R[ark.warm3]}" "${R[native.warm3]}")x | $(pf "${R[ark.warm3]} >= 0.8 * ${R[native.warm3]}") |"
  echo "| mount ready < 100 ms, all caches dropped | ${R[ark.ready]} ms | $(pf "${R[ark.ready]} < 100") |"
  echo "| mount ready < 100 ms, binary cached | ${R[ark.ready_bin]} ms | $(pf "${R[ark.ready_bin]} < 100") |"
  echo "| first byte < 2 ms | ${R[ark.ttfb]} ms, ${R[ark.ttfb_bin]} ms | $(pf "${R[ark.ttfb]} < 2 && ${R[ark.ttfb_bin]} < 2") |"
  echo "| peak RSS < 200 MB while streaming | ${R[ark.rss]} MB | $(pf "${R[ark.rss]} < 200") |"
  echo
  echo "FUSE ceiling: a FUSE file whose server does no work (scripts/fuse-ceiling.c), same settings, same run."
  echo
  echo "| bound on this machine | FUSE ceiling / native | ark / FUSE ceiling |"
  echo "|---|---|---|"
  echo "| seq read cold | $(x "$(v ceiling.cold)" "${R[native.cold]}")x | $(x "${R[ark.cold]}" "$(v ceiling.cold)")x |"
  echo "| seq read warm, first re-read | $(x "$(v ceiling.warm)" "${R[native.warm]}")x | $(x "${R[ark.warm]}" "$(v ceiling.warm)")x |"
  echo "| seq read warm, best of 3 | $(x "$(v ceiling.warm3)" "${R[native.warm3]}")x | $(x "${R[ark.warm3]}" "$(v ceiling.warm3)")x |"
} | tee "$OUT"
echo "results saved to $OUT" >&2
[ "${BENCH_PERF:-0}" = 1 ] && echo "perf reports in $PERF_DIR" >&2
exit 0
