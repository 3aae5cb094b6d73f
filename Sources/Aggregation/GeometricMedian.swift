/// Geometric median by the smoothed Weiszfeld algorithm — RFA (Pillutla, Kakade & Harchaoui
/// 2022, "Robust aggregation for federated learning", IEEE TSP, Algorithm 2):
///
///     z ← Σ βᵢ xᵢ / Σ βᵢ,   βᵢ = αᵢ / max(ν, ‖z − xᵢ‖)
///
/// starting from the weighted mean, αᵢ the sample weights, for at most `iterations` steps or
/// until a step moves z by less than `tolerance` × the median distance ‖z − xᵢ‖.
/// Computed in n-space: z = Σ wᵢ xᵢ, so ‖z − xᵢ‖² = wᵀKw − 2(Kw)ᵢ + Kᵢᵢ with K = XXᵀ (one GEMM),
/// and a step's length is ‖Δz‖² = ΔwᵀKΔw.
///
/// Variant: RFA's ν-smoothing with ν = 1e-6 by default (ByzFL uses ν = 0.1 and exactly T = 3
/// steps from the zero vector). RFA stops when the objective Σ αᵢ‖z − xᵢ‖ improves by less than
/// a relative tolerance; a Byzantine row of huge norm dominates that objective, so the rule
/// stops while z is still far from the honest rows (3 rows of norm 1e12 among 10 took the
/// result over). The step-length rule, relative to the median distance, is blind to such rows.
///
/// Worked example: [0,0], [2,0], [0,2] (equal weights): the Fermat point of the triangle, where
/// each side subtends 120°: (1 − 1/√3)·(1, 1) ≈ [0.42265, 0.42265].
public struct GeometricMedian: Aggregator {
  public let name = "geometric_median"
  public let nu: Double
  public let iterations: Int
  public let tolerance: Double

  public init(nu: Double = 1e-6, iterations: Int = 100, tolerance: Double = 1e-10) throws {
    guard nu > 0 else { throw AggregationError("nu must be > 0 for the geometric median: got nu=\(nu)") }
    guard iterations >= 1 else { throw AggregationError("iterations must be >= 1 for the geometric median: got \(iterations)") }
    self.nu = nu; self.iterations = iterations; self.tolerance = tolerance
  }

  public func problem(n: Int) -> String? { n >= 1 ? nil : "the geometric median needs at least 1 update" }

  public func aggregate(_ x: UpdateMatrix, context: RoundContext) throws -> AggregationResult {
    let n = x.rows
    let k = x.gram()
    let total = Double(x.samples.reduce(0) { $0 + max($1, 1) })
    let alpha = x.samples.map { Double(max($0, 1)) / total }
    var w = alpha
    func distances(_ w: [Double]) -> [Double] {
      var kw = [Double](repeating: 0, count: n)
      for i in 0..<n { for j in 0..<n { kw[i] += k[i * n + j] * w[j] } }
      let wkw = zip(w, kw).reduce(0) { $0 + $1.0 * $1.1 }
      return (0..<n).map { max(0, wkw - 2 * kw[$0] + k[$0 * n + $0]).squareRoot() }
    }
    func stepLength(_ dw: [Double]) -> Double {
      var s = 0.0
      for i in 0..<n where dw[i] != 0 { for j in 0..<n { s += dw[i] * k[i * n + j] * dw[j] } }
      return max(0, s).squareRoot()
    }
    var dist = distances(w)
    for _ in 0..<iterations {
      let beta = (0..<n).map { alpha[$0] / max(nu, dist[$0]) }
      let s = beta.reduce(0, +)
      let next = beta.map { $0 / s }
      let step = stepLength(zip(next, w).map { $0 - $1 })
      w = next
      dist = distances(w)
      if step <= tolerance * max(dist.sorted()[n / 2], nu) { break }
    }
    return AggregationResult(vector: x.combination(w), weights: w)
  }
}
