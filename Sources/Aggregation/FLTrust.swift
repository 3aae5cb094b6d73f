/// FLTrust (Cao, Fang, Liu & Gong 2021, "FLTrust: Byzantine-robust federated learning via trust
/// bootstrapping", NDSS). The coordinator computes its own update g₀ on a small clean root
/// dataset every round (`RoundContext.reference`):
///
///     TSᵢ = ReLU(cos(xᵢ, g₀)),   x̄ᵢ = xᵢ·‖g₀‖/‖xᵢ‖,   g = Σ TSᵢ x̄ᵢ / Σ TSᵢ
///
/// (the zero vector when every trust score is 0). Each worker's reported weight is its share of
/// the trust, TSᵢ / Σ TS.
///
/// Worked example: g₀ = [1,0]; [2,0] (TS 1, rescaled to [1,0]), [3,4] (TS 0.6, rescaled to
/// [0.6,0.8]), [−1,0] (TS 0) → (1·[1,0] + 0.6·[0.6,0.8]) / 1.6 = [0.85, 0.3]; weights
/// 1/1.6, 0.6/1.6, 0 = 0.625, 0.375, 0.
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
    // Trust scores, and each row's coefficient in Σ TSᵢ·x̄ᵢ (x̄ᵢ = xᵢ·‖g₀‖/‖xᵢ‖).
    var trust = [Double](repeating: 0, count: x.rows), coefficient = trust
    for i in 0..<x.rows where norms[i] > 0 && g0Norm > 0 {
      trust[i] = max(0, dots[i] / (norms[i] * g0Norm))
      coefficient[i] = trust[i] * g0Norm / norms[i]
    }
    let total = trust.reduce(0, +)
    guard total > 0 else { return AggregationResult(vector: [Float](repeating: 0, count: x.cols), weights: trust) }
    // The reported weight of a worker is its share of the trust, TSᵢ / Σ TS (they sum to 1).
    return AggregationResult(vector: x.combination(coefficient.map { $0 / total }), weights: trust.map { $0 / total })
  }
}
