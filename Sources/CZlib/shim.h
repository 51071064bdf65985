// zlib: the deflate streams inside git pack files (git-remote-ark's fetch).
#include <zlib.h>
