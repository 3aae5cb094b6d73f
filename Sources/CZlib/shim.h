#ifndef BYZSIM_CZLIB_SHIM_H
#define BYZSIM_CZLIB_SHIM_H
#include <zlib.h>
#endif
