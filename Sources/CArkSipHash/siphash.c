#include "CArkSipHash.h"
#include <string.h>
#if defined(__x86_64__)
#include <immintrin.h>
#endif

static inline uint64_t load64(const uint8_t *p) { uint64_t v; memcpy(&v, p, 8); return v; } /* little-endian hosts only */
static inline void store64(uint8_t *p, uint64_t v) { memcpy(p, &v, 8); }
static inline uint64_t rotl(uint64_t x, int b) { return (x << b) | (x >> (64 - b)); }

#define SIPROUND(ADD, XOR, ROT)                                                    \
    do {                                                                           \
        v0 = ADD(v0, v1); v1 = ROT(v1, 13); v1 = XOR(v1, v0); v0 = ROT(v0, 32);    \
        v2 = ADD(v2, v3); v3 = ROT(v3, 16); v3 = XOR(v3, v2);                      \
        v0 = ADD(v0, v3); v3 = ROT(v3, 21); v3 = XOR(v3, v0);                      \
        v2 = ADD(v2, v1); v1 = ROT(v1, 17); v1 = XOR(v1, v2); v2 = ROT(v2, 32);    \
    } while (0)

#define S_ADD(a, b) ((a) + (b))
#define S_XOR(a, b) ((a) ^ (b))

/* The header before each block's bytes: its index and the chunk's length. */
#define ARK_BLOCK_HEADER 16

/* The last word: the length in the top byte, the bytes after the last full word below
   (`len & 7` of them; the 16-byte header does not change that count). */
static uint64_t final_word(const uint8_t *tail, size_t len) {
    uint64_t b = (uint64_t)len << 56;
    for (size_t i = 0; i < (len & 7); i++) b |= (uint64_t)tail[i] << (8 * i);
    return b;
}

/* SipHash-2-4-128 of the 16-byte header (index, chunk_len as little-endian words) followed
   by the `len` bytes of `in`. */
static void one(const uint8_t *in, size_t len, const uint8_t *key, uint64_t index, uint64_t chunk_len, uint8_t *out) {
    uint64_t k0 = load64(key), k1 = load64(key + 8);
    uint64_t v0 = 0x736f6d6570736575ULL ^ k0, v1 = 0x646f72616e646f83ULL ^ k1;
    uint64_t v2 = 0x6c7967656e657261ULL ^ k0, v3 = 0x7465646279746573ULL ^ k1;
    uint64_t header[2] = { index, chunk_len };
    for (int h = 0; h < 2; h++) {
        v3 ^= header[h];
        SIPROUND(S_ADD, S_XOR, rotl); SIPROUND(S_ADD, S_XOR, rotl);
        v0 ^= header[h];
    }
    size_t words = len / 8;
    for (size_t i = 0; i < words; i++) {
        uint64_t m = load64(in + 8 * i);
        v3 ^= m;
        SIPROUND(S_ADD, S_XOR, rotl); SIPROUND(S_ADD, S_XOR, rotl);
        v0 ^= m;
    }
    uint64_t b = final_word(in + 8 * words, len + ARK_BLOCK_HEADER);
    v3 ^= b;
    SIPROUND(S_ADD, S_XOR, rotl); SIPROUND(S_ADD, S_XOR, rotl);
    v0 ^= b;
    v2 ^= 0xee;
    for (int r = 0; r < 4; r++) SIPROUND(S_ADD, S_XOR, rotl);
    store64(out, v0 ^ v1 ^ v2 ^ v3);
    v1 ^= 0xdd;
    for (int r = 0; r < 4; r++) SIPROUND(S_ADD, S_XOR, rotl);
    store64(out + 8, v0 ^ v1 ^ v2 ^ v3);
}

#if defined(__x86_64__)
/* 8 blocks of `len` bytes at in + j * stride, one per 64-bit lane; block j has index
   `index + j`. */
#define Z_ADD(a, b) _mm512_add_epi64(a, b)
#define Z_XOR(a, b) _mm512_xor_si512(a, b)
#define Z_ROT(a, b) _mm512_rol_epi64(a, b)
__attribute__((target("avx512f")))
static void x8(const uint8_t *in, size_t stride, size_t len, const uint8_t *key, uint64_t index, uint64_t chunk_len, uint8_t *out) {
    uint64_t k0 = load64(key), k1 = load64(key + 8);
    __m512i v0 = _mm512_set1_epi64((long long)(0x736f6d6570736575ULL ^ k0));
    __m512i v1 = _mm512_set1_epi64((long long)(0x646f72616e646f83ULL ^ k1));
    __m512i v2 = _mm512_set1_epi64((long long)(0x6c7967656e657261ULL ^ k0));
    __m512i v3 = _mm512_set1_epi64((long long)(0x7465646279746573ULL ^ k1));
    long long s = (long long)stride;
    __m512i idx = _mm512_set_epi64(7 * s, 6 * s, 5 * s, 4 * s, 3 * s, 2 * s, s, 0);
    /* The header: two words per lane, outside the per-byte loop. */
    __m512i h0 = _mm512_add_epi64(_mm512_set1_epi64((long long)index), _mm512_set_epi64(7, 6, 5, 4, 3, 2, 1, 0));
    __m512i h1 = _mm512_set1_epi64((long long)chunk_len);
    v3 = Z_XOR(v3, h0); SIPROUND(Z_ADD, Z_XOR, Z_ROT); SIPROUND(Z_ADD, Z_XOR, Z_ROT); v0 = Z_XOR(v0, h0);
    v3 = Z_XOR(v3, h1); SIPROUND(Z_ADD, Z_XOR, Z_ROT); SIPROUND(Z_ADD, Z_XOR, Z_ROT); v0 = Z_XOR(v0, h1);
    size_t words = len / 8, i = 0;
    /* 64 bytes of each block per step, transposed so that vector k holds word k of every
       block (three shuffle stages), instead of one gather per word. */
    for (; i + 8 <= words; i += 8) {
        __m512i r[8], a[8], b[8], c[8];
        for (int j = 0; j < 8; j++) r[j] = _mm512_loadu_si512((const void *)(in + j * stride + 8 * i));
        for (int j = 0; j < 8; j += 2) { a[j] = _mm512_unpacklo_epi64(r[j], r[j + 1]); a[j + 1] = _mm512_unpackhi_epi64(r[j], r[j + 1]); }
        b[0] = _mm512_shuffle_i64x2(a[0], a[2], 0x88); b[1] = _mm512_shuffle_i64x2(a[0], a[2], 0xDD);
        b[2] = _mm512_shuffle_i64x2(a[1], a[3], 0x88); b[3] = _mm512_shuffle_i64x2(a[1], a[3], 0xDD);
        b[4] = _mm512_shuffle_i64x2(a[4], a[6], 0x88); b[5] = _mm512_shuffle_i64x2(a[4], a[6], 0xDD);
        b[6] = _mm512_shuffle_i64x2(a[5], a[7], 0x88); b[7] = _mm512_shuffle_i64x2(a[5], a[7], 0xDD);
        c[0] = _mm512_shuffle_i64x2(b[0], b[4], 0x88); c[4] = _mm512_shuffle_i64x2(b[0], b[4], 0xDD);
        c[2] = _mm512_shuffle_i64x2(b[1], b[5], 0x88); c[6] = _mm512_shuffle_i64x2(b[1], b[5], 0xDD);
        c[1] = _mm512_shuffle_i64x2(b[2], b[6], 0x88); c[5] = _mm512_shuffle_i64x2(b[2], b[6], 0xDD);
        c[3] = _mm512_shuffle_i64x2(b[3], b[7], 0x88); c[7] = _mm512_shuffle_i64x2(b[3], b[7], 0xDD);
        for (int k = 0; k < 8; k++) {
            v3 = Z_XOR(v3, c[k]);
            SIPROUND(Z_ADD, Z_XOR, Z_ROT); SIPROUND(Z_ADD, Z_XOR, Z_ROT);
            v0 = Z_XOR(v0, c[k]);
        }
    }
    for (; i < words; i++) {
        __m512i m = _mm512_i64gather_epi64(idx, (const void *)(in + 8 * i), 1);
        v3 = Z_XOR(v3, m);
        SIPROUND(Z_ADD, Z_XOR, Z_ROT); SIPROUND(Z_ADD, Z_XOR, Z_ROT);
        v0 = Z_XOR(v0, m);
    }
    uint64_t bw[8];
    for (int j = 0; j < 8; j++) bw[j] = final_word(in + j * stride + 8 * words, len + ARK_BLOCK_HEADER);
    __m512i b = _mm512_loadu_si512((const void *)bw);
    v3 = Z_XOR(v3, b);
    SIPROUND(Z_ADD, Z_XOR, Z_ROT); SIPROUND(Z_ADD, Z_XOR, Z_ROT);
    v0 = Z_XOR(v0, b);
    v2 = Z_XOR(v2, _mm512_set1_epi64(0xee));
    for (int r = 0; r < 4; r++) SIPROUND(Z_ADD, Z_XOR, Z_ROT);
    uint64_t lo[8], hi[8];
    _mm512_storeu_si512((void *)lo, Z_XOR(Z_XOR(v0, v1), Z_XOR(v2, v3)));
    v1 = Z_XOR(v1, _mm512_set1_epi64(0xdd));
    for (int r = 0; r < 4; r++) SIPROUND(Z_ADD, Z_XOR, Z_ROT);
    _mm512_storeu_si512((void *)hi, Z_XOR(Z_XOR(v0, v1), Z_XOR(v2, v3)));
    for (int j = 0; j < 8; j++) { store64(out + 16 * j, lo[j]); store64(out + 16 * j + 8, hi[j]); }
}
#endif

int ark_siphashx24_lanes(void) {
#if defined(__x86_64__)
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f")) return 8;
#endif
    return 1;
}

void ark_block_tags_lanes(const uint8_t *in, size_t len, size_t block, const uint8_t key[16],
                          uint64_t first_index, uint64_t chunk_len, uint8_t *out, int lanes) {
    if (len == 0 || block == 0) return;
    int have = ark_siphashx24_lanes();
    if (lanes > have) lanes = have;
    size_t full = len / block, i = 0;
#if defined(__x86_64__)
    if (lanes >= 8) for (; i + 8 <= full; i += 8) x8(in + i * block, block, block, key, first_index + i, chunk_len, out + 16 * i);
#endif
    for (; i * block < len; i++) {
        size_t n = len - i * block < block ? len - i * block : block;
        one(in + i * block, n, key, first_index + i, chunk_len, out + 16 * i);
    }
}

void ark_block_tags(const uint8_t *in, size_t len, size_t block, const uint8_t key[16],
                    uint64_t first_index, uint64_t chunk_len, uint8_t *out) {
    static int lanes = 0;
    int l = __atomic_load_n(&lanes, __ATOMIC_RELAXED);
    if (l == 0) { l = ark_siphashx24_lanes(); __atomic_store_n(&lanes, l, __ATOMIC_RELAXED); }
    ark_block_tags_lanes(in, len, block, key, first_index, chunk_len, out, l);
}
