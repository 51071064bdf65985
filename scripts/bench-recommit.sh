#!/usr/bin/env bash
# Re-commit of an unchanged tree of small files (issue 19: under 5% of the first commit), old
# binary against new, alternating: for each binary a first commit into a store of its own,
# then ROUNDS rounds of (cold re-commit, warm re-commit) per binary, binaries alternating
# within a round so both see the same minute's load. Next to it, `du -s` of the tree from
# dropped caches (a native walk that lstat()s every entry on one thread). Prints a markdown
# table: every run, the median, and the median as a share of the binary's first commit.
#
#   scripts/bench-recommit.sh [TREE]
#
# TREE: a directory to commit (only read; default: a generated tree of BENCH_FILES files,
# default 200,000, of 256 B to 2.2 KB in 97 x 53 directories, scripts/make-small-files.py).
# cold = `sync; echo 3 > /proc/sys/vm/drop_caches` right before the command; warm = the same
# command again at once. Environment: BENCH_ARK (the new binary; default the release build),
# BENCH_ARK_BEFORE (the old binary; no before rows if unset), BENCH_ROUNDS (default 3),
# BENCH_DIR (work dir for the stores, default a new temp dir under /var/tmp, removed at the
# end). Needs root (drop_caches).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
[ "$(id -u)" = 0 ] || { echo "bench-recommit.sh: needs root (drop_caches)" >&2; exit 1; }
source scripts/deps.sh
ark_install_debs time python3
if [ -z "${BENCH_ARK:-}" ]; then
  echo "building ark (release)..." >&2
  swift build -c release --product ark >&2
  BENCH_ARK="$(swift build -c release --show-bin-path)/ark"
fi
ARK=$(readlink -f "$BENCH_ARK")
BEFORE=${BENCH_ARK_BEFORE:+$(readlink -f "$BENCH_ARK_BEFORE")}
ROUNDS=${BENCH_ROUNDS:-3}
W=${BENCH_DIR:-$(mktemp -d -p /var/tmp ark-recommit.XXXXXX)}
mkdir -p "$W"
trap 'rm -rf "$W"' EXIT
trap 'exit 130' INT TERM
export ARK_AUTHOR="Bench <bench@example.org>"
TREE=${1:-}
if [ -z "$TREE" ]; then
  TREE="$W/tree"; echo "generating ${BENCH_FILES:-200000} files..." >&2
  python3 "$ROOT/scripts/make-small-files.py" "$TREE" "${BENCH_FILES:-200000}"
fi
TREE=$(readlink -f "$TREE")
FILES=$(find "$TREE" -type f | wc -l)

drop() { sync; echo 3 > /proc/sys/vm/drop_caches; }
load() { cut -d' ' -f1 /proc/loadavg; }
# run NAME: one commit of TREE into NAME's store; prints wall seconds
run() {
  local bin=$ARK; [ "$1" = before ] && bin=$BEFORE
  (cd "$W/store-$1" && /usr/bin/time -f '%e' -o "$W/time" "$bin" commit "$TREE" --repo many > /dev/null 2> "$W/err") || {
    echo "commit failed ($1):" >&2; tail -5 "$W/err" >&2; exit 1; }
  cat "$W/time"
}
median() { tr ' ' '\n' | grep . | sort -g | awk '{v[NR]=$1} END {printf "%.2f\n", (NR % 2) ? v[(NR+1)/2] : (v[NR/2]+v[NR/2+1])/2}'; }

NAMES="after"; [ -n "$BEFORE" ] && NAMES="before after"
declare -A FIRST COLD WARM TREEID
for n in $NAMES; do
  mkdir -p "$W/store-$n"
  L=$(load); drop; FIRST[$n]=$(run "$n")
  echo "$n: first commit ${FIRST[$n]} s (load $L)" >&2
  COLD[$n]=""; WARM[$n]=""
done
DU=""; LOADS=""
for r in $(seq "$ROUNDS"); do
  LOADS="$LOADS $(load)"
  for n in $NAMES; do
    drop; c=$(run "$n"); w=$(run "$n")
    COLD[$n]="${COLD[$n]} $c"; WARM[$n]="${WARM[$n]} $w"
    echo "round $r, $n: cold $c s, warm $w s (load $(load))" >&2
  done
  drop; t0=$(date +%s%N); du -s "$TREE" > /dev/null; DU="$DU $(awk -v a="$t0" -v b="$(date +%s%N)" 'BEGIN{printf "%.2f", (b-a)/1e9}')"
done
# The same tree id from both binaries (the head's tree).
for n in $NAMES; do
  TREEID[$n]=$(cd "$W/store-$n" && "$ARK" log --repo many -n 1 --json | python3 -c 'import json, sys; print(json.load(sys.stdin)[0]["tree"])')
done
if [ -n "$BEFORE" ] && [ "${TREEID[before]}" != "${TREEID[after]}" ]; then
  echo "tree ids differ: before ${TREEID[before]}, after ${TREEID[after]}" >&2; exit 1
fi

echo
echo "re-commit of $FILES unchanged files ($TREE), $(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) cores, load avg over the rounds:$LOADS"
echo "ark: $ARK${BEFORE:+; before: $BEFORE}; tree ${TREEID[after]}${BEFORE:+ from both}. Seconds; cold = from dropped caches; median as % of the first commit."
echo
echo "| binary | first commit | cold re-commit (each) | cold median (%) | warm re-commit (each) | warm median (%) |"
echo "|---|---:|---|---:|---|---:|"
for n in $NAMES; do
  cm=$(echo "${COLD[$n]}" | median); wm=$(echo "${WARM[$n]}" | median)
  cp=$(awk -v a="$cm" -v b="${FIRST[$n]}" 'BEGIN{printf "%.1f", 100*a/b}')
  wp=$(awk -v a="$wm" -v b="${FIRST[$n]}" 'BEGIN{printf "%.1f", 100*a/b}')
  echo "| $n | ${FIRST[$n]} | ${COLD[$n]# } | $cm ($cp%) | ${WARM[$n]# } | $wm ($wp%) |"
done
echo "| native \`du -s\` | | ${DU# } | $(echo "$DU" | median) | | |"
