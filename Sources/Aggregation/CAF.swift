/// CAF, the covariance-bound agnostic filter (Allouah, Guerraoui & Stephan, "Towards trustworthy
/// federated learning with untrusted participants", ICML 2025):
///
///     c = 1;  while Σc > n − 2f:
///        μ = Σ cᵢxᵢ / Σc,  (λ, v) = top eigenpair of Σ_c = Σ cᵢ(xᵢ − μ)(xᵢ − μ)ᵀ / Σc
///        τᵢ = ((xᵢ − μ)·v)²,  cᵢ ← cᵢ(1 − τᵢ / maxⱼ τⱼ)
///     return the μ seen with the smallest λ
///
/// Variant: τ_max is taken over the rows that still carry weight (a row already filtered out
/// cannot stall the loop; ByzFL takes it over all rows), and the top eigenpair is exact and deterministic, computed in n-space from the Gram
/// matrix K = XXᵀ (the nonzero spectrum of Σ_c equals that of C^½ G C^½ / Σc with G the centred
/// Gram), instead of ByzFL's single power step from a random vector. Needs n > 2f.
///
/// Worked example (f = 1): [1,2,3], [4,5,6], [7,8,9]: μ = [4,5,6], v ∝ (1,1,1), τ = (27, 0, 27),
/// λ = 18; the weights become (0, 1, 0) and the loop ends → [4, 5, 6].
public struct CAF: Aggregator {
  public let name = "caf"
  public let f: Int
  public init(f: Int) throws {
    guard f >= 0 else { throw AggregationError("f must be >= 0 for CAF: got f=\(f)") }
    self.f = f
  }
  public func problem(n: Int) -> String? { n > 2 * f ? nil : "CAF needs n > 2f: got n=\(n), f=\(f)" }

  public func aggregate(_ x: UpdateMatrix, context: RoundContext) throws -> AggregationResult {
    if let p = problem(n: x.rows) { throw AggregationError(p) }
    let n = x.rows
    let k = x.gram()
    var c = [Double](repeating: 1, count: n)
    var best = c, bestLambda = Double.infinity
    var rounds = 0
    while c.reduce(0, +) > Double(n - 2 * f), rounds < 4 * n {
      rounds += 1
      let s = c.reduce(0, +)
      var a = [Double](repeating: 0, count: n)  // aᵢ = xᵢ·μ
      for i in 0..<n { for j in 0..<n { a[i] += k[i * n + j] * c[j] / s } }
      let b = zip(c, a).reduce(0) { $0 + $1.0 * $1.1 } / s  // ‖μ‖²
      var g = [Double](repeating: 0, count: n * n)
      for i in 0..<n { for j in 0..<n { g[i * n + j] = k[i * n + j] - a[i] - a[j] + b } }
      let r = c.map { $0.squareRoot() }
      var m = [Double](repeating: 0, count: n * n)
      for i in 0..<n { for j in 0..<n { m[i * n + j] = r[i] * g[i * n + j] * r[j] / s } }
      let (lambda, u) = SymmetricEigen.top(m, n)
      if lambda < bestLambda { bestLambda = lambda; best = c }
      guard lambda > 1e-30 else { break }
      // (xᵢ − μ)·v = (G C^½ u)ᵢ / √(Σc·λ)
      var tau = [Double](repeating: 0, count: n)
      for i in 0..<n {
        var p = 0.0
        for j in 0..<n { p += g[i * n + j] * r[j] * u[j] }
        tau[i] = p * p / (s * lambda)
      }
      let tmax = (0..<n).filter { c[$0] > 0 }.map { tau[$0] }.max() ?? 0
      guard tmax > 0 else { break }
      for i in 0..<n where c[i] > 0 { c[i] *= max(0, 1 - tau[i] / tmax) }
    }
    let s = best.reduce(0, +)
    let w = best.map { $0 / s }
    return AggregationResult(vector: x.combination(w), weights: w)
  }
}
