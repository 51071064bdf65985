#define _GNU_SOURCE
#include "CArkIO.h"
#include <fcntl.h>
#include <sys/uio.h>

int ark_o_direct(void) { return O_DIRECT; }

ssize_t ark_pread_cached(int fd, void *buf, size_t count, off_t offset) {
    struct iovec iov = { .iov_base = buf, .iov_len = count };
    return preadv2(fd, &iov, 1, offset, RWF_NOWAIT);
}
