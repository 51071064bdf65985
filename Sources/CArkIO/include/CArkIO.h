// Why this shim exists: O_DIRECT and preadv2/RWF_NOWAIT are GNU extensions of glibc's headers
// (visible only with _GNU_SOURCE), which Swift's Glibc module does not export.
#ifndef C_ARK_IO_H
#define C_ARK_IO_H

#include <sys/types.h>

/// The O_DIRECT open flag of this platform.
int ark_o_direct(void);

/// Reads up to `count` bytes at `offset` only if they are in the page cache (preadv2 with
/// RWF_NOWAIT): the bytes read (possibly fewer), or -1 with errno (EAGAIN when not cached,
/// EOPNOTSUPP or ENOSYS where the kernel or filesystem has no RWF_NOWAIT).
ssize_t ark_pread_cached(int fd, void *buf, size_t count, off_t offset);

#endif
