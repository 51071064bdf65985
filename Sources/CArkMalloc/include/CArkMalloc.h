// Why this shim exists: glibc's malloc tuning (mallopt and its M_* constants) lives in
// <malloc.h>, which Swift's Glibc module does not export.
#ifndef C_ARK_MALLOC_H
#define C_ARK_MALLOC_H

/// Keeps freed chunk-sized buffers (up to 32 MiB) in the heap instead of returning them to
/// the kernel at once, so reading a stream of chunks does not page-fault and zero fresh
/// memory for every chunk. Two arenas at most, so what each keeps free is not multiplied by
/// the number of threads. Returns 0 on success.
int ark_malloc_keep_large_buffers(void);

#endif
