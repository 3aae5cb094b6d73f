import Tensor

/// The updates of one round: an n×d row-major Float32 matrix (row i = update of `ids[i]`),
/// with each row's sample count. Aggregators read it without copying.
public struct UpdateMatrix: Sendable {
  public let rows: Int
  public let cols: Int
  public var data: [Float]
  /// Samples behind each row (for sample-weighted rules); 1 when unknown.
  public var samples: [Int]
  /// Worker id of each row (for rules with per-worker history), ascending in the coordinator.
  public var ids: [Int]

  public init(rows: Int, cols: Int, data: [Float], samples: [Int]? = nil, ids: [Int]? = nil) {
    precondition(data.count == rows * cols, "matrix holds \(data.count) floats, expected \(rows)×\(cols)")
    self.rows = rows; self.cols = cols; self.data = data
    self.samples = samples ?? [Int](repeating: 1, count: rows)
    self.ids = ids ?? Array(0..<rows)
  }

  /// Builds a matrix from row vectors of equal length (one allocation, one copy per row).
  public init(_ vectors: [[Float]], samples: [Int]? = nil, ids: [Int]? = nil) {
    precondition(!vectors.isEmpty, "no vectors")
    let d = vectors[0].count
    precondition(vectors.allSatisfy { $0.count == d }, "vectors of different lengths")
    let data = [Float](unsafeUninitializedCapacity: vectors.count * d) { buffer, count in
      for (i, v) in vectors.enumerated() where d > 0 {
        v.withUnsafeBufferPointer { src in (buffer.baseAddress! + i * d).update(from: src.baseAddress!, count: d) }
      }
      count = vectors.count * d
    }
    self.init(rows: vectors.count, cols: d, data: data, samples: samples, ids: ids)
  }

  public func row(_ i: Int) -> [Float] { Array(data[(i * cols)..<((i + 1) * cols)]) }

  /// The matrix of the given rows, in that order.
  public func selecting(_ indices: [Int]) -> UpdateMatrix {
    var out = [Float](repeating: 0, count: indices.count * cols)
    data.withUnsafeBufferPointer { src in
      out.withUnsafeMutableBufferPointer { dst in
        for (k, i) in indices.enumerated() {
          (dst.baseAddress! + k * cols).update(from: src.baseAddress! + i * cols, count: cols)
        }
      }
    }
    return UpdateMatrix(rows: indices.count, cols: cols, data: out, samples: indices.map { samples[$0] }, ids: indices.map { ids[$0] })
  }

  /// Euclidean norm of each row (accumulated in Double).
  public func norms() -> [Double] {
    data.withUnsafeBufferPointer { p in
      (0..<rows).map { i in (Kernels.sumOfSquares(p.baseAddress! + i * cols, count: cols) ?? .nan).squareRoot() }
    }
  }

  /// K = X·Xᵀ (n×n, Double) from one SGEMM.
  public func gram() -> [Double] {
    var k = [Float](repeating: 0, count: rows * rows)
    data.withUnsafeBufferPointer { x in
      k.withUnsafeMutableBufferPointer { c in
        BLAS.gemm(
          .none, .transposed, m: rows, n: rows, k: cols, a: x.baseAddress!, lda: cols,
          b: x.baseAddress!, ldb: cols, c: c.baseAddress!, ldc: rows)
      }
    }
    return k.map(Double.init)
  }

  /// Cosine similarities C[i][j] = Kᵢⱼ / √(Kᵢᵢ·Kⱼⱼ) from the Gram matrix (0 when either row is 0).
  public func cosineSimilarities() -> [Double] {
    let k = gram(), n = rows
    var c = [Double](repeating: 0, count: n * n)
    for i in 0..<n {
      for j in 0..<n {
        let d = (k[i * n + i] * k[j * n + j]).squareRoot()
        c[i * n + j] = d > 0 ? k[i * n + j] / d : 0
      }
    }
    return c
  }

  /// Squared Euclidean distances D[i][j] = K_ii + K_jj − 2K_ij (the Gram trick), clamped at 0.
  public func squaredDistances() -> [Double] {
    let k = gram()
    var d = [Double](repeating: 0, count: rows * rows)
    for i in 0..<rows {
      for j in 0..<rows where j != i {
        d[i * rows + j] = max(0, k[i * rows + i] + k[j * rows + j] - 2 * k[i * rows + j])
      }
    }
    return d
  }

  /// Σ w_i x_i (weights need not sum to 1), via one GEMV.
  public func combination(_ weights: [Double]) -> [Float] {
    precondition(weights.count == rows)
    var w = weights.map(Float.init)
    var out = [Float](repeating: 0, count: cols)
    data.withUnsafeBufferPointer { x in
      BLAS.gemv(.transposed, rows: rows, cols: cols, a: x.baseAddress!, lda: cols, x: &w, y: &out)
    }
    return out
  }

  /// The plain mean of the given rows (all rows if nil).
  public func mean(of indices: [Int]? = nil) -> [Float] {
    let idx = indices ?? Array(0..<rows)
    var w = [Double](repeating: 0, count: rows)
    for i in idx { w[i] += 1 / Double(idx.count) }
    return combination(w)
  }
}
