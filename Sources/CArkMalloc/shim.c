#include "CArkMalloc.h"
#include <malloc.h>

int ark_malloc_keep_large_buffers(void) {
    // Allocations below 32 MiB come from the heap (not a fresh mmap each), and a heap keeps up
    // to 64 MiB of free space at its top before trimming it.
    int ok = mallopt(M_MMAP_THRESHOLD, 32 << 20);
    ok &= mallopt(M_TRIM_THRESHOLD, 64 << 20);
    return ok ? 0 : -1;
}

int ark_malloc_limit_arenas(int count) {
    return mallopt(M_ARENA_MAX, count) ? 0 : -1;
}
