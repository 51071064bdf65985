#!/usr/bin/env bash
# Benchmarks ark's core against b2sum, cat, borg and restic on the same data in one run, and
# prints a markdown table with pass/fail against the targets. See docs/benchmarks.md.
#
#   scripts/bench.sh            full run: 2 GiB file, 20,000-file tree, chunk-size study
#   scripts/bench.sh --quick    256 MiB file, 2,000 files, 32 MiB chunk study (a few minutes)
#
# Environment: BENCH_SIZE_MB, BENCH_FILES, CHUNKSTAT_MB override the sizes; BENCH_DIR picks the
# work directory (default: a new temp dir under /var/tmp, removed at the end unless BENCH_KEEP=1);
# BENCH_CHUNKSTAT=0 skips the chunk-size study; BENCH_ARK runs another ark binary.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)

QUICK=0
for a in "$@"; do
  case "$a" in
    --quick) QUICK=1 ;;
    *) echo "bench.sh: unknown argument '$a' (only --quick)" >&2; exit 2 ;;
  esac
done
if [ "$QUICK" = 1 ]; then
  SIZE_MB=${BENCH_SIZE_MB:-256}; NFILES=${BENCH_FILES:-2000}; CS_MB=${CHUNKSTAT_MB:-32}
else
  SIZE_MB=${BENCH_SIZE_MB:-2048}; NFILES=${BENCH_FILES:-20000}; CS_MB=${CHUNKSTAT_MB:-256}
fi

# --- dependencies and build ----------------------------------------------------------------
source scripts/deps.sh
BENCH_DEBS="borgbackup restic time coreutils python3 tar"
ark_install_debs $BENCH_DEBS
echo "building ark (release)..." >&2
swift build -c release >&2
BIN=$(swift build -c release --show-bin-path)
ARK=${BENCH_ARK:-$BIN/ark}   # BENCH_ARK: another ark binary (e.g. an older build for before/after)

# --- work directory (one disk for data and every repo) -------------------------------------
W=${BENCH_DIR:-$(mktemp -d -p /var/tmp ark-bench.XXXXXX)}
mkdir -p "$W"
cleanup() { [ "${BENCH_KEEP:-0}" = 1 ] || rm -rf "$W"; }
trap cleanup EXIT
echo "work dir: $W ($(df -h --output=source "$W" | tail -1))" >&2

export BORG_BASE_DIR="$W/borg-base" BORG_REPO="$W/borg" \
  BORG_UNKNOWN_UNENCRYPTED_REPO_ACCESS_IS_OK=yes BORG_RELOCATED_REPO_ACCESS_IS_OK=yes
export RESTIC_REPOSITORY="$W/restic" RESTIC_PASSWORD=bench RESTIC_CACHE_DIR="$W/restic-cache"
BORG_TREE="$W/borg-tree"; RESTIC_TREE="$W/restic-tree"

SIZE=$((SIZE_MB << 20))
echo "generating ${SIZE_MB} MiB incompressible file..." >&2
mkdir -p "$W/big"
head -c "$SIZE" /dev/urandom > "$W/big/big.bin"
echo "generating $NFILES small files from /usr/include and /usr/share..." >&2
python3 scripts/make-tree.py "$W/tree" "$NFILES"
TREE_BYTES=$(du -sb --apparent-size "$W/tree" | cut -f1)

# --- measurement helpers -------------------------------------------------------------------
ROWS="$W/rows.md"; : > "$ROWS"
LAST_S=0; LAST_RSS_KB=0
# run LABEL CMD... : times CMD (wall seconds) and its peak RSS; CMD's stdout goes to $RUN_OUT
# ($W/out, or /dev/null for the readers).
RUN_OUT="$W/out"
run() {
  local label=$1; shift
  echo "  $label" >&2
  local t0 t1
  t0=$(date +%s%N)
  /usr/bin/time -f %M -o "$W/rss" "$@" > "$RUN_OUT"
  t1=$(date +%s%N)
  LAST_S=$(awk -v a="$t0" -v b="$t1" 'BEGIN{printf "%.3f", (b-a)/1e9}')
  LAST_RSS_KB=$(tail -1 "$W/rss")
}
# Reads the files once through the page cache, the same way before every tool's run.
warm() { find "$@" -type f -exec cat {} + > /dev/null; }
size_of() { du -sb --apparent-size "$1" | cut -f1; }
mbps() { awk -v b="$1" -v s="$2" 'BEGIN{ if (s > 0) printf "%.0f", b/s/1e6; else print "-" }'; }
mib() { awk -v b="$1" 'BEGIN{printf "%.1f", b/1048576}'; }
# row STEP TOOL BYTES_PROCESSED STORE_BYTES NEW_BYTES
row() {
  local tp="-"; [ "$3" != "-" ] && tp=$(mbps "$3" "$LAST_S")
  local store="-"; [ "$4" != "-" ] && store=$(mib "$4")
  local new="-"; [ "$5" != "-" ] && new=$(mib "$5")
  printf '| %s | %s | %s | %s | %s | %s | %s |\n' "$1" "$2" "$LAST_S" "$tp" \
    "$(awk -v k="$LAST_RSS_KB" 'BEGIN{printf "%.0f", k/1024}')" "$store" "$new" >> "$ROWS"
}
declare -A T     # named results for the targets
ARK_MAX_RSS_KB=0
ark_rss() { [ "$LAST_RSS_KB" -gt "$ARK_MAX_RSS_KB" ] && ARK_MAX_RSS_KB=$LAST_RSS_KB; return 0; }
json_field() { python3 -c "import json,sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])" "$W/out" "$1"; }

mkdir -p "$W/ark-big" "$W/ark-tree"
BIG="$W/big/big.bin"

# --- 1. large file -------------------------------------------------------------------------
echo "large file (${SIZE_MB} MiB)" >&2
warm "$BIG"; warm "$BIG"
RUN_OUT=/dev/null run "cat" cat "$BIG"; row "read ${SIZE_MB} MiB file" "cat > /dev/null" "$SIZE" - -
T[cat]=$LAST_S
warm "$BIG"
run "b2sum" b2sum "$BIG"; row "read ${SIZE_MB} MiB file" "b2sum" "$SIZE" - -
T[b2sum]=$LAST_S
B2_REF=$(cut -d' ' -f1 "$W/out")
warm "$BIG"
run "dd conv=fsync" dd if="$BIG" of="$W/copy.bin" bs=8M conv=fsync status=none
row "copy ${SIZE_MB} MiB file to same disk + fsync" "dd (disk write reference)" "$SIZE" - -
rm -f "$W/copy.bin"

warm "$BIG"
run "ark commit" sh -c 'cd "$1" && exec "$2" commit "$3" --repo big --json' _ "$W/ark-big" "$ARK" "$W/big"
ark_rss; T[ark_commit]=$LAST_S
row "commit ${SIZE_MB} MiB file" "ark" "$SIZE" "$(size_of "$W/ark-big/data")" "$(json_field new_bytes_stored)"
ARK_BIG_STORE=$(size_of "$W/ark-big/data")

borg init --encryption none "$BORG_REPO" >&2
warm "$BIG"
run "borg create" borg create --compression lz4 "::big1" "$W/big"
BORG_BIG1=$(size_of "$BORG_REPO")
row "commit ${SIZE_MB} MiB file" "borg (lz4, no encryption)" "$SIZE" "$BORG_BIG1" "$BORG_BIG1"

restic init -q >&2
warm "$BIG"
run "restic backup" restic backup -q "$W/big"
RESTIC_BIG1=$(size_of "$RESTIC_REPOSITORY")
row "commit ${SIZE_MB} MiB file" "restic" "$SIZE" "$RESTIC_BIG1" "$RESTIC_BIG1"

# ark cat of the stored file; checked against b2sum once, outside the timing.
RUN_OUT=/dev/null run "ark cat" sh -c 'cd "$1" && exec "$2" cat big:big.bin' _ "$W/ark-big" "$ARK"
ark_rss; T[ark_cat]=$LAST_S
row "read stored ${SIZE_MB} MiB file" "ark cat > /dev/null" "$SIZE" - -
(cd "$W/ark-big" && "$ARK" cat big:big.bin) | b2sum | cut -d' ' -f1 > "$W/cat.b2"
if [ "$(cat "$W/cat.b2")" != "$B2_REF" ]; then echo "bench.sh: ark cat output differs from the file" >&2; exit 1; fi

# --- 2. 1 MiB inserted in the middle -------------------------------------------------------
echo "insert 1 MiB in the middle" >&2
HALF=$((SIZE / 2))
{ head -c "$HALF" "$BIG"; head -c $((1 << 20)) /dev/urandom; tail -c +$((HALF + 1)) "$BIG"; } > "$BIG.new"
mv "$BIG.new" "$BIG"
SIZE2=$((SIZE + (1 << 20)))
warm "$BIG"
run "ark commit (insert)" sh -c 'cd "$1" && exec "$2" commit "$3" --repo big --json' _ "$W/ark-big" "$ARK" "$W/big"
ark_rss; T[ark_insert_new]=$(json_field new_bytes_stored)
row "commit after 1 MiB insert" "ark" "$SIZE2" "$(size_of "$W/ark-big/data")" "${T[ark_insert_new]}"
warm "$BIG"
run "borg create (insert)" borg create --compression lz4 "::big2" "$W/big"
S=$(size_of "$BORG_REPO"); row "commit after 1 MiB insert" "borg" "$SIZE2" "$S" "$((S - BORG_BIG1))"
warm "$BIG"
run "restic backup (insert)" restic backup -q "$W/big"
S=$(size_of "$RESTIC_REPOSITORY"); row "commit after 1 MiB insert" "restic" "$SIZE2" "$S" "$((S - RESTIC_BIG1))"

# --- 3. small-file tree --------------------------------------------------------------------
echo "tree of $NFILES files ($(mib "$TREE_BYTES") MiB)" >&2
borg init --encryption none "$BORG_TREE" >&2
restic -r "$RESTIC_TREE" init -q >&2
warm "$W/tree"
run "ark commit tree" sh -c 'cd "$1" && exec "$2" commit "$3" --repo tree --json' _ "$W/ark-tree" "$ARK" "$W/tree"
ark_rss; T[ark_tree]=$LAST_S; T[ark_tree_store]=$(size_of "$W/ark-tree/data")
row "commit $NFILES-file tree" "ark" "$TREE_BYTES" "${T[ark_tree_store]}" "$(json_field new_bytes_stored)"
warm "$W/tree"
run "borg create tree" borg create --compression lz4 "$BORG_TREE::t1" "$W/tree"
T[borg_tree_store]=$(size_of "$BORG_TREE")
row "commit $NFILES-file tree" "borg" "$TREE_BYTES" "${T[borg_tree_store]}" "${T[borg_tree_store]}"
warm "$W/tree"
run "restic backup tree" restic -r "$RESTIC_TREE" backup -q "$W/tree"
T[restic_tree]=$LAST_S; S=$(size_of "$RESTIC_TREE")
row "commit $NFILES-file tree" "restic" "$TREE_BYTES" "$S" "$S"

echo "re-commit unchanged tree" >&2
warm "$W/tree"
A0=$(size_of "$W/ark-tree/data")
run "ark re-commit" sh -c 'cd "$1" && exec "$2" commit "$3" --repo tree --json' _ "$W/ark-tree" "$ARK" "$W/tree"
ark_rss; S=$(size_of "$W/ark-tree/data")
row "re-commit unchanged tree" "ark" "$TREE_BYTES" "$S" "$((S - A0))"
warm "$W/tree"
B0=$(size_of "$BORG_TREE")
run "borg re-create" borg create --compression lz4 "$BORG_TREE::t2" "$W/tree"
S=$(size_of "$BORG_TREE"); row "re-commit unchanged tree" "borg" "$TREE_BYTES" "$S" "$((S - B0))"
warm "$W/tree"
R0=$(size_of "$RESTIC_TREE")
run "restic re-backup" restic -r "$RESTIC_TREE" backup -q "$W/tree"
S=$(size_of "$RESTIC_TREE"); row "re-commit unchanged tree" "restic" "$TREE_BYTES" "$S" "$((S - R0))"

# --- report --------------------------------------------------------------------------------
pf() { if awk "BEGIN{exit !($1)}"; then echo pass; else echo FAIL; fi; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN{printf "%.0f%%", 100*b/a}'; }   # throughput ratio = t_ref / t
OUT="$ROOT/.build/bench-$(date -u +%Y%m%dT%H%M%SZ).md"
{
  echo "## ark benchmark, $(date -u '+%Y-%m-%d %H:%M UTC')"
  echo
  echo "File ${SIZE_MB} MiB (random), tree $NFILES files / $(mib "$TREE_BYTES") MiB; $(nproc) cores, $(awk '/MemTotal/{printf "%.0f GiB", $2/1048576}' /proc/meminfo) RAM,"
  echo "$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), kernel $(uname -r). Page cache warm for every tool (inputs read once with cat before each run)."
  echo "MB/s = 10^6 bytes per second of input; sizes in MiB (apparent size of the repo directory, caches excluded)."
  echo
  echo "| step | tool | time (s) | MB/s | peak RSS (MiB) | store size (MiB) | new bytes (MiB) |"
  echo "|---|---|---:|---:|---:|---:|---:|"
  cat "$ROWS"
  echo
  echo "| target | measured | result |"
  echo "|---|---|---|"
  echo "| ark commit of large file >= 60% of b2sum throughput | $(ratio "${T[ark_commit]}" "${T[b2sum]}") | $(pf "${T[b2sum]} / ${T[ark_commit]} >= 0.6") |"
  echo "| 1 MiB insertion adds < 4 MiB | $(mib "${T[ark_insert_new]}") MiB | $(pf "${T[ark_insert_new]} < 4194304") |"
  echo "| tree commit no slower than restic | ark ${T[ark_tree]} s, restic ${T[restic_tree]} s | $(pf "${T[ark_tree]} <= ${T[restic_tree]}") |"
  echo "| tree store no larger than borg | ark $(mib "${T[ark_tree_store]}") MiB, borg $(mib "${T[borg_tree_store]}") MiB | $(pf "${T[ark_tree_store]} <= ${T[borg_tree_store]}") |"
  echo "| ark cat >= 80% of b2sum throughput | $(ratio "${T[ark_cat]}" "${T[b2sum]}") | $(pf "${T[b2sum]} / ${T[ark_cat]} >= 0.8") |"
  echo "| peak RSS of every ark command < 200 MB | $(awk -v k="$ARK_MAX_RSS_KB" 'BEGIN{printf "%.0f MB", k*1024/1e6}') | $(pf "$ARK_MAX_RSS_KB * 1024 < 200000000") |"
} | tee "$OUT"

if [ "${BENCH_CHUNKSTAT:-1}" != 0 ]; then
  echo >&2; echo "chunk-size study (${CS_MB} MiB)" >&2
  CHUNKSTAT_MB=$CS_MB BENCH_DIR="$W" scripts/chunk-sizes.sh | tee -a "$OUT"
fi
echo "results saved to $OUT" >&2
