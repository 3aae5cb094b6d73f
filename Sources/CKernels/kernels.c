// Coordinate-wise sorting networks with AVX2 and AVX-512F, chosen at run time: the build
// targets baseline x86-64, and each function carries its own target attribute.
#include "ckernels.h"

#if defined(__x86_64__)
#include <immintrin.h>

int bz_simd_level(void) {
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx512f")) return 2;
  if (__builtin_cpu_supports("avx2")) return 1;
  return 0;
}

// One 16-lane block is one __m512; MINPS/MAXPS return their second operand on equal inputs,
// so min(b, a) keeps a and max(a, b) keeps b when a == b (±0 included): the swap semantics.
__attribute__((target("avx512f"))) static void network_avx512(float *v, const int32_t *a, const int32_t *b, int32_t m) {
  for (int32_t k = 0; k < m; k++) {
    float *pa = v + 16 * a[k], *pb = v + 16 * b[k];
    __m512 x = _mm512_loadu_ps(pa), y = _mm512_loadu_ps(pb);
    _mm512_storeu_ps(pa, _mm512_min_ps(y, x));
    _mm512_storeu_ps(pb, _mm512_max_ps(x, y));
  }
}

// One comparator on a 16-lane block: two __m256 halves.
__attribute__((target("avx2"))) static inline void compare16_avx2(float *pa, float *pb) {
  __m256 x0 = _mm256_loadu_ps(pa), x1 = _mm256_loadu_ps(pa + 8);
  __m256 y0 = _mm256_loadu_ps(pb), y1 = _mm256_loadu_ps(pb + 8);
  _mm256_storeu_ps(pa, _mm256_min_ps(y0, x0));
  _mm256_storeu_ps(pa + 8, _mm256_min_ps(y1, x1));
  _mm256_storeu_ps(pb, _mm256_max_ps(x0, y0));
  _mm256_storeu_ps(pb + 8, _mm256_max_ps(x1, y1));
}

__attribute__((target("avx2"))) static void network_avx2(float *v, const int32_t *a, const int32_t *b, int32_t m) {
  for (int32_t k = 0; k < m; k++) compare16_avx2(v + 16 * a[k], v + 16 * b[k]);
}

void bz_network16(float *v, const int32_t *a, const int32_t *b, int32_t comparators, int32_t level) {
  if (level == 2) network_avx512(v, a, b, comparators);
  else if (level == 1) network_avx2(v, a, b, comparators);
  else __builtin_trap();
}

__attribute__((target("avx512f"))) static void network4_avx512(float *v, int32_t n, const int32_t *a, const int32_t *b, int32_t m) {
  const int32_t g = 16 * n;
  for (int32_t k = 0; k < m; k++) {
    float *pa = v + 16 * a[k], *pb = v + 16 * b[k];
    __m512 x0 = _mm512_loadu_ps(pa), y0 = _mm512_loadu_ps(pb);
    __m512 x1 = _mm512_loadu_ps(pa + g), y1 = _mm512_loadu_ps(pb + g);
    __m512 x2 = _mm512_loadu_ps(pa + 2 * g), y2 = _mm512_loadu_ps(pb + 2 * g);
    __m512 x3 = _mm512_loadu_ps(pa + 3 * g), y3 = _mm512_loadu_ps(pb + 3 * g);
    _mm512_storeu_ps(pa, _mm512_min_ps(y0, x0));
    _mm512_storeu_ps(pb, _mm512_max_ps(x0, y0));
    _mm512_storeu_ps(pa + g, _mm512_min_ps(y1, x1));
    _mm512_storeu_ps(pb + g, _mm512_max_ps(x1, y1));
    _mm512_storeu_ps(pa + 2 * g, _mm512_min_ps(y2, x2));
    _mm512_storeu_ps(pb + 2 * g, _mm512_max_ps(x2, y2));
    _mm512_storeu_ps(pa + 3 * g, _mm512_min_ps(y3, x3));
    _mm512_storeu_ps(pb + 3 * g, _mm512_max_ps(x3, y3));
  }
}

__attribute__((target("avx2"))) static void network4_avx2(float *v, int32_t n, const int32_t *a, const int32_t *b, int32_t m) {
  const int32_t g = 16 * n;
  for (int32_t k = 0; k < m; k++) {
    for (int32_t q = 0; q < 4; q++) compare16_avx2(v + q * g + 16 * a[k], v + q * g + 16 * b[k]);
  }
}

void bz_network16x4(float *v, int32_t n, const int32_t *a, const int32_t *b, int32_t comparators, int32_t level) {
  if (level == 2) network4_avx512(v, n, a, b, comparators);
  else if (level == 1) network4_avx2(v, n, a, b, comparators);
  else __builtin_trap();
}

#else

int bz_simd_level(void) { return 0; }
void bz_network16(float *v, const int32_t *a, const int32_t *b, int32_t comparators, int32_t level) { __builtin_trap(); }
void bz_network16x4(float *v, int32_t n, const int32_t *a, const int32_t *b, int32_t comparators, int32_t level) { __builtin_trap(); }

#endif
