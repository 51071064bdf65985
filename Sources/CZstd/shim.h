// zstd: compression of stored chunks and metadata objects.
#include <zstd.h>
