// Direct 2-D convolution for small receptive fields (the first layer of an image model: a 3×3
// kernel over one channel is K = 9), where im2col + GEMM spends its time packing a k = 9 matrix.
// Three versions picked at run time (SIMDLevel.best: bz_simd_level, with AVX2 only alongside FMA): AVX-512F and AVX2 + FMA intrinsics, and
// plain C for baseline x86-64. Output channels go 16 at a time (one __m512, two __m256).
#include "ckernels.h"

#include <stddef.h>
#include <string.h>

// The largest receptive field (kh·kw·c) of the weight gradient.
#define KMAX 32

// Tap kk = (ki, kj, ci) of a pixel reads the input at the pixel's first value + offset[kk].
static void tap_offsets(int32_t w, int32_t c, int32_t kh, int32_t kw, int32_t *offset) {
  for (int32_t ki = 0, kk = 0; ki < kh; ki++)
    for (int32_t r = 0; r < kw * c; r++, kk++) offset[kk] = ki * w * c + r;
}

static void conv_forward_baseline(const float *x, int32_t batch, int32_t h, int32_t w, int32_t c, int32_t kh,
                                  int32_t kw, int32_t out, const float *wt, const float *bias, float *y) {
  const int32_t oh = h - kh + 1, ow = w - kw + 1, op = (out + 15) & ~15, k = kh * kw * c;
  int32_t offset[KMAX];
  tap_offsets(w, c, kh, kw, offset);
  for (int32_t b = 0; b < batch; b++)
    for (int32_t i = 0; i < oh; i++)
      for (int32_t j = 0; j < ow; j++) {
        const float *origin = x + (((ptrdiff_t)b * h + i) * w + j) * c;
        float *dst = y + (((ptrdiff_t)b * oh + i) * ow + j) * out;
        for (int32_t o = 0; o < out; o++) {
          float acc = bias[o];
          for (int32_t kk = 0; kk < k; kk++) acc += origin[offset[kk]] * wt[(ptrdiff_t)kk * op + o];
          dst[o] = acc;
        }
      }
}

static void conv_weight_gradient_baseline(const float *x, const float *dy, int32_t batch, int32_t h, int32_t w,
                                          int32_t c, int32_t kh, int32_t kw, int32_t out, float *dwt) {
  const int32_t oh = h - kh + 1, ow = w - kw + 1, op = (out + 15) & ~15, k = kh * kw * c;
  int32_t offset[KMAX];
  tap_offsets(w, c, kh, kw, offset);
  memset(dwt, 0, (size_t)k * op * sizeof(float));
  for (int32_t b = 0; b < batch; b++)
    for (int32_t i = 0; i < oh; i++)
      for (int32_t j = 0; j < ow; j++) {
        const float *origin = x + (((ptrdiff_t)b * h + i) * w + j) * c;
        const float *g = dy + (((ptrdiff_t)b * oh + i) * ow + j) * out;
        for (int32_t kk = 0; kk < k; kk++)
          for (int32_t o = 0; o < out; o++) dwt[(ptrdiff_t)kk * op + o] += origin[offset[kk]] * g[o];
      }
}

#if defined(__x86_64__)
#include <immintrin.h>

// Four output pixels at once: four independent FMA chains per 16 channels, each weight vector
// loaded once for all four. A row narrower than four pixels goes one at a time; the last four
// of a wider row overlap the group before when ow is not a multiple of four (the same bits).
__attribute__((target("avx512f"))) static void conv_forward_avx512(const float *x, int32_t batch, int32_t h, int32_t w,
                                                                   int32_t c, int32_t kh, int32_t kw, int32_t out,
                                                                   const float *wt, const float *bias, float *y) {
  const int32_t oh = h - kh + 1, ow = w - kw + 1, op = (out + 15) & ~15, k = kh * kw * c;
  int32_t offset[KMAX];
  tap_offsets(w, c, kh, kw, offset);
  const int32_t step = ow >= 4 ? 4 : 1;
  for (int32_t b = 0; b < batch; b++)
    for (int32_t i = 0; i < oh; i++)
      for (int32_t j0 = 0; j0 < ow; j0 += step) {
        const int32_t j = j0 + step <= ow ? j0 : ow - step;
        const float *origin = x + (((ptrdiff_t)b * h + i) * w + j) * c;
        float *dst = y + (((ptrdiff_t)b * oh + i) * ow + j) * out;
        for (int32_t cb = 0; cb < op; cb += 16) {
          const int32_t n = out - cb < 16 ? out - cb : 16;
          const __mmask16 mask = (__mmask16)((1u << n) - 1);
          const __m512 bv = _mm512_loadu_ps(bias + cb);
          const float *wr = wt + cb;
          if (step == 4) {
            __m512 a0 = bv, a1 = bv, a2 = bv, a3 = bv;
            for (int32_t kk = 0; kk < k; kk++, wr += op) {
              const __m512 wv = _mm512_loadu_ps(wr);
              const float *s = origin + offset[kk];
              a0 = _mm512_fmadd_ps(_mm512_set1_ps(s[0]), wv, a0);
              a1 = _mm512_fmadd_ps(_mm512_set1_ps(s[c]), wv, a1);
              a2 = _mm512_fmadd_ps(_mm512_set1_ps(s[2 * c]), wv, a2);
              a3 = _mm512_fmadd_ps(_mm512_set1_ps(s[3 * c]), wv, a3);
            }
            _mm512_mask_storeu_ps(dst + cb, mask, a0);
            _mm512_mask_storeu_ps(dst + out + cb, mask, a1);
            _mm512_mask_storeu_ps(dst + 2 * out + cb, mask, a2);
            _mm512_mask_storeu_ps(dst + 3 * out + cb, mask, a3);
          } else {
            __m512 a0 = bv;
            for (int32_t kk = 0; kk < k; kk++, wr += op)
              a0 = _mm512_fmadd_ps(_mm512_set1_ps(origin[offset[kk]]), _mm512_loadu_ps(wr), a0);
            _mm512_mask_storeu_ps(dst + cb, mask, a0);
          }
        }
      }
}

// For each 16 channels and eight taps, one pass over the pixels: eight independent FMA chains,
// dy's 16 values loaded once for all eight.
__attribute__((target("avx512f"))) static void conv_weight_gradient_avx512(const float *x, const float *dy,
                                                                           int32_t batch, int32_t h, int32_t w,
                                                                           int32_t c, int32_t kh, int32_t kw,
                                                                           int32_t out, float *dwt) {
  const int32_t oh = h - kh + 1, ow = w - kw + 1, op = (out + 15) & ~15, k = kh * kw * c;
  int32_t offset[KMAX];
  tap_offsets(w, c, kh, kw, offset);
  for (int32_t cb = 0; cb < op; cb += 16) {
    const int32_t n = out - cb < 16 ? out - cb : 16;
    const __mmask16 mask = (__mmask16)((1u << n) - 1);
    for (int32_t k0 = 0; k0 < k; k0 += 8) {
      const int32_t m = k - k0 < 8 ? k - k0 : 8;
      int32_t o[8];  // taps past k repeat a valid one; their sums are not written out
      for (int u = 0; u < 8; u++) o[u] = offset[k0 + (u < m ? u : 0)];
      __m512 a0 = _mm512_setzero_ps(), a1 = a0, a2 = a0, a3 = a0, a4 = a0, a5 = a0, a6 = a0, a7 = a0;
      for (int32_t b = 0; b < batch; b++)
        for (int32_t i = 0; i < oh; i++) {
          const float *origin = x + (((ptrdiff_t)b * h + i) * w) * c;
          const float *row = dy + (((ptrdiff_t)b * oh + i) * ow) * out + cb;
          for (int32_t j = 0; j < ow; j++, origin += c, row += out) {
            const __m512 g = _mm512_maskz_loadu_ps(mask, row);
            a0 = _mm512_fmadd_ps(_mm512_set1_ps(origin[o[0]]), g, a0);
            a1 = _mm512_fmadd_ps(_mm512_set1_ps(origin[o[1]]), g, a1);
            a2 = _mm512_fmadd_ps(_mm512_set1_ps(origin[o[2]]), g, a2);
            a3 = _mm512_fmadd_ps(_mm512_set1_ps(origin[o[3]]), g, a3);
            a4 = _mm512_fmadd_ps(_mm512_set1_ps(origin[o[4]]), g, a4);
            a5 = _mm512_fmadd_ps(_mm512_set1_ps(origin[o[5]]), g, a5);
            a6 = _mm512_fmadd_ps(_mm512_set1_ps(origin[o[6]]), g, a6);
            a7 = _mm512_fmadd_ps(_mm512_set1_ps(origin[o[7]]), g, a7);
          }
        }
      const __m512 acc[8] = {a0, a1, a2, a3, a4, a5, a6, a7};
      for (int32_t u = 0; u < m; u++) _mm512_storeu_ps(dwt + (ptrdiff_t)(k0 + u) * op + cb, acc[u]);
    }
  }
}

// The AVX2 versions: the same order of operations on two __m256 halves of 16 channels.
__attribute__((target("avx2,fma"))) static inline __m256i lanes_below(int32_t n) {
  return _mm256_cmpgt_epi32(_mm256_set1_epi32(n), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}

__attribute__((target("avx2,fma"))) static void conv_forward_avx2(const float *x, int32_t batch, int32_t h, int32_t w,
                                                                  int32_t c, int32_t kh, int32_t kw, int32_t out,
                                                                  const float *wt, const float *bias, float *y) {
  const int32_t oh = h - kh + 1, ow = w - kw + 1, op = (out + 15) & ~15, k = kh * kw * c;
  int32_t offset[KMAX];
  tap_offsets(w, c, kh, kw, offset);
  const int32_t step = ow >= 4 ? 4 : 1;
  for (int32_t b = 0; b < batch; b++)
    for (int32_t i = 0; i < oh; i++)
      for (int32_t j0 = 0; j0 < ow; j0 += step) {
        const int32_t j = j0 + step <= ow ? j0 : ow - step;
        const float *origin = x + (((ptrdiff_t)b * h + i) * w + j) * c;
        float *dst = y + (((ptrdiff_t)b * oh + i) * ow + j) * out;
        for (int32_t cb = 0; cb < op; cb += 16) {
          const int32_t n = out - cb < 16 ? out - cb : 16;
          const __m256i m0 = lanes_below(n), m1 = lanes_below(n - 8);
          const __m256 b0 = _mm256_loadu_ps(bias + cb), b1 = _mm256_loadu_ps(bias + cb + 8);
          for (int32_t p = 0; p < step; p += 2) {
            // Two pixels (or one) at a time: four chains in eight accumulator halves' worth of registers.
            const int32_t two = step - p >= 2;
            __m256 a0 = b0, a1 = b1, c0 = b0, c1 = b1;
            const float *wr = wt + cb;
            for (int32_t kk = 0; kk < k; kk++, wr += op) {
              const __m256 w0 = _mm256_loadu_ps(wr), w1 = _mm256_loadu_ps(wr + 8);
              const float *s = origin + (ptrdiff_t)p * c + offset[kk];
              const __m256 v = _mm256_set1_ps(s[0]), u = _mm256_set1_ps(two ? s[c] : 0);
              a0 = _mm256_fmadd_ps(v, w0, a0);
              a1 = _mm256_fmadd_ps(v, w1, a1);
              c0 = _mm256_fmadd_ps(u, w0, c0);
              c1 = _mm256_fmadd_ps(u, w1, c1);
            }
            float *d = dst + (ptrdiff_t)p * out + cb;
            _mm256_maskstore_ps(d, m0, a0);
            _mm256_maskstore_ps(d + 8, m1, a1);
            if (two) {
              _mm256_maskstore_ps(d + out, m0, c0);
              _mm256_maskstore_ps(d + out + 8, m1, c1);
            }
          }
        }
      }
}

__attribute__((target("avx2,fma"))) static void conv_weight_gradient_avx2(const float *x, const float *dy,
                                                                         int32_t batch, int32_t h, int32_t w,
                                                                         int32_t c, int32_t kh, int32_t kw,
                                                                         int32_t out, float *dwt) {
  const int32_t oh = h - kh + 1, ow = w - kw + 1, op = (out + 15) & ~15, k = kh * kw * c;
  int32_t offset[KMAX];
  tap_offsets(w, c, kh, kw, offset);
  for (int32_t cb = 0; cb < op; cb += 16) {
    const int32_t n = out - cb < 16 ? out - cb : 16;
    const __m256i m0 = lanes_below(n), m1 = lanes_below(n - 8);
    for (int32_t k0 = 0; k0 < k; k0 += 4) {
      const int32_t m = k - k0 < 4 ? k - k0 : 4;
      int32_t o[4];
      for (int u = 0; u < 4; u++) o[u] = offset[k0 + (u < m ? u : 0)];
      __m256 a[8];
      for (int u = 0; u < 8; u++) a[u] = _mm256_setzero_ps();
      for (int32_t b = 0; b < batch; b++)
        for (int32_t i = 0; i < oh; i++) {
          const float *origin = x + (((ptrdiff_t)b * h + i) * w) * c;
          const float *row = dy + (((ptrdiff_t)b * oh + i) * ow) * out + cb;
          for (int32_t j = 0; j < ow; j++, origin += c, row += out) {
            const __m256 g0 = _mm256_maskload_ps(row, m0), g1 = _mm256_maskload_ps(row + 8, m1);
            for (int u = 0; u < 4; u++) {
              const __m256 v = _mm256_set1_ps(origin[o[u]]);
              a[2 * u] = _mm256_fmadd_ps(v, g0, a[2 * u]);
              a[2 * u + 1] = _mm256_fmadd_ps(v, g1, a[2 * u + 1]);
            }
          }
        }
      for (int32_t u = 0; u < m; u++) {
        _mm256_storeu_ps(dwt + (ptrdiff_t)(k0 + u) * op + cb, a[2 * u]);
        _mm256_storeu_ps(dwt + (ptrdiff_t)(k0 + u) * op + cb + 8, a[2 * u + 1]);
      }
    }
  }
}

#endif

void bz_conv_forward(const float *x, int32_t batch, int32_t h, int32_t w, int32_t c, int32_t kh, int32_t kw,
                     int32_t out, const float *wt, const float *bias, float *y, int32_t level) {
  if (kh * kw * c > KMAX) __builtin_trap();
#if defined(__x86_64__)
  if (level == 2) { conv_forward_avx512(x, batch, h, w, c, kh, kw, out, wt, bias, y); return; }
  if (level == 1) { conv_forward_avx2(x, batch, h, w, c, kh, kw, out, wt, bias, y); return; }
#endif
  conv_forward_baseline(x, batch, h, w, c, kh, kw, out, wt, bias, y);
}

void bz_conv_weight_gradient(const float *x, const float *dy, int32_t batch, int32_t h, int32_t w, int32_t c,
                             int32_t kh, int32_t kw, int32_t out, float *dwt, int32_t level) {
  if (kh * kw * c > KMAX) __builtin_trap();
#if defined(__x86_64__)
  if (level == 2) { conv_weight_gradient_avx512(x, dy, batch, h, w, c, kh, kw, out, dwt); return; }
  if (level == 1) { conv_weight_gradient_avx2(x, dy, batch, h, w, c, kh, kw, out, dwt); return; }
#endif
  conv_weight_gradient_baseline(x, dy, batch, h, w, c, kh, kw, out, dwt);
}
