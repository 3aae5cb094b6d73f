/// FLTrust (Cao, Fang, Liu & Gong 2021, "FLTrust: Byzantine-robust federated learning via trust
/// bootstrapping", NDSS). The coordinator computes its own update g₀ on a small clean root
/// dataset every round (`RoundContext.reference`):
///
///     TSᵢ = ReLU(cos(xᵢ, g₀)),   x̄ᵢ = xᵢ·‖g₀‖/‖xᵢ‖,   g = Σ TSᵢ x̄ᵢ / Σ TSᵢ
///
/// (the zero vector when every trust score is 0).
///
/// Worked example: g₀ = [1,0]; [2,0] (TS 1, rescaled to [1,0]), [3,4] (TS 0.6, rescaled to
/// [0.6,0.8]), [−1,0] (TS 0) → (1·[1,0] + 0.6·[0.6,0.8]) / 1.6 = [0.85, 0.3].
public struct FLTrust: Aggregator {
  public let name = "fltrust"
  public init() {}
  public func problem(n: Int) -> String? { n >= 1 ? nil : "FLTrust needs at least 1 update" }
  public func aggregate(_ x: UpdateMatrix, context: RoundContext) throws -> AggregationResult {
    guard let g0 = context.reference, g0.count == x.cols else {
      throw AggregationError("FLTrust needs the coordinator's root-dataset update of length \(x.cols) (set coordinator.root_dataset_size)")
    }
    let g0Norm = g0.reduce(0.0) { $0 + Double($1) * Double($1) }.squareRoot()
    let norms = x.norms()
    let dots = x.combinationDots(g0)
    var w = [Double](repeating: 0, count: x.rows)
    for i in 0..<x.rows where norms[i] > 0 && g0Norm > 0 {
      let ts = max(0, dots[i] / (norms[i] * g0Norm))
      w[i] = ts * g0Norm / norms[i]
    }
    let total = (0..<x.rows).reduce(0.0) { acc, i in norms[i] > 0 && g0Norm > 0 ? acc + max(0, dots[i] / (norms[i] * g0Norm)) : acc }
    guard total > 0 else { return AggregationResult(vector: [Float](repeating: 0, count: x.cols), weights: w) }
    let scaled = w.map { $0 / total }
    return AggregationResult(vector: x.combination(scaled), weights: scaled)
  }
}
