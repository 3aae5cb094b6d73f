import Tensor

/// Norm bounding with optional weak differential privacy (Sun, Kairouz, Suresh & McMahan 2019,
/// "Can you really backdoor federated learning?"): each update is clipped to norm M,
///
///     g = Σ nᵢ·xᵢ·min(1, M/‖xᵢ‖) / Σ nᵢ  +  N(0, σ²I)
///
/// (sample-weighted as FedAvg; the Gaussian noise, drawn from the round's seeded stream, only
/// when σ > 0).
///
/// Worked example (M = 1, σ = 0): [3,4] → [0.6,0.8]; [0,0.5] kept → [0.3, 0.65].
public struct NormBounding: Aggregator {
  public let name = "norm_bounding"
  public let bound: Double
  public let sigma: Double

  public init(bound: Double = 1, sigma: Double = 0) throws {
    guard bound > 0, bound.isFinite else { throw AggregationError("norm_bound must be > 0 for norm bounding: got \(bound)") }
    guard sigma >= 0, sigma.isFinite else { throw AggregationError("sigma must be >= 0 for norm bounding: got \(sigma)") }
    self.bound = bound; self.sigma = sigma
  }
  public func problem(n: Int) -> String? { n >= 1 ? nil : "norm bounding needs at least 1 update" }

  public func aggregate(_ x: UpdateMatrix, context: RoundContext) throws -> AggregationResult {
    let norms = x.norms()
    let total = Double(x.samples.reduce(0) { $0 + max($1, 1) })
    let w = (0..<x.rows).map { i in Double(max(x.samples[i], 1)) / total * (norms[i] > bound ? bound / norms[i] : 1) }
    var g = x.combination(w)
    if sigma > 0 {
      var rng = context.rng(0xD9)
      for j in g.indices { g[j] += Float(sigma * rng.nextNormal()) }
    }
    return AggregationResult(vector: g, weights: w)
  }
}

/// FLAME (Nguyen et al. 2022, "FLAME: taming backdoors in federated learning", USENIX Security):
///
/// 1. Clustering on cosine distances 1 − cos(xᵢ, xⱼ); admit the majority cluster
///    (at least ⌊n/2⌋ + 1 members).
/// 2. Adaptive clipping: S = median ‖xᵢ‖ over all updates (their distance to the global model);
///    admitted updates are scaled by min(1, S/‖xᵢ‖) and averaged.
/// 3. Adaptive noise: N(0, (λS)²) added to the aggregate, λ = 0.001 (the paper's value for image tasks).
///
/// Variant: the paper clusters with HDBSCAN (min_cluster_size = n/2 + 1, min_samples = 1,
/// single cluster allowed). With min_samples = 1 HDBSCAN's hierarchy is the single-linkage tree;
/// ByzSim admits the first single-linkage component to reach n/2 + 1 members, so updates that
/// join only at larger cosine distances are left out. Noise is added to the aggregated update.
///
/// Worked example (λ = 0): [1,0], [1,0.1], [0.9,0], [−1,0]: rows 0 and 2 merge at cosine distance
/// 0, then row 1 at 0.00496 → majority {0,1,2} (3 ≥ ⌊4/2⌋+1); S = median(1, 1.00499, 0.9, 1) = 1;
/// [1,0.1] is scaled by 1/1.00499 → mean of [1,0], [0.99504,0.09950], [0.9,0] = [0.965012, 0.033168].
public struct FLAME: Aggregator {
  public let name = "flame"
  public let lambda: Double

  public init(lambda: Double = 0.001) throws {
    guard lambda >= 0, lambda.isFinite else { throw AggregationError("lambda must be >= 0 for FLAME: got \(lambda)") }
    self.lambda = lambda
  }
  public func problem(n: Int) -> String? { n >= 1 ? nil : "FLAME needs at least 1 update" }

  /// Members of the first single-linkage component (cosine distance) of size ≥ n/2 + 1.
  static func majority(_ x: UpdateMatrix) -> [Int] {
    let n = x.rows
    if n <= 2 { return Array(0..<n) }
    let cos = x.cosineSimilarities()
    var edges: [(Double, Int, Int)] = []
    for i in 0..<n { for j in (i + 1)..<n { edges.append((1 - cos[i * n + j], i, j)) } }
    edges.sort { $0.0 != $1.0 ? $0.0 < $1.0 : ($0.1, $0.2) < ($1.1, $1.2) }
    var parent = Array(0..<n), size = [Int](repeating: 1, count: n)
    func root(_ a: Int) -> Int { var a = a; while parent[a] != a { parent[a] = parent[parent[a]]; a = parent[a] }; return a }
    let need = n / 2 + 1
    for (_, i, j) in edges {
      var a = root(i), b = root(j)
      if a == b { continue }
      if size[a] < size[b] { swap(&a, &b) }
      parent[b] = a
      size[a] += size[b]
      if size[a] >= need { return (0..<n).filter { root($0) == a } }
    }
    return Array(0..<n)
  }

  public func aggregate(_ x: UpdateMatrix, context: RoundContext) throws -> AggregationResult {
    let admitted = Self.majority(x)
    let norms = x.norms()
    let n = x.rows
    let s = Statistics.median(norms)
    var w = [Double](repeating: 0, count: n)
    for i in admitted { w[i] = (norms[i] > s && norms[i] > 0 ? s / norms[i] : 1) / Double(admitted.count) }
    var g = x.combination(w)
    if lambda > 0 {
      var rng = context.rng(0xF1A)
      for j in g.indices { g[j] += Float(lambda * s * rng.nextNormal()) }
    }
    return AggregationResult(vector: g, weights: w)
  }
}
