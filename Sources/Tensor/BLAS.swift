import COpenBLAS

/// Thin, typed wrappers over the OpenBLAS CBLAS routines ByzSim uses.
///
/// All matrices are row-major. A wrapper never allocates; the caller owns every buffer.
public enum BLAS {
  /// Whether an operand is used as stored or transposed.
  public enum Transpose: Sendable {
    case none, transposed
    var cblas: CBLAS_TRANSPOSE { self == .none ? CblasNoTrans : CblasTrans }
  }

  /// C ← alpha · op(A) · op(B) + beta · C, row-major single precision.
  ///
  /// - op(A) is (m, k), op(B) is (k, n), C is (m, n).
  /// - lda/ldb/ldc are the row strides of A, B, C *as stored* (before op).
  public static func gemm(
    _ transA: Transpose, _ transB: Transpose,
    m: Int, n: Int, k: Int,
    alpha: Float = 1,
    a: UnsafePointer<Float>, lda: Int,
    b: UnsafePointer<Float>, ldb: Int,
    beta: Float = 0,
    c: UnsafeMutablePointer<Float>, ldc: Int
  ) {
    precondition(m >= 0 && n >= 0 && k >= 0, "gemm: negative dimension m=\(m) n=\(n) k=\(k)")
    if m == 0 || n == 0 { return }
    cblas_sgemm(
      CblasRowMajor, transA.cblas, transB.cblas,
      Int32(m), Int32(n), Int32(k), alpha,
      a, Int32(lda), b, Int32(ldb), beta, c, Int32(ldc))
  }

  /// y ← alpha · op(A) · x + beta · y, A stored row-major (rows, cols).
  public static func gemv(
    _ trans: Transpose, rows: Int, cols: Int,
    alpha: Float = 1, a: UnsafePointer<Float>, lda: Int,
    x: UnsafePointer<Float>, beta: Float = 0, y: UnsafeMutablePointer<Float>
  ) {
    if rows == 0 || cols == 0 { return }
    cblas_sgemv(
      CblasRowMajor, trans.cblas, Int32(rows), Int32(cols), alpha,
      a, Int32(lda), x, 1, beta, y, 1)
  }

  /// y ← alpha · x + y over `count` floats.
  public static func axpy(count: Int, alpha: Float, x: UnsafePointer<Float>, y: UnsafeMutablePointer<Float>) {
    if count == 0 { return }
    cblas_saxpy(Int32(count), alpha, x, 1, y, 1)
  }

  /// Dot product of two `count`-float vectors.
  public static func dot(count: Int, _ x: UnsafePointer<Float>, _ y: UnsafePointer<Float>) -> Float {
    if count == 0 { return 0 }
    return cblas_sdot(Int32(count), x, 1, y, 1)
  }

  /// The number of threads OpenBLAS uses for one call.
  ///
  /// Set it to 1 in worker processes: many processes share two cores.
  public static var threads: Int {
    get { Int(openblas_get_num_threads()) }
    set {
      precondition(newValue >= 1, "BLAS.threads must be >= 1: got \(newValue)")
      openblas_set_num_threads(Int32(newValue))
    }
  }

  /// The kernels OpenBLAS chose when it loaded, in its own words ("Prescott", "Haswell", …).
  public static var coreName: String { openblas_get_corename().map { String(cString: $0) } ?? "unknown" }

  /// OpenBLAS's own description of its build (version, kernel, threading).
  public static var configuration: String {
    guard let c = openblas_get_config() else { return "unknown" }
    return String(cString: c)
  }
}
