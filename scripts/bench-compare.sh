#!/usr/bin/env bash
# Before/after comparison of two ark binaries on the same data, alternated in one run, for the
# figures a change to the core, the mount or sync must not make worse:
#   core:  commit of a 20,000-file tree, its re-commit, commit of a large file, `ark cat` of it
#   mount: `find | wc -l`, `du -s`, `tar | cat` over the tree (cold and warm), cold read of the file
#   sync:  full replication of the file and of the tree to an empty node on loopback
# Prints a markdown table: the median of the rounds for each binary and after/before.
#
#   scripts/bench-compare.sh OLD_ARK NEW_ARK
#
# Environment: BENCH_ROUNDS (default 3), BENCH_SIZE_MB (default 2048), BENCH_FILES (default
# 20000), BENCH_DIR (work dir, default a temp dir under /var/tmp, removed unless BENCH_KEEP=1).
# Needs root (drop_caches, FUSE, a network namespace). The whole run is inside a network
# namespace of its own with only loopback up: an older binary has no `[net] discovery` setting,
# so its LAN discovery packets stay in that namespace.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
[ $# = 2 ] || { echo "usage: scripts/bench-compare.sh OLD_ARK NEW_ARK" >&2; exit 2; }
if [ -z "${ARK_BENCH_NETNS:-}" ]; then
  exec env ARK_BENCH_NETNS=1 unshare --net sh -c 'ip link set lo up && exec "$0" "$@"' "$0" "$@"
fi
OLD=$(readlink -f "$1"); NEW=$(readlink -f "$2")
for b in "$OLD" "$NEW"; do [ -x "$b" ] || { echo "bench-compare.sh: '$b' is not an executable" >&2; exit 2; }; done
ROUNDS=${BENCH_ROUNDS:-3}; SIZE_MB=${BENCH_SIZE_MB:-2048}; NFILES=${BENCH_FILES:-20000}
source scripts/deps.sh
ark_install_debs fuse3 python3 coreutils tar util-linux procps
PROBE="python3 $ROOT/scripts/bench-sync-probe.py"

W=${BENCH_DIR:-$(mktemp -d -p /var/tmp ark-bench-compare.XXXXXX)}
mkdir -p "$W"
PIDS=(); MOUNTS=()
cleanup() {
  local m p
  for m in "${MOUNTS[@]}"; do fusermount3 -u -z "$m" 2>/dev/null || true; done
  for p in "${PIDS[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  [ "${BENCH_KEEP:-0}" = 1 ] || rm -rf "$W"
}
trap cleanup EXIT
echo "work dir: $W" >&2

now() { date +%s%N; }
secs() { awk -v a="$1" -v b="$(now)" 'BEGIN{printf "%.3f", (b-a)/1e9}'; }
drop() { sync; echo 3 > /proc/sys/vm/drop_caches; }
timed() { local t0; t0=$(now); "$@" > /dev/null; secs "$t0"; }   # wall seconds of CMD
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_listening() { local i; for i in $(seq 1 2000); do [ -s "$1/data/listen_addr" ] && return 0; sleep 0.005; done; return 1; }

# --- data: the tree generator of scripts/bench.sh, and an incompressible file ------------------
echo "generating ${SIZE_MB} MiB file and $NFILES files..." >&2
mkdir -p "$W/big"; head -c $((SIZE_MB << 20)) /dev/urandom > "$W/big/big.bin"
python3 scripts/make-tree.py "$W/tree" "$NFILES"
warm() { find "$@" -type f -exec cat {} + > /dev/null; }

declare -A R   # R[<figure>.<old|new>] = space-separated values, one per round
add() { R[$1.$2]="${R[$1.$2]:-} $3"; }

# one_round TAG ARK: every figure once for one binary, in fresh stores
one_round() {
  local tag=$1 ARK=$2 s="$W/$1" mp t0
  rm -rf "$s" "$W/$tag-b"; mkdir -p "$s" "$W/$tag-b"
  warm "$W/tree"; warm "$W/big"
  add commit_tree "$tag" "$(cd "$s" && timed "$ARK" commit "$W/tree" --repo tree -m tree)"
  add recommit_tree "$tag" "$(cd "$s" && timed "$ARK" commit "$W/tree" --repo tree -m again)"
  add commit_big "$tag" "$(cd "$s" && timed "$ARK" commit "$W/big" --repo big -m big)"
  drop
  add cat_big "$tag" "$(cd "$s" && timed sh -c "'$ARK' cat big:big.bin | cat > /dev/null")"
  # mount
  mp="$W/mnt-$tag"; mkdir -p "$mp"; MOUNTS+=("$mp")
  (cd "$s" && "$ARK" mount tree "$mp" --daemon)
  drop; add find_cold "$tag" "$(timed sh -c "find '$mp' | wc -l")"
  add find_warm "$tag" "$(timed sh -c "find '$mp' | wc -l")"
  drop; add du_cold "$tag" "$(timed du -s "$mp")"
  drop; add tar_cold "$tag" "$(timed sh -c "tar cf - -C '$mp' . | cat > /dev/null")"
  add tar_warm "$tag" "$(timed sh -c "tar cf - -C '$mp' . | cat > /dev/null")"
  (cd "$s" && "$ARK" unmount "$mp")
  (cd "$s" && "$ARK" mount big "$mp" --daemon)
  drop; add read_big_cold "$tag" "$(timed cat "$mp/big.bin")"
  (cd "$s" && "$ARK" unmount "$mp")
  # sync: node B (empty) replicates both repos from A in full
  local aid bid pa pb apid bpid r
  aid=$(cd "$s" && "$ARK" id); bid=$(cd "$W/$tag-b" && "$ARK" id)
  pa=$(free_port); pb=$(free_port)
  for r in "$s $pa $bid $pb" "$W/$tag-b $pb $aid $pa"; do
    set -- $r
    { echo "[net]"; echo "listen = \"127.0.0.1:$2\""
      for repo in tree big; do
        echo; echo "[[repos]]"; echo "id = \"$repo\""; echo "fetch = \"full\""
        echo "remotes = [ { name = \"peer\", node_id = \"$3\", addrs = [\"127.0.0.1:$4\"] } ]"
      done; } > "$1/ark.toml"
  done
  (cd "$s" && exec "$ARK" run > "$s/run.log" 2>&1) & apid=$!; PIDS+=("$apid")
  wait_listening "$s"
  drop
  t0=$(now)
  (cd "$W/$tag-b" && exec "$ARK" run > "$W/$tag-b/run.log" 2>&1) & bpid=$!; PIDS+=("$bpid")
  local tree_ms big_ms
  tree_ms=$($PROBE replicated "$W/$tag-b/data/index.sqlite" tree "$t0" 600) || tree_ms=-
  big_ms=$($PROBE replicated "$W/$tag-b/data/index.sqlite" big "$t0" 600) || big_ms=-
  add sync_tree "$tag" "$(awk -v m="$tree_ms" 'BEGIN{ if (m ~ /^[0-9.]+$/) printf "%.3f", m/1000; else print "-" }')"
  add sync_all "$tag" "$(awk -v m="$big_ms" 'BEGIN{ if (m ~ /^[0-9.]+$/) printf "%.3f", m/1000; else print "-" }')"
  kill -TERM "$bpid" "$apid" 2>/dev/null || true; wait "$bpid" "$apid" 2>/dev/null || true
  rm -rf "$s" "$W/$tag-b"
}

LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)
for r in $(seq 1 "$ROUNDS"); do
  if [ $((r % 2)) = 1 ]; then order="old new"; else order="new old"; fi
  for tag in $order; do
    echo "round $r: $tag" >&2
    if [ "$tag" = old ]; then one_round old "$OLD"; else one_round new "$NEW"; fi
  done
done
LOAD_END=$(cut -d' ' -f1-3 /proc/loadavg)

median() { tr ' ' '\n' | grep -E '^[0-9.]+$' | sort -g | awk '{v[NR]=$1} END{ if (NR == 0) print "-"; else if (NR % 2) print v[(NR+1)/2]; else printf "%.3f", (v[NR/2]+v[NR/2+1])/2 }'; }
echo
echo "Before: \`$OLD\` ($("$OLD" --version 2>/dev/null | head -1)); after: \`$NEW\` ($("$NEW" --version 2>/dev/null | head -1))."
echo "$ROUNDS rounds alternated (odd rounds before first), median of the rounds; ${SIZE_MB} MiB file, $NFILES-file tree ($(du -sh --apparent-size "$W/tree" | cut -f1)). cold = caches dropped just before. Load average at start $LOAD_START, at end $LOAD_END."
echo
echo "| figure (seconds) | before | after | after / before | rounds before | rounds after |"
echo "|---|---|---|---|---|---|"
for f in commit_tree recommit_tree commit_big cat_big find_cold find_warm du_cold tar_cold tar_warm read_big_cold sync_tree sync_all; do
  o=$(echo "${R[$f.old]:-}" | median); n=$(echo "${R[$f.new]:-}" | median)
  ratio=$(awk -v a="$o" -v b="$n" 'BEGIN{ if (a > 0 && b ~ /^[0-9.]+$/) printf "%.2f", b/a; else print "-" }')
  echo "| $f | $o | $n | $ratio |${R[$f.old]:-} |${R[$f.new]:-} |"
done
