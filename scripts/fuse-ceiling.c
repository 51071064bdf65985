// The fastest a FUSE file can be read on this machine: a read-only file of SIZE bytes whose
// reads cost the server nothing (replies come from one buffer in memory: no disk, no
// verification), mounted with the settings ark uses (libfuse3 low-level API, 16 threads with
// cloned descriptors, async reads, 1 MiB requests, keep_cache). scripts/bench-mount.sh reads it
// cold and warm beside the native file, so a run shows how much of the gap to native is the
// kernel's FUSE path on this machine rather than ark's work.
//
// usage: fuse-ceiling MOUNTPOINT SIZE_BYTES   (the file is MOUNTPOINT/file)
#define FUSE_USE_VERSION 312
#include <fuse_lowlevel.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static off_t file_size;
static char *pattern;
static const size_t pattern_size = 8 << 20;

static void fill_stat(fuse_ino_t ino, struct stat *st) {
    memset(st, 0, sizeof *st);
    st->st_ino = ino;
    if (ino == FUSE_ROOT_ID) {
        st->st_mode = S_IFDIR | 0555;
        st->st_nlink = 2;
    } else {
        st->st_mode = S_IFREG | 0444;
        st->st_nlink = 1;
        st->st_size = file_size;
    }
}

static void on_init(void *userdata, struct fuse_conn_info *conn) {
    (void)userdata;
    if (conn->capable & FUSE_CAP_ASYNC_READ) conn->want |= FUSE_CAP_ASYNC_READ;
    conn->max_readahead = 1 << 20;
    conn->max_background = 64;
    conn->congestion_threshold = 48;
}

static void on_lookup(fuse_req_t req, fuse_ino_t parent, const char *name) {
    if (parent != FUSE_ROOT_ID || strcmp(name, "file") != 0) { fuse_reply_err(req, ENOENT); return; }
    struct fuse_entry_param e;
    memset(&e, 0, sizeof e);
    e.ino = 2;
    e.attr_timeout = e.entry_timeout = 86400;
    fill_stat(2, &e.attr);
    fuse_reply_entry(req, &e);
}

static void on_getattr(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi) {
    (void)fi;
    struct stat st;
    fill_stat(ino, &st);
    fuse_reply_attr(req, &st, 86400);
}

static void on_open(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi) {
    if (ino != 2) { fuse_reply_err(req, EISDIR); return; }
    fi->keep_cache = 1;
    fuse_reply_open(req, fi);
}

static void on_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, struct fuse_file_info *fi) {
    (void)ino; (void)fi;
    if (off >= file_size) { fuse_reply_buf(req, NULL, 0); return; }
    if ((off_t)size > file_size - off) size = (size_t)(file_size - off);
    if (size > pattern_size / 2) size = pattern_size / 2;
    fuse_reply_buf(req, pattern + (size_t)(off % (off_t)(pattern_size / 2)), size);
}

int main(int argc, char **argv) {
    if (argc != 3) { fprintf(stderr, "usage: fuse-ceiling MOUNTPOINT SIZE_BYTES\n"); return 2; }
    file_size = (off_t)strtoll(argv[2], NULL, 10);
    pattern = malloc(pattern_size);
    if (pattern == NULL) return 1;
    for (size_t i = 0; i < pattern_size; i++) pattern[i] = (char)((i * 2654435761u) >> 13);
    struct fuse_lowlevel_ops ops = {
        .init = on_init, .lookup = on_lookup, .getattr = on_getattr, .open = on_open, .read = on_read,
    };
    char *args_v[] = { argv[0], "-o", "ro,default_permissions,fsname=fuse-ceiling", NULL };
    struct fuse_args args = FUSE_ARGS_INIT(3, args_v);
    struct fuse_session *se = fuse_session_new(&args, &ops, sizeof ops, NULL);
    if (se == NULL || fuse_session_mount(se, argv[1]) != 0) { fprintf(stderr, "fuse-ceiling: cannot mount %s\n", argv[1]); return 1; }
    fuse_set_signal_handlers(se);
    struct fuse_loop_config *cfg = fuse_loop_cfg_create();
    fuse_loop_cfg_set_max_threads(cfg, 16);
    fuse_loop_cfg_set_idle_threads(cfg, 8);
    fuse_loop_cfg_set_clone_fd(cfg, 1);
    int rc = fuse_session_loop_mt(se, cfg);
    fuse_loop_cfg_destroy(cfg);
    fuse_remove_signal_handlers(se);
    fuse_session_unmount(se);
    fuse_session_destroy(se);
    return rc == 0 ? 0 : 1;
}
