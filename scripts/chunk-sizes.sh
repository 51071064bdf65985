#!/usr/bin/env bash
# Chunk-size study: runs ark-chunkstat for several FastCDC min/avg/max settings on a random
# file with 1 MiB inserted, the same file with 100 scattered edits, and a tar of /usr/include.
# CHUNKSTAT_MB sets the random file size (default 256); BENCH_DIR the work directory.
set -euo pipefail
cd "$(dirname "$0")/.."
MB=${CHUNKSTAT_MB:-256}
swift build -c release --product ark-chunkstat >&2
BIN=$(swift build -c release --show-bin-path)
W=${BENCH_DIR:-}
if [ -z "$W" ]; then W=$(mktemp -d -p /var/tmp ark-chunks.XXXXXX); trap 'rm -rf "$W"' EXIT; fi
tar -C /usr -cf "$W/usr-include.tar" include
echo
echo "### Chunk sizes ($(date -u '+%Y-%m-%d'), random file ${MB} MiB)"
echo
/usr/bin/time -f "ark-chunkstat: %e s, peak RSS %M KiB" "$BIN/ark-chunkstat" --mb "$MB" --tar "$W/usr-include.tar"
