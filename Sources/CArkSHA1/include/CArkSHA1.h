#ifndef CARK_SHA1_H
#define CARK_SHA1_H
#include <stddef.h>
#include <stdint.h>

/// SHA-1 (FIPS 180-4), for git object ids and pack trailers only: git names objects by it, so
/// ark must compute it; nothing in ark relies on it for security.
typedef struct {
    uint32_t state[5];
    uint64_t length;     // bytes hashed so far
    uint8_t buffer[64];  // a partial block
    size_t used;         // bytes in buffer
} ark_sha1_ctx;

void ark_sha1_init(ark_sha1_ctx *ctx);
void ark_sha1_update(ark_sha1_ctx *ctx, const void *data, size_t len);
void ark_sha1_final(ark_sha1_ctx *ctx, uint8_t digest[20]);

#endif
