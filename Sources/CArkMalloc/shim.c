#include "CArkMalloc.h"
#include <malloc.h>

int ark_malloc_keep_large_buffers(void) {
    // Allocations below 32 MiB come from the heap (not a fresh mmap each), and a heap keeps up
    // to 64 MiB of free space at its top before trimming it.
    int ok = mallopt(M_MMAP_THRESHOLD, 32 << 20);
    ok &= mallopt(M_TRIM_THRESHOLD, 64 << 20);
    // Each arena keeps that much: with one arena per thread (hashing workers, upload workers,
    // the bucket pool), a commit to a bucket held 650 MB for a 1 GiB file; two arenas, 290 MB.
    ok &= mallopt(M_ARENA_MAX, 2);
    return ok ? 0 : -1;
}
