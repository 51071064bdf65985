#include "CArkFuse.h"
