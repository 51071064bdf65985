// libfuse3 low-level API. FUSE_USE_VERSION must be set before the header.
#define FUSE_USE_VERSION 312
#include <fuse_lowlevel.h>
