#include "ckernels.h"
#if defined(__GLIBC__)
#include <malloc.h>
#endif

int bz_heap_reuse(void) {
#if defined(__GLIBC__)
  return mallopt(M_MMAP_THRESHOLD, 32 << 20) == 1 && mallopt(M_TRIM_THRESHOLD, 1 << 30) == 1;
#else
  return 0;
#endif
}
