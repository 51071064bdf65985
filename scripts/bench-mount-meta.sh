#!/usr/bin/env bash
# Metadata through the mount (issue 19): `find | wc -l`, `du -s` and `ls -l` of a 50,000-entry
# directory, cold and warm, on generated trees of small files, against the original files
# (native) and squashfuse (`mksquashfs` of the same tree) in one run, and against a previous ark
# binary when BENCH_ARK_BASE names one. Prints a markdown table (saved under .build/).
#
#   scripts/bench-mount-meta.sh           trees of 20,000 and 200,000 files, a 50,000-entry dir
#   scripts/bench-mount-meta.sh --quick   2,000 files, a 5,000-entry dir
#
# Generator (scripts/make-small-files.py): files of 256 B to 2.2 KB (seeded random bytes)
# spread over 97 x 53 directories.
# cold = a fresh mount (new mount process, nothing cached inside it) and
# `sync; echo 3 > /proc/sys/vm/drop_caches` right before the command; warm = the same command
# again right after. Native has no mount: cold is drop_caches alone. One store serves both ark
# binaries (written by BENCH_ARK's commit; the store format is the same).
#
# Environment: BENCH_ARK (ark binary; default: a release build of this tree), BENCH_ARK_BASE
# (a previous ark binary, e.g. built from an older commit in another worktree), BENCH_META_FILES
# (tree sizes, default "20000 200000"), BENCH_FLAT (entries of the flat directory), BENCH_DIR
# (work directory, default a new temp dir under /var/tmp, removed unless BENCH_KEEP=1; data,
# store and images found there are reused), BENCH_PREPARE_ONLY=1 (make the data and stop).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)

QUICK=0
for a in "$@"; do
  case "$a" in
    --quick) QUICK=1 ;;
    *) echo "bench-mount-meta.sh: unknown argument '$a' (only --quick)" >&2; exit 2 ;;
  esac
done
if [ "$QUICK" = 1 ]; then
  SIZES=${BENCH_META_FILES:-2000}; FLAT=${BENCH_FLAT:-5000}
else
  SIZES=${BENCH_META_FILES:-"20000 200000"}; FLAT=${BENCH_FLAT:-50000}
fi
[ "$(id -u)" = 0 ] || { echo "bench-mount-meta.sh: needs root (drop_caches, FUSE mounts)" >&2; exit 1; }

source scripts/deps.sh
ark_install_debs squashfs-tools squashfuse fuse3 python3 coreutils util-linux
if [ -z "${BENCH_ARK:-}" ]; then
  echo "building ark (release, --static-swift-stdlib)..." >&2
  swift build -c release --static-swift-stdlib >&2
  BENCH_ARK="$(swift build -c release --static-swift-stdlib --show-bin-path)/ark"
fi
ARK=$BENCH_ARK
BASE=${BENCH_ARK_BASE:-}
SYSTEMS="native ark"
[ -n "$BASE" ] && SYSTEMS="$SYSTEMS base"
SYSTEMS="$SYSTEMS squashfuse"

W=${BENCH_DIR:-$(mktemp -d -p /var/tmp ark-bench-meta.XXXXXX)}
mkdir -p "$W"
MOUNTS=()
cleanup() {
  set +e
  for mp in "${MOUNTS[@]}"; do
    if mountpoint -q "$mp" 2>/dev/null; then fusermount3 -u "$mp" 2>/dev/null || umount -l "$mp" 2>/dev/null; fi
  done
  [ "${BENCH_KEEP:-0}" = 1 ] || rm -rf "$W"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
echo "work dir: $W" >&2

# --- data ------------------------------------------------------------------------------------
gen_tree() { python3 "$ROOT/scripts/make-small-files.py" "$1" "$2"; }   # DIR N: the many-small-files tree

gen_flat() {   # gen_flat DIR N: N files of 256..2200 bytes in one directory
  python3 - "$1" "$2" <<'EOF'
import os, random, sys
dest, n = sys.argv[1], int(sys.argv[2])
rng = random.Random(50)
os.makedirs(dest, exist_ok=True)
for i in range(n):
    with open(os.path.join(dest, "entry-%06d" % i), "wb") as f:
        f.write(rng.randbytes(rng.randint(256, 2200)))
EOF
}

now() { date +%s%N; }
drop() { sync; echo 3 > /proc/sys/vm/drop_caches; }
secs() { local t0; t0=$(now); "$@"; awk -v a="$t0" -v b="$(now)" 'BEGIN{printf "%.3f", (b-a)/1e9}'; }
x() { awk -v a="$1" -v b="$2" 'BEGIN{ if (a != "-" && b > 0) printf "%.2f", a/b; else print "-" }'; }
pf() { if awk "BEGIN{exit !($1)}"; then echo pass; else echo FAIL; fi; }
do_find() { (cd "$1" && find . | wc -l > /dev/null); }
do_du() { (cd "$1" && du -s . > /dev/null); }
do_ls() { (cd "$1" && ls -l > /dev/null); }
declare -A R

# mount_sys SYS NAME: mounts the data set NAME for SYS at $W/mnt/SYS-NAME; prints the path to measure
mount_sys() {
  local sys=$1 name=$2 mp="$W/mnt/$1-$2"
  case "$sys" in
    native) echo "$W/data/$name"; return 0 ;;
  esac
  mkdir -p "$mp"
  MOUNTS+=("$mp")
  case "$sys" in
    ark) (cd "$W/store" && "$ARK" mount "$name" "$mp" --daemon >&2) ;;
    base) (cd "$W/store" && "$BASE" mount "$name" "$mp" --daemon >&2) ;;
    squashfuse) squashfuse "$W/sqfs/$name.sqfs" "$mp" ;;
  esac
  echo "$mp"
}
unmount_sys() {
  local sys=$1 name=$2 mp="$W/mnt/$1-$2"
  case "$sys" in
    native) ;;
    ark) (cd "$W/store" && "$ARK" unmount "$mp" >&2) ;;
    base) (cd "$W/store" && "$ARK" unmount "$mp" >&2) ;;
    squashfuse) fusermount3 -u "$mp" ;;
  esac
}
# measure SYS NAME OP: cold (fresh mount, dropped caches) then warm, into R[SYS.NAME.OP.cold|warm]
measure() {
  local sys=$1 name=$2 op=$3 p
  p=$(mount_sys "$sys" "$name")
  stat "$p" > /dev/null
  drop
  R[$sys.$name.$op.cold]=$(secs "do_$op" "$p")
  R[$sys.$name.$op.warm]=$(secs "do_$op" "$p")
  unmount_sys "$sys" "$name"
  echo "  $sys $name $op: ${R[$sys.$name.$op.cold]} s cold, ${R[$sys.$name.$op.warm]} s warm" >&2
}

mkdir -p "$W/data" "$W/store" "$W/sqfs"
NAMES=""
# Data, store and images already in BENCH_DIR (from a run with BENCH_KEEP=1) are reused.
for n in $SIZES; do
  name="t$n"; NAMES="$NAMES $name"
  [ -d "$W/data/$name" ] && continue
  echo "generating $n files..." >&2
  gen_tree "$W/data/$name.tmp" "$n" && mv "$W/data/$name.tmp" "$W/data/$name"
done
if [ ! -d "$W/data/flat" ]; then
  echo "generating a $FLAT-entry directory..." >&2
  gen_flat "$W/data/flat.tmp/dir" "$FLAT" && mv "$W/data/flat.tmp" "$W/data/flat"
fi
for name in $NAMES flat; do
  [ -f "$W/sqfs/$name.sqfs" ] && continue
  echo "storing $name in ark and squashfs..." >&2
  (cd "$W/store" && "$ARK" commit "$W/data/$name" --repo "$name" >/dev/null)
  mksquashfs "$W/data/$name" "$W/sqfs/$name.sqfs.tmp" -quiet -no-progress >/dev/null
  mv "$W/sqfs/$name.sqfs.tmp" "$W/sqfs/$name.sqfs"
done
[ "${BENCH_PREPARE_ONLY:-0}" = 1 ] && { echo "data prepared in $W" >&2; exit 0; }

LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
for name in $NAMES; do
  for sys in $SYSTEMS; do
    measure "$sys" "$name" find
    measure "$sys" "$name" du
  done
done
for sys in $SYSTEMS; do
  R[$sys.flat.ls.cold]=-; R[$sys.flat.ls.warm]=-
  p=$(mount_sys "$sys" flat); stat "$p/dir" > /dev/null; drop
  R[$sys.flat.ls.cold]=$(secs do_ls "$p/dir"); R[$sys.flat.ls.warm]=$(secs do_ls "$p/dir")
  unmount_sys "$sys" flat
  echo "  $sys ls -l: ${R[$sys.flat.ls.cold]} s cold, ${R[$sys.flat.ls.warm]} s warm" >&2
done
LOAD_AFTER=$(cut -d' ' -f1-3 /proc/loadavg)

# --- report ----------------------------------------------------------------------------------
OUT="$ROOT/.build/bench-mount-meta-$(date -u +%Y%m%dT%H%M%SZ).md"
mkdir -p "$ROOT/.build"
v() { echo "${R[$1]:--}"; }
{
  echo "## mount metadata benchmark, $(date -u '+%Y-%m-%d %H:%M UTC')"
  echo
  echo "$(nproc) cores, $(awk '/MemTotal/{printf "%.0f GiB", $2/1048576}' /proc/meminfo) RAM, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), kernel $(uname -r);"
  echo "load average $LOAD_BEFORE before the measurements, $LOAD_AFTER after. ark: $("$ARK" --version 2>/dev/null | head -1)$( [ -n "$BASE" ] && echo "; base: $BASE" )."
  echo "Seconds. cold = fresh mount and \`sync; echo 3 > /proc/sys/vm/drop_caches\` right before; warm = repeated at once."
  echo
  printf "| measure |"; for sys in $SYSTEMS; do printf " %s |" "$sys"; done; echo
  printf "|---|"; for sys in $SYSTEMS; do printf -- "---:|"; done; echo
  for name in $NAMES; do
    for m in find.cold find.warm du.cold du.warm; do
      printf "| %s files: %s |" "${name#t}" "$m"; for sys in $SYSTEMS; do printf " %s |" "$(v "$sys.$name.$m")"; done; echo
    done
  done
  for m in ls.cold ls.warm; do
    printf "| ls -l of $FLAT entries: %s |" "${m#ls.}"; for sys in $SYSTEMS; do printf " %s |" "$(v "$sys.flat.$m")"; done; echo
  done
  echo
  echo "| target (issue 19) | measured | result |"
  echo "|---|---|---|"
  for name in $NAMES; do
    for op in find du; do
      a=$(v "ark.$name.$op.cold"); nat=$(v "native.$name.$op.cold"); sq=$(v "squashfuse.$name.$op.cold")
      echo "| ${name#t} files: $op cold <= 2x native | $(x "$a" "$nat")x | $(pf "$a <= 2 * $nat") |"
      echo "| ${name#t} files: $op cold <= squashfuse | $(x "$a" "$sq")x | $(pf "$a <= $sq") |"
    done
    a=$(v "ark.$name.find.warm"); nat=$(v "native.$name.find.warm")
    echo "| ${name#t} files: find warm <= 1.5x native | $(x "$a" "$nat")x | $(pf "$a <= 1.5 * $nat") |"
  done
  echo "| ls -l of $FLAT entries cold < 1 s | $(v ark.flat.ls.cold) s | $(pf "$(v ark.flat.ls.cold) < 1") |"
} | tee "$OUT"
echo "results saved to $OUT" >&2
