import Tensor

/// Nearest-neighbour mixing, NNM (Allouah, Farhadkhani, Guerraoui, Gupta, Pinot & Stephan 2023,
/// "Fixing by mixing: a recipe for optimal Byzantine ML under heterogeneity", AISTATS): each
/// row becomes the mean of its n − f nearest neighbours (itself included). One GEMM: Y = W·X.
///
/// Worked example (f = 1): [1,2,3], [4,5,6], [7,8,9] → [2.5,3.5,4.5], [2.5,3.5,4.5] (ties go to
/// the lower index), [5.5,6.5,7.5].
public struct NNM: PreAggregator {
  public let name = "nnm"
  public let f: Int
  public init(f: Int) throws {
    guard f >= 0 else { throw AggregationError("f must be >= 0 for NNM: got f=\(f)") }
    self.f = f
  }
  public func problem(n: Int) -> String? { n > f ? nil : "NNM needs n > f: got n=\(n), f=\(f)" }
  public func transform(_ x: UpdateMatrix, context: RoundContext) throws -> UpdateMatrix {
    if let p = problem(n: x.rows) { throw AggregationError(p) }
    let n = x.rows, k = n - f
    let d = x.squaredDistances()
    var w = [Float](repeating: 0, count: n * n)
    for i in 0..<n {
      let order = (0..<n).sorted { d[i * n + $0] != d[i * n + $1] ? d[i * n + $0] < d[i * n + $1] : $0 < $1 }
      for j in order.prefix(k) { w[i * n + j] = 1 / Float(k) }
    }
    var y = [Float](repeating: 0, count: n * x.cols)
    x.data.withUnsafeBufferPointer { xp in
      y.withUnsafeMutableBufferPointer { yp in
        BLAS.gemm(.none, .none, m: n, n: x.cols, k: n, a: w, lda: n, b: xp.baseAddress!, ldb: x.cols, c: yp.baseAddress!, ldc: x.cols)
      }
    }
    return UpdateMatrix(rows: n, cols: x.cols, data: y, samples: x.samples, ids: x.ids)
  }
}

/// Bucketing (Karimireddy, He & Jaggi 2022, "Byzantine-robust learning on heterogeneous datasets
/// via bucketing", ICLR): shuffle the rows (seeded by the round), average consecutive groups of
/// s; a last smaller group is averaged too, so ⌈n/s⌉ rows come out.
///
/// Worked example (s = 2, identity permutation): [1,2], [3,4], [5,6] → [2,3], [5,6].
public struct Bucketing: PreAggregator {
  public let name = "bucketing"
  public let s: Int
  public init(s: Int) throws {
    guard s >= 1 else { throw AggregationError("s must be >= 1 for bucketing: got s=\(s)") }
    self.s = s
  }
  public func outputCount(n: Int) -> Int { (n + s - 1) / s }
  public func transform(_ x: UpdateMatrix, context: RoundContext) throws -> UpdateMatrix {
    var rng = context.rng(0xB0C)
    let order = rng.permutation(x.rows)
    return Self.buckets(x, order: order, s: s)
  }
  static func buckets(_ x: UpdateMatrix, order: [Int], s: Int) -> UpdateMatrix {
    var rows: [[Float]] = [], samples: [Int] = [], ids: [Int] = []
    var start = 0
    while start < order.count {
      let group = Array(order[start..<min(order.count, start + s)])
      var w = [Double](repeating: 0, count: x.rows)
      for i in group { w[i] = 1 / Double(group.count) }
      rows.append(x.combination(w))
      samples.append(group.reduce(0) { $0 + x.samples[$1] })
      ids.append(x.ids[group.min()!])
      start += s
    }
    return UpdateMatrix(rows, samples: samples, ids: ids)
  }
}

/// Static clipping: xᵢ ← xᵢ·min(1, c/‖xᵢ‖).
///
/// Worked example (c = 1): [3,4] → [0.6, 0.8]; [0, 0.5] unchanged.
public struct StaticClipping: PreAggregator {
  public let name = "clipping"
  public let c: Double
  public init(c: Double) throws {
    guard c > 0, c.isFinite else { throw AggregationError("c must be > 0 for clipping: got c=\(c)") }
    self.c = c
  }
  public func transform(_ x: UpdateMatrix, context: RoundContext) throws -> UpdateMatrix {
    Self.clip(x, thresholds: [Double](repeating: c, count: x.rows))
  }
  static func clip(_ x: UpdateMatrix, thresholds: [Double]) -> UpdateMatrix {
    var out = x
    let norms = x.norms()
    out.data.withUnsafeMutableBufferPointer { p in
      for i in 0..<x.rows where norms[i] > thresholds[i] {
        let s = Float(thresholds[i] / norms[i])
        for j in 0..<x.cols { p[i * x.cols + j] *= s }
      }
    }
    return out
  }
}

/// Adaptive robust clipping, ARC (Allouah, Guerraoui, Gupta, Jellouli, Rizk & Stephan 2024,
/// "The vital role of gradient clipping in Byzantine-resilient distributed learning"): the
/// k = ⌊2(f/n)(n − f)⌋ largest-norm rows are clipped to the norm of the (k+1)-th largest.
///
/// Worked example (f = 1, n = 3 → k = 1): [1,2,3], [4,5,6], [7,8,9]: norms 3.74, 8.77, 13.93;
/// the last is clipped to 8.77 → [4.410, 5.040, 5.670].
public struct ARC: PreAggregator {
  public let name = "arc"
  public let f: Int
  public init(f: Int) throws {
    guard f >= 0 else { throw AggregationError("f must be >= 0 for ARC: got f=\(f)") }
    self.f = f
  }
  public func problem(n: Int) -> String? { n > f ? nil : "ARC needs n > f: got n=\(n), f=\(f)" }
  public func transform(_ x: UpdateMatrix, context: RoundContext) throws -> UpdateMatrix {
    let n = x.rows
    let k = Int((2 * Double(f) / Double(n) * Double(n - f)).rounded(.down))
    guard k > 0, k < n else { return x }
    let norms = x.norms()
    let order = (0..<n).sorted { norms[$0] != norms[$1] ? norms[$0] < norms[$1] : $0 < $1 }
    let threshold = norms[order[n - k - 1]]
    var t = [Double](repeating: .infinity, count: n)
    for i in order[(n - k)...] { t[i] = threshold }
    return StaticClipping.clip(x, thresholds: t)
  }
}
