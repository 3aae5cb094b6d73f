#include "ckernels.h"
#if defined(__GLIBC__)
#include <malloc.h>
#endif

int bz_heap_reuse(int map_large_blocks) {
#if defined(__GLIBC__)
  int took = mallopt(M_MMAP_THRESHOLD, 32 << 20) == 1 && mallopt(M_MMAP_MAX, map_large_blocks ? 65536 : 0) == 1 &&
             mallopt(M_TRIM_THRESHOLD, 1 << 30) == 1;
  if (map_large_blocks) malloc_trim(0);
  return took;
#else
  return 0;
#endif
}

void bz_heap_release(void) {
#if defined(__GLIBC__)
  malloc_trim(0);
#endif
}
