#ifndef ARK_BLAKE2B_H
#define ARK_BLAKE2B_H
#include <stddef.h>
#include <stdint.h>

/// Unkeyed BLAKE2b (RFC 7693) with a 16-byte personalization (NULL: zeros) and a zero salt;
/// `outlen` 1...64. Same output as libsodium's crypto_generichash_blake2b_salt_personal.
void ark_blake2b(uint8_t *out, size_t outlen, const void *in, size_t inlen, const uint8_t *personal);

#endif
