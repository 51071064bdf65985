// Why this shim exists: O_DIRECT is a GNU extension of glibc's headers (visible only with
// _GNU_SOURCE), which Swift's Glibc module does not export; and cachestat(2) (Linux 6.5) has
// no glibc wrapper, and older kernel headers lack its structs.
#ifndef C_ARK_IO_H
#define C_ARK_IO_H

#include <sys/types.h>

/// The O_DIRECT open flag of this platform.
int ark_o_direct(void);

/// Whether every page of [offset, offset+count) of `fd` is in the page cache, asked with
/// cachestat(2), which (unlike a preadv2 RWF_NOWAIT probe) starts no readahead: 1 yes, 0 no,
/// -1 with errno (ENOSYS before Linux 6.5).
int ark_range_cached(int fd, off_t offset, size_t count);

#endif
