// Why this shim exists: O_DIRECT is a GNU extension of glibc's headers (visible only with
// _GNU_SOURCE), which Swift's Glibc module does not export; and cachestat(2) (Linux 6.5) has
// no glibc wrapper, and older kernel headers lack its structs; splice(2) and F_SETPIPE_SZ are
// GNU extensions as well, and so are pipe2(2) and sync_file_range(2).
#ifndef C_ARK_IO_H
#define C_ARK_IO_H

#include <sys/types.h>

/// The O_DIRECT open flag of this platform.
int ark_o_direct(void);

/// Whether every page of [offset, offset+count) of `fd` is in the page cache, asked with
/// cachestat(2), which (unlike a preadv2 RWF_NOWAIT probe) starts no readahead: 1 yes, 0 no,
/// -1 with errno (ENOSYS before Linux 6.5).
int ark_range_cached(int fd, off_t offset, size_t count);

/// splice(2) of `count` bytes at `*offset` of `fd` into the pipe `pipe_write` (no flags);
/// advances `*offset`. Returns the bytes moved, or -1 with errno.
ssize_t ark_splice_from_file(int fd, off_t *offset, int pipe_write, size_t count);

/// pipe2(2) with O_CLOEXEC.
int ark_pipe_cloexec(int fds[2]);

/// Asks for a pipe capacity (F_SETPIPE_SZ; an unprivileged process gets at most
/// /proc/sys/fs/pipe-max-size) and returns the capacity the pipe has, or -1 with errno.
int ark_pipe_set_size(int pipe_fd, int size);

/// sync_file_range(2) with SYNC_FILE_RANGE_WRITE: starts writeback of [offset, offset+count)
/// without waiting for it. Returns 0, or -1 with errno.
int ark_start_writeback(int fd, off_t offset, off_t count);

#endif
