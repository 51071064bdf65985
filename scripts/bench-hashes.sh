#!/usr/bin/env bash
# Per-core speed of the hashes and MACs libsodium offers for verifying stored bytes, over the
# same 512 KiB buffer in 16 KiB blocks (and whole for BLAKE2b), with b2sum as the baseline.
# Prints a markdown table. See docs/benchmarks-archive.md, "Session 3".
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/deps.sh
ark_install_debs gcc libsodium-dev coreutils
W=$(mktemp -d); trap 'rm -rf "$W"' EXIT
cat > "$W/h.c" <<'EOF'
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
static double now(void) { struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t); return t.tv_sec + t.tv_nsec / 1e9; }
#define RUN(name, blk, call) do { double a = now(); for (int i = 0; i < it; i++) for (size_t o = 0; o < n; o += blk) { call; } \
  printf("| %s | %zu KiB | %.0f |\n", name, (size_t)(blk) >> 10, n * (double)it / (now() - a) / 1e6); } while (0)
int main(void) {
    if (sodium_init() < 0) return 1;
    size_t n = 512 * 1024, b = 16384; int it = 2000;
    unsigned char *buf = malloc(n), h[32], k[32] = {1};
    randombytes_buf(buf, n);
    printf("| function | block | MB/s (one core) |\n|---|---:|---:|\n");
    RUN("BLAKE2b-256 (crypto_generichash)", n, crypto_generichash(h, 32, buf + o, n, NULL, 0));
    RUN("BLAKE2b-256 (crypto_generichash)", b, crypto_generichash(h, 32, buf + o, b, NULL, 0));
    RUN("SipHash-2-4-128 (crypto_shorthash_siphashx24)", b, crypto_shorthash_siphashx24(h, buf + o, b, k));
    RUN("Poly1305 (crypto_onetimeauth)", b, crypto_onetimeauth(h, buf + o, b, k));
    RUN("HMAC-SHA-256 (crypto_auth_hmacsha256)", b, crypto_auth_hmacsha256(h, buf + o, b, k));
    return 0;
}
EOF
gcc -O2 "$W/h.c" -o "$W/h" -lsodium
"$W/h"
head -c 1073741824 /dev/urandom > "$W/f"
cat "$W/f" > /dev/null
t0=$(date +%s%N); b2sum "$W/f" > /dev/null; t1=$(date +%s%N)
awk -v ns=$((t1 - t0)) 'BEGIN { printf "| b2sum (coreutils), 1 GiB file in page cache | - | %.0f |\n", 1073741824 / (ns / 1e9) / 1e6 }'
