#ifndef BYZSIM_CKERNELS_H
#define BYZSIM_CKERNELS_H

#include <stdint.h>

/// The widest SIMD level this CPU runs: 2 = AVX-512F, 1 = AVX2, 0 = baseline x86-64 (or not x86).
int bz_simd_level(void);

/// Runs a comparator network lane-wise over n blocks of 16 floats stored one after another at
/// `v` (block r = row r's 16 coordinates): for each comparator k, lane by lane,
/// v[a[k]] = min(v[b[k]], v[a[k]]) and v[b[k]] = max(v[a[k]], v[b[k]]) — the minimum keeps the
/// lower slot's value on ties and the maximum the upper slot's, exactly like a swap when
/// v[b] < v[a], so every level gives bit-identical results (values must not be NaN).
/// `level` picks the instructions: 2 = AVX-512F, 1 = AVX2; anything else is a programming error
/// (the baseline network is Swift's SIMD16 code).
void bz_network16(float *v, const int32_t *a, const int32_t *b, int32_t comparators, int32_t level);

/// The same network on four independent groups at once (64 coordinates): group q's n blocks
/// start at v + 16·n·q. Interleaving four groups lets four comparator chains overlap, which
/// one group's chain of dependent loads and stores does not.
void bz_network16x4(float *v, int32_t n, const int32_t *a, const int32_t *b, int32_t comparators, int32_t level);

/// bz_tile_small's reductions (`mode` 0–2, `lo`, `hi` as there) of n rows already sorted in
/// memory: group q's n blocks of 16 at sorted + 16·n·q, its 16 results to out + 16·q, for q <
/// groups. AVX-512F only (`level` 2; anything else traps).
void bz_reduce_sorted(const float *sorted, int32_t n, int32_t groups, int32_t mode, int32_t lo, int32_t hi, float *out,
                      int32_t level);

/// The largest n that bz_tile_small takes (0 where it is not built: not x86-64).
int32_t bz_tile_small_max(void);

/// A whole column tile through Batcher's network for n rows (2 ≤ n ≤ bz_tile_small_max()),
/// unrolled on AVX-512 registers (networks.c, written by scripts/gen-networks.py; AVX-512F
/// only — the caller checks the CPU). The tile holds n rows of `width` floats one after
/// another; for each 16 of its first `columns` columns (a multiple of 16): `mode` 0 the median
/// (the middle row, or (lower + upper) × 0.5 for even n), 1 the mean of sorted rows lo..<hi
/// (summed from +0 in order, divided by hi − lo), 2 MeaMed's mean of the k = lo values closest
/// to the median (SortingNetwork.closestToMedian), into out[j ..< j + 16]; or `mode` 3 the sorted
/// rows themselves, row r of column group q = j / 16 at out + 16·(lo·q + r) (lo ≥ n: the groups'
/// stride in blocks of 16; hi unused). The comparators and the reductions are those of
/// SortingNetwork in Swift, in order: the bits are the same.
void bz_tile_small(const float *tile, int32_t n, int32_t width, int32_t columns, int32_t mode, int32_t lo, int32_t hi, float *out);


/// Keeps freed blocks in the heap (glibc: trim threshold 1 GiB; mmap threshold 32 MiB, and with
/// `map_large_blocks` 0 no block mapped on its own at all) so a process that allocates the same
/// big buffers every round stops page-faulting them in anew. With `map_large_blocks` 1, blocks of
/// 32 MiB and more are mapped and unmapped one by one (glibc's way) and the free memory kept so far
/// goes back to the system. Returns 1 when every setting
/// took, 0 otherwise (another libc).
int bz_heap_reuse(int map_large_blocks);

/// Returns the heap's free memory to the system (glibc's malloc_trim), e.g. after loading buffers
/// that will not be needed again.
void bz_heap_release(void);

/// The minor page faults of allocating `bytes`, writing every byte and freeing them (-1 if the
/// allocation failed).
long bz_heap_block_faults(long bytes);

/// 1 when the CPU runs AVX2 and FMA3 instructions (what OpenBLAS's Haswell kernels use), else 0.
int bz_cpu_avx2_fma(void);

/// Direct stride-1, unpadded convolution of NHWC images x (batch, h, w, c) with kh×kw kernels:
/// y[b, i, j, o] = bias[o] + Σ_k x[b, i + ki, j + kj, ci] · wt[k, o] for o < out, k = (ki·kw + kj)·c
/// + ci summed in that order after the bias, y (batch, h − kh + 1, w − kw + 1, out). wt is
/// (kh·kw·c, op) and bias (op) with op = out rounded up to 16 (the extra lanes are read, never
/// written out). `level`: 2 = AVX-512F, 1 = AVX2 with FMA, 0 = baseline x86-64, at most what the
/// CPU runs (a lower one is allowed: the results may differ in the last bits, FMA or not).
void bz_conv_forward(const float *x, int32_t batch, int32_t h, int32_t w, int32_t c, int32_t kh, int32_t kw,
                     int32_t out, const float *wt, const float *bias, float *y, int32_t level);

/// The weight gradient of bz_conv_forward: dwt[k, o] = Σ over (b, i, j) in order of
/// x[b, i + ki, j + kj, ci] · dy[b, i, j, o], dwt (kh·kw·c, op) overwritten (padding lanes zero);
/// kh·kw·c at most 32 (more traps).
void bz_conv_weight_gradient(const float *x, const float *dy, int32_t batch, int32_t h, int32_t w, int32_t c,
                             int32_t kh, int32_t kw, int32_t out, float *dwt, int32_t level);

/// The most rows bz_dense_rows takes at once.
#define BZ_DENSE_ROWS_MAX 8

/// y[r, j] = Σ_k w[j, k] · x[r, k] for r < rows (at most BZ_DENSE_ROWS_MAX; more traps), j < out,
/// k < in; x (rows, in), w (out, in), y (rows, out), row-major. The sum's order is fixed (16
/// partial sums over k ≡ l mod 16 by fused multiply-adds, then a pairwise tree), so a row's
/// result does not depend on `rows` or on the other rows, and is the same at every `level`
/// (2 = AVX-512F, 1 = AVX2 with FMA, 0 = plain C; at most what the CPU runs).
void bz_dense_rows(const float *x, int32_t rows, int32_t in, const float *w, int32_t out, float *y, int32_t level);

#endif
