#!/usr/bin/env bash
# Issue 19's table: for trees of N small files (default 20,000, 200,000 and 1,000,000), the
# commit (wall time, peak RSS, store size, re-commit of the unchanged tree) of ark, restic and
# borg, and `find | wc -l` and `du -s` (cold and warm) through ark's mount of that commit, next
# to the same tree on disk (native) and squashfuse (`mksquashfs` of the same tree). One run,
# tools one after another, every commit and every cold walk from dropped caches. Prints a
# markdown table (also saved as $BENCH_DIR/table-<time>.md).
#
#   scripts/bench-million.sh [N ...]
#
# The tree: N files of 256 B to 2.2 KB of seeded random bytes in 97 x 53 directories (the
# generator of bench-mount-meta.sh). Trees are kept in BENCH_DIR and reused by later runs (a
# 1,000,000-file tree takes ~4.5 GB and minutes to write); stores and images are not.
# cold = a fresh mount and `sync; echo 3 > /proc/sys/vm/drop_caches` right before the command;
# warm = the same command again at once.
#
# Environment: BENCH_ARK (the ark binary; default the release build in .build-release),
# BENCH_DIR (work directory, default /var/tmp/ark-bench-million), BENCH_TOOLS (commit
# columns, default "ark restic borg"), BENCH_MOUNTS (walk columns; set but empty: none; default
# "native ark squashfuse"). Needs root (drop_caches, mounts).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
SIZES=("$@")
[ ${#SIZES[@]} = 0 ] && SIZES=(20000 200000 1000000)
[ "$(id -u)" = 0 ] || { echo "bench-million.sh: needs root (drop_caches, FUSE mounts)" >&2; exit 1; }
source scripts/deps.sh
ark_install_debs borgbackup restic time python3 squashfs-tools squashfuse fuse3
if [ -z "${BENCH_ARK:-}" ]; then
  echo "building ark (release)..." >&2
  swift build -c release --scratch-path .build-release --product ark >&2
  BENCH_ARK="$(swift build -c release --scratch-path .build-release --show-bin-path)/ark"
fi
ARK=$(readlink -f "$BENCH_ARK")
TOOLS=${BENCH_TOOLS:-ark restic borg}
MOUNTS=${BENCH_MOUNTS-native ark squashfuse}
W=${BENCH_DIR:-/var/tmp/ark-bench-million}
mkdir -p "$W/data"
MP="$W/mnt"
cleanup() {
  set +e
  if mountpoint -q "$MP" 2>/dev/null; then fusermount3 -u "$MP" 2>/dev/null || umount -l "$MP"; fi
  rm -rf "$W"/repo-* "$W"/store-* "$W"/sqfs-* "$W"/restic-cache
}
trap cleanup EXIT
trap 'exit 130' INT TERM
export BORG_UNKNOWN_UNENCRYPTED_REPO_ACCESS_IS_OK=yes BORG_RELOCATED_REPO_ACCESS_IS_OK=yes
export RESTIC_PASSWORD=bench ARK_AUTHOR="Bench <bench@example.org>"
echo "work dir: $W" >&2

drop() { sync; echo 3 > /proc/sys/vm/drop_caches; }
now() { date +%s%N; }
secs() { local t0; t0=$(now); "$@"; awk -v a="$t0" -v b="$(now)" 'BEGIN{printf "%.2f", (b-a)/1e9}'; }
size_of() { du -sb "$@" | awk '{s += $1} END {printf "%.0f", s/1e6}'; }
load() { cut -d' ' -f1-3 /proc/loadavg; }
# timed CMD...: from dropped caches; sets S (wall seconds) and RSS (peak MB)
timed() {
  drop
  /usr/bin/time -f '%e %M' -o "$W/time" "$@" > "$W/out" 2> "$W/err" || {
    local rc=$?; [ $rc = 4 ] || { echo "failed ($rc): $*" >&2; tail -5 "$W/err" >&2; exit 1; }; }
  read -r S RSS < "$W/time"; RSS=$(awk -v k="$RSS" 'BEGIN{printf "%.0f", k/1024}')
}
generate() { python3 "$ROOT/scripts/make-small-files.py" "$1" "$2"; }   # DIR N: the many-small-files tree

do_find() { (cd "$1" && find . | wc -l > /dev/null); }
do_du() { (cd "$1" && du -s . > /dev/null); }
# walk SYS TREE STORE: find and du, cold (fresh mount, dropped caches) and warm; sets WALK
walk() {
  local sys=$1 tree=$2 store=$3 op p out=""
  for op in find du; do
    p=$MP
    case $sys in
      native) p=$tree ;;
      ark) (cd "$store" && "$ARK" mount many "$MP" --daemon >&2) ;;
      squashfuse) squashfuse "$store" "$MP" ;;
    esac
    stat "$p" > /dev/null
    drop
    local c w; c=$(secs "do_$op" "$p"); w=$(secs "do_$op" "$p")
    case $sys in
      ark) (cd "$store" && "$ARK" unmount "$MP" >&2) ;;
      squashfuse) fusermount3 -u "$MP" ;;
    esac
    out="$out | $c | $w"
  done
  WALK=$out
}

OUT="$W/table-$(date -u +%Y%m%dT%H%M%SZ).md"
{
  echo "## files x (commit, walk through the mount), $(date -u '+%Y-%m-%d %H:%M UTC')"
  echo
  echo "$(nproc) cores, $(awk '/MemTotal/{printf "%.0f GiB", $2/1048576}' /proc/meminfo) RAM, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), kernel $(uname -r). ark: $ARK ($("$ARK" --version)); $(restic version | cut -d' ' -f1-2); $(borg --version); squashfuse $(squashfuse 2>&1 | head -1 | awk '{print $2}')."
  echo "Seconds and MB. Every commit from dropped caches; re-commit = the same command again on the unchanged tree, from dropped caches. Walks: cold = fresh mount + drop_caches, warm = at once again."
  echo
  echo "| files | system | commit (s) | peak RSS (MB) | store (MB) | re-commit (s, % of commit) | find cold | find warm | du cold | du warm | load avg |"
  echo "|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---|"
} > "$OUT"
mkdir -p "$MP"
for N in "${SIZES[@]}"; do
  T="$W/data/t$N"
  if [ ! -d "$T" ]; then
    echo "generating $N files..." >&2
    rm -rf "$T.tmp"; generate "$T.tmp" "$N"; mv "$T.tmp" "$T"
  fi
  for tool in $TOOLS; do
    R="$W/repo-$tool"; rm -rf "$R"; mkdir -p "$R"
    L0=$(load)
    echo "$tool: commit of $N files (load $L0)..." >&2
    case $tool in
      ark)
        timed sh -c 'cd "$1" && exec "$2" commit "$3" --repo many' _ "$R" "$ARK" "$T"
        S1=$S; RSS1=$RSS; STORE="$(size_of "$R/data") (index $(size_of "$R"/data/index.sqlite*))"
        timed sh -c 'cd "$1" && exec "$2" commit "$3" --repo many' _ "$R" "$ARK" "$T"
        S2=$S; RSS2=$RSS
        rm -rf "$W/store-ark"; mv "$R" "$W/store-ark"; NAME="ark" ;;
      restic)
        restic -r "$R" init -q >&2
        timed restic -r "$R" --cache-dir "$W/restic-cache" backup -q "$T"
        S1=$S; RSS1=$RSS; STORE=$(size_of "$R")
        timed restic -r "$R" --cache-dir "$W/restic-cache" backup -q "$T"
        S2=$S; RSS2=$RSS; rm -rf "$R" "$W/restic-cache"; NAME="restic" ;;
      borg)
        export BORG_BASE_DIR="$W/repo-borg-base"
        borg init --encryption none "$R/repo" >&2
        timed borg create --compression lz4 "$R/repo::a" "$T"
        S1=$S; RSS1=$RSS; STORE=$(size_of "$R/repo")
        timed borg create --compression lz4 "$R/repo::b" "$T"
        S2=$S; RSS2=$RSS; rm -rf "$R" "$BORG_BASE_DIR"; NAME="borg (lz4)" ;;
      *) echo "unknown tool '$tool'" >&2; exit 2 ;;
    esac
    PCT=$(awk -v a="$S2" -v b="$S1" 'BEGIN{printf "%.1f", 100*a/b}')
    WALK=" | | | |"
    if [ "$tool" = ark ] && [[ " $MOUNTS " == *" ark "* ]]; then
      echo "ark: walks of $N files..." >&2
      walk ark "$T" "$W/store-ark"
    fi
    echo "| $N | $NAME | $S1 | $RSS1 (re-commit $RSS2) | $STORE | $S2 ($PCT%)$WALK | $L0 -> $(load) |" | tee -a "$OUT" >&2
  done
  rm -rf "$W/store-ark"
  for sys in $MOUNTS; do
    [ "$sys" = ark ] && continue
    L0=$(load)
    echo "$sys: walks of $N files..." >&2
    if [ "$sys" = squashfuse ]; then
      SQ="$W/sqfs-$N.img"; rm -f "$SQ"
      S=$(secs sh -c 'mksquashfs "$1" "$2" -quiet -no-progress > /dev/null' _ "$T" "$SQ")
      walk squashfuse "$T" "$SQ"
      echo "| $N | squashfuse (mksquashfs $S s) | | | $(size_of "$SQ") | $WALK | $L0 -> $(load) |" | tee -a "$OUT" >&2
      rm -f "$SQ"
    else
      walk native "$T" ""
      echo "| $N | native (ext4) | | | $(size_of "$T") | $WALK | $L0 -> $(load) |" | tee -a "$OUT" >&2
    fi
  done
done
echo >&2
cat "$OUT"
echo "saved to $OUT" >&2
