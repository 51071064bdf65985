// Why this shim exists: block tags are SipHash-2-4 (128-bit output, libsodium's
// crypto_shorthash_siphashx24) of every 16 KiB block of a chunk, and the blocks are
// independent. Hashing 8 blocks at once, one per 64-bit lane of an AVX-512 vector, needs
// intrinsics and per-function target attributes, which Swift cannot express. (An AVX2 path,
// 4 lanes with gathered loads and rotations by shifts, ran only 1.25x libsodium and was dropped.)
#ifndef C_ARK_SIPHASH_H
#define C_ARK_SIPHASH_H

#include <stddef.h>
#include <stdint.h>

/// The tags of consecutive `block`-byte blocks of `in` (`len` bytes; the last block may be
/// shorter), 16 bytes each, into `out` (16 * ceil(len / block) bytes). Block j of `in` is
/// block `first_index + j` of a chunk of `chunk_len` bytes, and its tag equals
/// crypto_shorthash_siphashx24(header || block bytes, key), where the 16-byte header is
/// first_index + j and chunk_len as little-endian 64-bit words: a block moved to another
/// position, or read as part of a chunk of another length, does not verify. The header costs
/// two SipHash compressions per block (2050 instead of 2048 for a 16 KiB block). Uses
/// AVX-512 where this CPU has it.
void ark_block_tags(const uint8_t *in, size_t len, size_t block, const uint8_t key[16],
                    uint64_t first_index, uint64_t chunk_len, uint8_t *out);

/// How many blocks `ark_block_tags` hashes at once on this CPU (8 or 1).
int ark_siphashx24_lanes(void);

/// The same with at most `lanes` lanes (1 or 8, capped at what the CPU has), for tests
/// that compare every path against the one-block reference.
void ark_block_tags_lanes(const uint8_t *in, size_t len, size_t block, const uint8_t key[16],
                          uint64_t first_index, uint64_t chunk_len, uint8_t *out, int lanes);

#endif
