#ifndef CARKFUSE_H
#define CARKFUSE_H
#define FUSE_USE_VERSION 312
#include <fuse_lowlevel.h>
#endif
