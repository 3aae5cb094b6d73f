/// Eigen-decomposition of a small symmetric matrix (n×n, row-major, Double) by cyclic Jacobi
/// rotations: deterministic and accurate, for the n-space forms of CAF and DnC (n ≤ a few hundred).
public enum SymmetricEigen {
  /// The largest eigenvalue and a unit eigenvector for it (Jacobi for small n; power iteration
  /// from a fixed start above 24 rows — the matrices here are positive semi-definite Gram
  /// matrices, so the dominant eigenvalue is the largest).
  public static func top(_ a: [Double], _ n: Int) -> (value: Double, vector: [Double]) {
    if n > 24 { return power(a, n) }
    let (values, vectors) = decompose(a, n)
    var best = 0
    for i in 1..<n where values[i] > values[best] { best = i }
    return (values[best], (0..<n).map { vectors[$0 * n + best] })
  }

  static func power(_ a: [Double], _ n: Int) -> (value: Double, vector: [Double]) {
    // Deterministic start: the diagonal plus a small index-dependent tilt (never orthogonal to
    // the top eigenvector of a PSD Gram matrix in practice).
    var v = [Double](repeating: 0, count: n)
    for i in 0..<n { v[i] = a[i * n + i] + 1e-3 * Double(i + 1) }
    var norm: Double = v.reduce(0.0) { $0 + $1 * $1 }.squareRoot()
    if norm == 0 { return (0, [Double](repeating: 1 / Double(n).squareRoot(), count: n)) }
    v = v.map { $0 / norm }
    var lambda = 0.0
    for _ in 0..<2000 {
      var w = [Double](repeating: 0, count: n)
      for i in 0..<n { var s = 0.0; for j in 0..<n { s += a[i * n + j] * v[j] }; w[i] = s }
      var next = 0.0
      for i in 0..<n { next += v[i] * w[i] }
      norm = w.reduce(0.0) { $0 + $1 * $1 }.squareRoot()
      if norm == 0 { return (0, v) }
      v = w.map { $0 / norm }
      if abs(next - lambda) <= 1e-13 * max(abs(next), 1e-300) { lambda = next; break }
      lambda = next
    }
    return (lambda, v)
  }

  /// Eigenvalues and eigenvectors (as columns of the returned row-major matrix).
  public static func decompose(_ input: [Double], _ n: Int) -> ([Double], [Double]) {
    var a = input
    var v = [Double](repeating: 0, count: n * n)
    for i in 0..<n { v[i * n + i] = 1 }
    if n == 1 { return ([a[0]], v) }
    for _ in 0..<100 {
      var off = 0.0, total = 0.0
      for i in 0..<n { for j in 0..<n { total += a[i * n + j] * a[i * n + j]; if i != j { off += a[i * n + j] * a[i * n + j] } } }
      if off <= 1e-24 * max(total, 1e-300) { break }
      for p in 0..<(n - 1) {
        for q in (p + 1)..<n {
          let apq = a[p * n + q]
          if abs(apq) < 1e-300 { continue }
          let theta = (a[q * n + q] - a[p * n + p]) / (2 * apq)
          let t = (theta >= 0 ? 1 : -1) / (abs(theta) + (theta * theta + 1).squareRoot())
          let c = 1 / (t * t + 1).squareRoot(), s = t * c
          for k in 0..<n {
            let akp = a[k * n + p], akq = a[k * n + q]
            a[k * n + p] = c * akp - s * akq
            a[k * n + q] = s * akp + c * akq
          }
          for k in 0..<n {
            let apk = a[p * n + k], aqk = a[q * n + k]
            a[p * n + k] = c * apk - s * aqk
            a[q * n + k] = s * apk + c * aqk
          }
          for k in 0..<n {
            let vkp = v[k * n + p], vkq = v[k * n + q]
            v[k * n + p] = c * vkp - s * vkq
            v[k * n + q] = s * vkp + c * vkq
          }
        }
      }
    }
    return ((0..<n).map { a[$0 * n + $0] }, v)
  }
}
