@testable import Tensor

/// Naive reference implementations the kernels are checked against, and helpers.
enum Reference {
  /// C = op(A)·op(B) with triple loops in Double. A stored (ta ? k×m : m×k), B (tb ? n×k : k×n).
  static func gemm(_ a: [Float], _ b: [Float], m: Int, n: Int, k: Int, ta: Bool, tb: Bool) -> [Float] {
    var c = [Float](repeating: 0, count: m * n)
    for i in 0..<m {
      for j in 0..<n {
        var s = 0.0
        for p in 0..<k {
          let av = ta ? a[p * m + i] : a[i * k + p]
          let bv = tb ? b[j * k + p] : b[p * n + j]
          s += Double(av) * Double(bv)
        }
        c[i * n + j] = Float(s)
      }
    }
    return c
  }

  static func random(_ count: Int, seed: UInt64) -> [Float] {
    var rng = RandomStream(seed: seed, 99)
    return (0..<count).map { _ in rng.nextFloat() * 2 - 1 }
  }

  /// max |a − b| / (1 + |b|) over the elements.
  static func maxRelativeError(_ a: [Float], _ b: [Float]) -> Float {
    precondition(a.count == b.count)
    var worst: Float = 0
    for (x, y) in zip(a, b) { worst = max(worst, abs(x - y) / (1 + abs(y))) }
    return worst
  }
}
