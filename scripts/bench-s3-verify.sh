#!/usr/bin/env bash
# `ark verify` of a store whose packs are only in the bucket (local store rebuilt from the bucket
# by `ark repair index` before every run, so every chunk is a ranged read), for one or more ark
# binaries in the same run, on the server of scripts/s3-server.sh (OpenStack Swift with s3api
# on loopback). Prints a markdown table: seconds, MB/s, peak RSS.
#
#   ARKS="before=/tmp/ark-old after=.build/release/ark" scripts/bench-s3-verify.sh
#
# Environment: ARKS (label=binary pairs, default "ark=.build/release/ark"), BENCH_SIZE_MB (data
# committed, default 400), BENCH_RUNS (runs per binary, default 2), BENCH_DIR (work dir, default
# a temp dir under /var/tmp, removed unless BENCH_KEEP=1). Uses the server ARK_TEST_S3_ENDPOINT
# names, else starts scripts/s3-server.sh. Everything runs on loopback, LAN discovery off.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
ARKS=${ARKS:-"ark=$ROOT/.build/release/ark"}
SIZE_MB=${BENCH_SIZE_MB:-400}; RUNS=${BENCH_RUNS:-2}
if [ -z "${ARK_TEST_S3_ENDPOINT:-}" ]; then eval "$(scripts/s3-server.sh start)"; fi
W=${BENCH_DIR:-$(mktemp -d -p /var/tmp ark-bench-s3-verify.XXXXXX)}
trap '[ "${BENCH_KEEP:-0}" = 1 ] || rm -rf "$W"' EXIT
echo "work dir: $W" >&2
FIRST=$(readlink -f "$(echo "$ARKS" | awk '{print $1}' | cut -d= -f2-)")
cat > "$W/ark.toml" <<TOML
[store]
path = "data"
cache_limit = "16MiB"

[store.s3]
endpoint = "$ARK_TEST_S3_ENDPOINT"
bucket = "${ARK_TEST_S3_BUCKET:-ark-test}"
prefix = "bench-verify-$(date +%s)/"

[net]
discovery = false
TOML
mkdir -p "$W/src"
head -c $((SIZE_MB << 20)) /dev/urandom > "$W/src/big.bin"
(cd "$W" && ARK_AUTHOR="Bench <bench@example.org>" "$FIRST" commit src --repo bench > /dev/null)
cp "$W/data/node.key" "$W/node.key"
now() { date +%s%N; }
echo "| binary | run | verify (s) | MB/s | peak RSS (MB) |"
echo "|---|---|---|---|---|"
for pair in $ARKS; do
  label=${pair%%=*}; bin=$(readlink -f "${pair#*=}")
  for run in $(seq 1 "$RUNS"); do
    rm -rf "$W/data"; mkdir -p "$W/data"; cp "$W/node.key" "$W/data/node.key"; chmod 600 "$W/data/node.key"
    (cd "$W" && "$FIRST" repair index > /dev/null)
    t0=$(now)
    (cd "$W" && /usr/bin/time -f %M -o "$W/rss" "$bin" verify > "$W/verify.out")
    t=$(awk -v a="$t0" -v b="$(now)" 'BEGIN{printf "%.2f", (b-a)/1e9}')
    grep -q ": ok" "$W/verify.out" || { echo "verify failed: $(cat "$W/verify.out")" >&2; exit 1; }
    echo "| $label | $run | $t | $(awk -v s="$t" -v m="$SIZE_MB" 'BEGIN{printf "%.0f", m*1.048576/s}') | $(awk '{printf "%.0f", $1*1024/1e6}' "$W/rss") |"
  done
done
