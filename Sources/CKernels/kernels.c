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

// The reductions of bz_tile_small's modes 0–2 over sorted rows kept in memory: the same
// operations in the same order as the generated networks (networks.c) and SortingNetwork's Swift.
__attribute__((target("avx512f"))) static void reduce_avx512(const float *sorted, int32_t n, int32_t groups, int32_t mode,
                                                             int32_t lo, int32_t hi, float *out) {
  for (int32_t q = 0; q < groups; q++) {
    const float *v = sorted + (int64_t)16 * n * q;
#define ROW(i) _mm512_loadu_ps(v + (int64_t)16 * (i))
    const __m512 m = n % 2 == 1 ? ROW(n / 2) : _mm512_mul_ps(_mm512_add_ps(ROW(n / 2 - 1), ROW(n / 2)), _mm512_set1_ps(0.5f));
    __m512 r;
    if (mode == 0) {
      r = m;
    } else if (mode == 2) {
      const int32_t k = lo;
      __m512 window = _mm512_setzero_ps();
      for (int32_t i = 0; i < k; i++) window = _mm512_add_ps(window, ROW(i));
      __m512 bestSum = window;
      __m512 bestCost = _mm512_max_ps(_mm512_sub_ps(ROW(k - 1), m), _mm512_sub_ps(m, ROW(0)));
      for (int32_t s = 1; s + k <= n; s++) {
        window = _mm512_add_ps(window, _mm512_sub_ps(ROW(s + k - 1), ROW(s - 1)));
        const __m512 cost = _mm512_max_ps(_mm512_sub_ps(ROW(s + k - 1), m), _mm512_sub_ps(m, ROW(s)));
        const __mmask16 better = _mm512_cmp_ps_mask(cost, bestCost, _CMP_LT_OQ);
        bestCost = _mm512_mask_mov_ps(bestCost, better, cost);
        bestSum = _mm512_mask_mov_ps(bestSum, better, window);
      }
      r = _mm512_div_ps(bestSum, _mm512_set1_ps((float)k));
    } else {
      __m512 sum = _mm512_setzero_ps();
      for (int32_t i = lo; i < hi; i++) sum = _mm512_add_ps(sum, ROW(i));
      r = _mm512_div_ps(sum, _mm512_set1_ps((float)(hi - lo)));
    }
#undef ROW
    _mm512_storeu_ps(out + 16 * q, r);
  }
}

void bz_reduce_sorted(const float *sorted, int32_t n, int32_t groups, int32_t mode, int32_t lo, int32_t hi, float *out,
                      int32_t level) {
  if (level == 2) reduce_avx512(sorted, n, groups, mode, lo, hi, out);
  else __builtin_trap();
}

#else

int bz_simd_level(void) { return 0; }
void bz_reduce_sorted(const float *sorted, int32_t n, int32_t groups, int32_t mode, int32_t lo, int32_t hi, float *out,
                      int32_t level) { __builtin_trap(); }
void bz_network16(float *v, const int32_t *a, const int32_t *b, int32_t comparators, int32_t level) { __builtin_trap(); }
void bz_network16x4(float *v, int32_t n, const int32_t *a, const int32_t *b, int32_t comparators, int32_t level) { __builtin_trap(); }

#endif
