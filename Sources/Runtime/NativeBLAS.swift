import CKernels
import Foundation
import Tensor

/// OpenBLAS (Debian's build picks its kernels when it loads) names a CPU by family and model; a
/// VM that hides the model ("Intel(R) Xeon(R) Processor") gets the generic Prescott (SSE3)
/// kernels although the CPU runs AVX2 and FMA — about half the speed on the small products of
/// federated training. `reexecIfGeneric()`, first thing in `main`, restarts the process with
/// `OPENBLAS_CORETYPE=Haswell` (OpenBLAS's AVX2 + FMA kernels) in that case; the variable is
/// inherited by every process the run starts. A user's own OPENBLAS_CORETYPE is left alone.
/// (The AVX-512 SkylakeX kernels measured slower than Haswell's on such a VM.)
public enum NativeBLAS {
  /// OpenBLAS's generic x86 targets: what an unrecognised CPU falls back to.
  static let generic: Set<String> = [
    "prescott", "core2", "penryn", "dunnington", "nehalem", "katmai", "coppermine", "northwood", "banias", "atom", "unknown",
  ]

  /// Whether this process should restart with the Haswell kernels.
  public static var shouldReexec: Bool {
    ProcessInfo.processInfo.environment["OPENBLAS_CORETYPE"] == nil && generic.contains(BLAS.coreName.lowercased())
      && bz_cpu_avx2_fma() == 1
  }

  /// Restarts this executable with the same arguments and OPENBLAS_CORETYPE=Haswell when OpenBLAS
  /// fell back to generic kernels on a CPU with AVX2 and FMA; returns (changing nothing else)
  /// otherwise, or if the restart fails.
  public static func reexecIfGeneric() {
    guard shouldReexec else { return }
    setenv("OPENBLAS_CORETYPE", "Haswell", 1)
    execv("/proc/self/exe", CommandLine.unsafeArgv)
    // Still here: the restart failed; this process keeps the generic kernels, its children get Haswell's.
  }
}
