#!/usr/bin/env bash
# Commit of very many small files (issue 19): wall time, peak RSS, store size and re-commit of
# an unchanged tree, for ark, an older ark binary, restic and borg, on the same generated tree.
# Every measured run starts from dropped caches. Prints a markdown table.
#
#   scripts/bench-many-files.sh [N ...]     default N: 20000 200000 (1000000 with BENCH_MILLION=1)
#
# The tree: N files of 256 B to 2.2 KB of random bytes (seeded, so the same N gives the same
# tree) in 97 x 53 directories. Environment: BENCH_ARK (the ark binary, default the release
# build), BENCH_ARK_BEFORE (an older binary for a before column; none if unset), BENCH_TOOLS
# (default "before ark restic borg"), BENCH_DIR (work dir, default a new temp dir under /var/tmp,
# removed unless BENCH_KEEP=1). Needs root (drop_caches).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
SIZES=("$@")
if [ ${#SIZES[@]} = 0 ]; then
  SIZES=(20000 200000); [ "${BENCH_MILLION:-0}" = 1 ] && SIZES+=(1000000)
fi
source scripts/deps.sh
ark_install_debs borgbackup restic time python3
if [ -z "${BENCH_ARK:-}" ]; then
  echo "building ark (release)..." >&2
  swift build -c release >&2
  BENCH_ARK=$(swift build -c release --show-bin-path)/ark
fi
ARK=$(readlink -f "$BENCH_ARK")
BEFORE=${BENCH_ARK_BEFORE:+$(readlink -f "$BENCH_ARK_BEFORE")}
TOOLS=${BENCH_TOOLS:-before ark restic borg}

W=${BENCH_DIR:-$(mktemp -d -p /var/tmp ark-many.XXXXXX)}
mkdir -p "$W"
cleanup() { [ "${BENCH_KEEP:-0}" = 1 ] || rm -rf "$W"; }
trap cleanup EXIT
echo "work dir: $W ($(df -h --output=source "$W" | tail -1))" >&2
export BORG_UNKNOWN_UNENCRYPTED_REPO_ACCESS_IS_OK=yes BORG_RELOCATED_REPO_ACCESS_IS_OK=yes
export RESTIC_PASSWORD=bench ARK_AUTHOR="Bench <bench@example.org>"

drop() { sync; echo 3 > /proc/sys/vm/drop_caches; }
size_of() { du -sb "$@" | awk '{s += $1} END {print s}'; }
mb() { awk -v b="$1" 'BEGIN{printf "%.0f", b/1e6}'; }
# timed CMD...: drops caches, runs CMD; sets S (wall seconds) and RSS (peak, MB)
timed() {
  drop
  /usr/bin/time -f '%e %M' -o "$W/time" "$@" > "$W/out" 2> "$W/err" || {
    local rc=$?; [ $rc = 4 ] || { echo "failed ($rc): $*" >&2; tail -5 "$W/err" >&2; exit 1; }; }
  read -r S RSS < "$W/time"; RSS=$(awk -v k="$RSS" 'BEGIN{printf "%.0f", k/1024}')
}

generate() {   # generate DIR N
  python3 - "$1" "$2" <<'EOF'
import os, random, sys
dest, n = sys.argv[1], int(sys.argv[2])
rng = random.Random(19)
for i in range(n):
    d = os.path.join(dest, "d%02d" % (i % 97), "e%02d" % ((i // 97) % 53))
    if i < 97 * 53: os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "f%07d.bin" % i), "wb") as f:
        f.write(rng.randbytes(rng.randint(256, 2253)))
EOF
}

ROWS="$W/rows"; : > "$ROWS"
for N in "${SIZES[@]}"; do
  T="$W/tree-$N"
  echo "generating $N files..." >&2
  generate "$T" "$N"
  DATA=$(size_of "$T")
  for tool in $TOOLS; do
    R="$W/repo-$tool-$N"; rm -rf "$R"; mkdir -p "$R"
    case $tool in
      ark|before)
        BIN=$ARK; [ $tool = before ] && { [ -n "$BEFORE" ] || continue; BIN=$BEFORE; }
        echo "$tool commit ($N)..." >&2
        timed sh -c 'cd "$1" && exec "$2" commit "$3" --repo many' _ "$R" "$BIN" "$T"
        S1=$S; RSS1=$RSS; STORE=$(size_of "$R/data")
        INDEX=$(size_of "$R"/data/index.sqlite*)
        timed sh -c 'cd "$1" && exec "$2" commit "$3" --repo many' _ "$R" "$BIN" "$T"
        S2=$S; RSS2=$RSS
        (cd "$R" && "$BIN" verify > /dev/null) || { echo "ark verify failed ($tool, $N)" >&2; exit 1; }
        NAME="ark"; [ $tool = before ] && NAME="ark before"
        STORE_TXT="$(mb "$STORE") (index $(mb "$INDEX"))" ;;
      restic)
        restic -r "$R" init -q >&2
        echo "restic backup ($N)..." >&2
        timed restic -r "$R" --cache-dir "$W/restic-cache-$N" backup -q "$T"
        S1=$S; RSS1=$RSS; STORE=$(size_of "$R")
        timed restic -r "$R" --cache-dir "$W/restic-cache-$N" backup -q "$T"
        S2=$S; RSS2=$RSS; NAME="restic $(restic version | awk '{print $2}')"; STORE_TXT=$(mb "$STORE") ;;
      borg)
        export BORG_BASE_DIR="$W/borg-base-$N"
        borg init --encryption none "$R/repo" >&2
        echo "borg create ($N)..." >&2
        timed borg create --compression lz4 "$R/repo::a" "$T"
        S1=$S; RSS1=$RSS; STORE=$(size_of "$R")
        timed borg create --compression lz4 "$R/repo::b" "$T"
        S2=$S; RSS2=$RSS; NAME="borg $(borg --version | awk '{print $2}') (lz4)"; STORE_TXT=$(mb "$STORE") ;;
      *) echo "unknown tool '$tool'" >&2; exit 2 ;;
    esac
    PCT=$(awk -v a="$S2" -v b="$S1" 'BEGIN{printf "%.1f", 100*a/b}')
    printf '| %s | %s | %s | %s | %s | %s (%s%%) | %s |\n' "$N" "$NAME" "$S1" "$RSS1" "$STORE_TXT" "$S2" "$PCT" "$RSS2" >> "$ROWS"
    rm -rf "$R"
  done
  rm -rf "$T"
done

echo
echo "files: N of 256 B to 2.2 KB random bytes in 97 x 53 directories; every run from dropped caches"
echo "ark: $ARK${BEFORE:+; before: $BEFORE}; $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)"
echo
echo "| files | tool | commit (s) | peak RSS (MB) | store (MB) | re-commit unchanged (s, % of commit) | re-commit RSS (MB) |"
echo "|---|---|---|---|---|---|---|"
cat "$ROWS"
