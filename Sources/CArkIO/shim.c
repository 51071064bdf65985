#define _GNU_SOURCE
#include "CArkIO.h"
#include <fcntl.h>
#include <stdint.h>
#include <sys/syscall.h>
#include <unistd.h>

#ifndef __NR_cachestat
#define __NR_cachestat 451 /* the same number on every architecture */
#endif

/* The kernel's struct cachestat_range and struct cachestat (include/uapi/linux/mman.h). */
struct ark_cachestat_range { uint64_t off; uint64_t len; };
struct ark_cachestat { uint64_t nr_cache, nr_dirty, nr_writeback, nr_evicted, nr_recently_evicted; };

int ark_o_direct(void) { return O_DIRECT; }

int ark_range_cached(int fd, off_t offset, size_t count) {
    long page = sysconf(_SC_PAGESIZE);
    uint64_t first = (uint64_t)offset / page, last = ((uint64_t)offset + count + page - 1) / page;
    struct ark_cachestat_range range = { first * page, (last - first) * page };
    struct ark_cachestat st = { 0 };
    if (syscall(__NR_cachestat, (unsigned int)fd, &range, &st, 0) != 0) return -1;
    return st.nr_cache >= last - first ? 1 : 0;
}

ssize_t ark_splice_from_file(int fd, off_t *offset, int pipe_write, size_t count) {
    loff_t off = *offset;
    ssize_t n = splice(fd, &off, pipe_write, NULL, count, 0);
    if (n > 0) *offset = off;
    return n;
}

int ark_pipe_set_size(int pipe_fd, int size) {
    int r = fcntl(pipe_fd, F_SETPIPE_SZ, size);
    return r >= 0 ? r : fcntl(pipe_fd, F_GETPIPE_SZ);
}

int ark_pipe_cloexec(int fds[2]) { return pipe2(fds, O_CLOEXEC); }

int ark_start_writeback(int fd, off_t offset, off_t count) {
    return sync_file_range(fd, offset, count, SYNC_FILE_RANGE_WRITE);
}
