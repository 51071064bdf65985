// Why this shim exists: glibc's malloc tuning (mallopt and its M_* constants) lives in
// <malloc.h>, which Swift's Glibc module does not export.
#ifndef C_ARK_MALLOC_H
#define C_ARK_MALLOC_H

/// Keeps freed chunk-sized buffers (up to 32 MiB) in the heap instead of returning them to
/// the kernel at once, so reading a stream of chunks does not page-fault and zero fresh
/// memory for every chunk. Returns 0 on success.
int ark_malloc_keep_large_buffers(void);

/// At most `count` malloc arenas (glibc makes up to 8 per core, one per thread that finds the
/// others busy), so the free memory each arena keeps is not multiplied by the thread count.
/// Returns 0 on success.
int ark_malloc_limit_arenas(int count);

#endif
