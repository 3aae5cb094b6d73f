#include "ckernels.h"

#if defined(__x86_64__) || defined(__i386__)
int bz_cpu_avx2_fma(void) {
  __builtin_cpu_init();
  return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
}
#else
int bz_cpu_avx2_fma(void) { return 0; }
#endif
