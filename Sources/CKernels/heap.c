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

#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

long bz_heap_block_faults(long bytes) {
  struct rusage before, after;
  getrusage(RUSAGE_SELF, &before);
  char *block = bytes > 0 ? malloc((size_t)bytes) : NULL;
  if (!block) return -1;
  memset(block, 1, (size_t)bytes);
  // The block is used: no compiler may drop the malloc, the writes or the free as dead.
  __asm__ volatile("" : : "r"(block) : "memory");
  free(block);
  getrusage(RUSAGE_SELF, &after);
  return after.ru_minflt - before.ru_minflt;
}
