// A dense layer's forward pass for a few rows at once (a served prediction, or the few that
// arrive together at the ZeroMQ door): y[r, j] = Σ_k w[j, k] · x[r, k]. Each weight vector is
// loaded once for up to four rows, so they share the pass over the weights that a GEMV makes for
// each. The sum's order is fixed: 16 partial sums, sum l taking k ≡ l (mod 16) in increasing k
// with one fused multiply-add each, then the pairwise tree (l, l + 8), (l, l + 4), (l, l + 2),
// (0, 1). A row's result therefore never depends on the rows beside it, and is the same bits at
// every level (AVX-512F, AVX2 + FMA, plain C with fmaf).
#include "ckernels.h"

#include <math.h>
#include <stddef.h>

static float tree(const float *s) {
  float t[8], u[4], v[2];
  for (int l = 0; l < 8; l++) t[l] = s[l] + s[l + 8];
  for (int l = 0; l < 4; l++) u[l] = t[l] + t[l + 4];
  for (int l = 0; l < 2; l++) v[l] = u[l] + u[l + 2];
  return v[0] + v[1];
}

static void dense_rows_baseline(const float *x, int32_t rows, int32_t in, const float *w, int32_t out, float *y) {
  for (int32_t j = 0; j < out; j++) {
    const float *wj = w + (ptrdiff_t)j * in;
    for (int32_t r = 0; r < rows; r++) {
      const float *xr = x + (ptrdiff_t)r * in;
      float s[16] = {0};
      for (int32_t k = 0; k < in; k++) s[k & 15] = fmaf(wj[k], xr[k], s[k & 15]);
      y[(ptrdiff_t)r * out + j] = tree(s);
    }
  }
}

#if defined(__x86_64__)
#include <immintrin.h>

__attribute__((target("avx512f"))) static float tree512(__m512 s) {
  __m256 t = _mm256_add_ps(_mm512_castps512_ps256(s), _mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(s), 1)));
  __m128 u = _mm_add_ps(_mm256_castps256_ps128(t), _mm256_extractf128_ps(t, 1));
  __m128 v = _mm_add_ps(u, _mm_movehl_ps(u, u));
  return _mm_cvtss_f32(_mm_add_ss(v, _mm_shuffle_ps(v, v, 1)));
}

// R rows (1–4) by four outputs: 4R independent FMA chains (one row alone would be a single chain
// waiting on each FMA's latency). Outputs past `out` in the last block repeat the last output
// and are not stored.
__attribute__((target("avx512f"), always_inline)) static inline void block512(const int R, const float *x, int32_t in,
                                                                             const float *w, int32_t out, int32_t j0,
                                                                             float *y) {
  const int32_t full = in & ~15;
  const __mmask16 tail = (__mmask16)((1u << (in & 15)) - 1);
  const float *wj[4];
  for (int q = 0; q < 4; q++) wj[q] = w + (ptrdiff_t)(j0 + q < out ? j0 + q : out - 1) * in;
  __m512 s[4][4];
  for (int r = 0; r < R; r++)
    for (int q = 0; q < 4; q++) s[r][q] = _mm512_setzero_ps();
  for (int32_t k = 0; k < full; k += 16) {
    __m512 wk[4];
    for (int q = 0; q < 4; q++) wk[q] = _mm512_loadu_ps(wj[q] + k);
    for (int r = 0; r < R; r++) {
      const __m512 xr = _mm512_loadu_ps(x + (ptrdiff_t)r * in + k);
      for (int q = 0; q < 4; q++) s[r][q] = _mm512_fmadd_ps(wk[q], xr, s[r][q]);
    }
  }
  if (tail) {
    __m512 wk[4];
    for (int q = 0; q < 4; q++) wk[q] = _mm512_maskz_loadu_ps(tail, wj[q] + full);
    for (int r = 0; r < R; r++) {
      const __m512 xr = _mm512_maskz_loadu_ps(tail, x + (ptrdiff_t)r * in + full);
      for (int q = 0; q < 4; q++) s[r][q] = _mm512_mask3_fmadd_ps(wk[q], xr, s[r][q], tail);
    }
  }
  for (int r = 0; r < R; r++)
    for (int q = 0; q < 4 && j0 + q < out; q++) y[(ptrdiff_t)r * out + j0 + q] = tree512(s[r][q]);
}

__attribute__((target("avx512f"))) static void dense_rows_avx512(const float *x, int32_t rows, int32_t in,
                                                                 const float *w, int32_t out, float *y) {
  for (int32_t r0 = 0; r0 < rows; r0 += 4) {
    const float *xr = x + (ptrdiff_t)r0 * in;
    float *yr = y + (ptrdiff_t)r0 * out;
    for (int32_t j0 = 0; j0 < out; j0 += 4) {
      switch (rows - r0 < 4 ? rows - r0 : 4) {
      case 1: block512(1, xr, in, w, out, j0, yr); break;
      case 2: block512(2, xr, in, w, out, j0, yr); break;
      case 3: block512(3, xr, in, w, out, j0, yr); break;
      default: block512(4, xr, in, w, out, j0, yr); break;
      }
    }
  }
}

__attribute__((target("avx2,fma"))) static void dense_rows_avx2(const float *x, int32_t rows, int32_t in,
                                                               const float *w, int32_t out, float *y) {
  const int32_t full = in & ~15, rest = in & 15;
  // Lanes 0–7 and 8–15 of the tail, as masks for maskload and blend.
  int32_t m[16];
  for (int l = 0; l < 16; l++) m[l] = l < rest ? -1 : 0;
  const __m256i lo = _mm256_loadu_si256((const __m256i *)m), hi = _mm256_loadu_si256((const __m256i *)(m + 8));
  for (int32_t j = 0; j < out; j++) {
    const float *wj = w + (ptrdiff_t)j * in;
    __m256 a[8], b[8];
    for (int32_t r = 0; r < rows; r++) a[r] = b[r] = _mm256_setzero_ps();
    for (int32_t k = 0; k < full; k += 16) {
      const __m256 w0 = _mm256_loadu_ps(wj + k), w1 = _mm256_loadu_ps(wj + k + 8);
      for (int32_t r = 0; r < rows; r++) {
        const float *xr = x + (ptrdiff_t)r * in + k;
        a[r] = _mm256_fmadd_ps(w0, _mm256_loadu_ps(xr), a[r]);
        b[r] = _mm256_fmadd_ps(w1, _mm256_loadu_ps(xr + 8), b[r]);
      }
    }
    if (rest) {
      // The lanes past the end keep their sums (blend), as AVX-512's masked FMA does.
      const __m256 w0 = _mm256_maskload_ps(wj + full, lo), w1 = _mm256_maskload_ps(wj + full + 8, hi);
      for (int32_t r = 0; r < rows; r++) {
        const float *xr = x + (ptrdiff_t)r * in + full;
        a[r] = _mm256_blendv_ps(a[r], _mm256_fmadd_ps(w0, _mm256_maskload_ps(xr, lo), a[r]), _mm256_castsi256_ps(lo));
        b[r] = _mm256_blendv_ps(b[r], _mm256_fmadd_ps(w1, _mm256_maskload_ps(xr + 8, hi), b[r]), _mm256_castsi256_ps(hi));
      }
    }
    for (int32_t r = 0; r < rows; r++) {
      const __m256 t = _mm256_add_ps(a[r], b[r]);
      __m128 u = _mm_add_ps(_mm256_castps256_ps128(t), _mm256_extractf128_ps(t, 1));
      __m128 v = _mm_add_ps(u, _mm_movehl_ps(u, u));
      y[(ptrdiff_t)r * out + j] = _mm_cvtss_f32(_mm_add_ss(v, _mm_shuffle_ps(v, v, 1)));
    }
  }
}
#endif

void bz_dense_rows(const float *x, int32_t rows, int32_t in, const float *w, int32_t out, float *y, int32_t level) {
  if (rows < 0 || rows > BZ_DENSE_ROWS_MAX) __builtin_trap();
#if defined(__x86_64__)
  if (level >= 2) return dense_rows_avx512(x, rows, in, w, out, y);
  if (level == 1) return dense_rows_avx2(x, rows, in, w, out, y);
#endif
  dense_rows_baseline(x, rows, in, w, out, y);
}
