import CKernels

/// The instruction level of the C kernels that multiply and add (the direct convolutions, the
/// row-independent dense layer): 2 = AVX-512F, 1 = AVX2 + FMA, 0 = baseline. Every level gives
/// the same bits; the level only sets the speed.
public enum SIMDLevel {
  /// The widest level this CPU runs (read once; AVX2 counts only alongside FMA).
  public static let best: Int32 = {
    let level = Int32(bz_simd_level())
    return level == 1 && bz_cpu_avx2_fma() == 0 ? 0 : level
  }()
}
