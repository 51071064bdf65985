#ifndef CARKFUSE_H
#define CARKFUSE_H
// Why this shim exists: libfuse's fuse_session_loop_mt is a macro over versioned symbols,
// and struct fuse_args is built with a macro; Swift can call neither directly.
#define FUSE_USE_VERSION 312
#include <fuse_lowlevel.h>

/// Creates a session from an argv-style option list ("-o", "ro,fsname=ark", ...).
struct fuse_session *ark_fuse_session_new(int argc, const char **argv,
                                          const struct fuse_lowlevel_ops *ops, void *userdata);

/// Runs the multi-threaded session loop with up to max_threads workers and clone_fd.
int ark_fuse_session_loop_mt(struct fuse_session *se, unsigned int max_threads);

/// Asks the kernel for large, asynchronous reads, symlink caching and readdirplus (always, not
/// the AUTO mode) in the init callback.
void ark_fuse_configure_conn(struct fuse_conn_info *conn, unsigned int max_readahead);

#endif
