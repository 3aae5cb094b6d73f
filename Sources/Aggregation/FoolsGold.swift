import Tensor
import Foundation

/// FoolsGold (Fung, Yoon & Beschastnikh 2020, "The limitations of federated learning in Sybil
/// settings", RAID), Algorithm 1 without feature-importance weighting. Keeps each worker's
/// history Hᵢ = Σ_rounds xᵢ; with cs = cosine similarities of histories:
///
///     vᵢ = maxⱼ csᵢⱼ;  pardoning: if vⱼ > vᵢ, csᵢⱼ ← csᵢⱼ·vᵢ/vⱼ;  αᵢ = 1 − maxⱼ csᵢⱼ, clipped to [0,1]
///     α ← α / max α;  α = 1 → 0.99;  α ← clip(κ(ln(α/(1−α)) + 0.5), 0, 1),  κ = 1
///
/// Variant: the output is the α-weighted mean Σ αᵢxᵢ / Σ αᵢ (the paper scales the raw sum by
/// the learning rate); the zero vector when every α is 0.
///
/// Worked example (first round): [1,0], [1,0], [0,1] from workers 0, 1, 2: cs₀₁ = 1, others 0;
/// α = (0, 0, 1) → 0.99 → logit 5.09 → 1; output [0, 1].
public struct FoolsGold: Aggregator {
  public let name = "foolsgold"
  public let kappa: Double
  /// Each worker's accumulated updates.
  public private(set) var history = WorkerHistories()

  public init(kappa: Double = 1) throws {
    guard kappa > 0 else { throw AggregationError("kappa must be > 0 for FoolsGold: got kappa=\(kappa)") }
    self.kappa = kappa
  }
  public func problem(n: Int) -> String? { n >= 1 ? nil : "FoolsGold needs at least 1 update" }

  public var state: [Float] { history.encoded }
  public mutating func restore(state s: [Float]) throws { history = try WorkerHistories(decoding: s, owner: "FoolsGold") }

  public mutating func aggregate(_ x: UpdateMatrix, context: RoundContext) throws -> AggregationResult {
    history.add(x)
    let alpha = Self.weights(history.matrix(x.ids), kappa: kappa)
    let total = alpha.reduce(0, +)
    guard total > 0 else { return AggregationResult(vector: [Float](repeating: 0, count: x.cols), weights: alpha) }
    let w = alpha.map { $0 / total }
    return AggregationResult(vector: x.combination(w), weights: w)
  }

  /// The FoolsGold learning-rate weights α from the histories (rows of `h`).
  static func weights(_ h: UpdateMatrix, kappa: Double) -> [Double] {
    let n = h.rows
    if n == 1 { return [1] }
    var cs = h.cosineSimilarities()
    for i in 0..<n { cs[i * n + i] = 0 }  // only other workers count
    let v = (0..<n).map { i in (0..<n).filter { $0 != i }.map { cs[i * n + $0] }.max()! }
    for i in 0..<n { for j in 0..<n where i != j && v[j] > v[i] && v[j] != 0 { cs[i * n + j] *= v[i] / v[j] } }
    var alpha = (0..<n).map { i in min(1, max(0, 1 - (0..<n).filter { $0 != i }.map { cs[i * n + $0] }.max()!)) }
    let top = alpha.max()!
    guard top > 0 else { return alpha }
    alpha = alpha.map { $0 / top }
    return alpha.map { a in
      let b = a >= 1 ? 0.99 : a
      if b <= 0 { return 0 }
      return min(1, max(0, kappa * (log(b / (1 - b)) + 0.5)))
    }
  }
}
