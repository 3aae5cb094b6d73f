/// Divide-and-Conquer, DnC (Shejwalkar & Houmansadr 2021, "Manipulating the Byzantine:
/// optimizing model poisoning attacks and defenses for federated learning", NDSS), Algorithm 2:
///
///     repeat niters times: r = b random coordinates; Z = X_r − mean; v = top right singular
///        vector of Z; sᵢ = (zᵢ·v)²; keep the n − c·f rows of lowest score
///     return the mean of the rows kept in every iteration
///
/// Computed in n-space: with G = ZZᵀ and its top eigenpair (λ, u), sᵢ = λuᵢ². Coordinates are
/// drawn from the round's seeded stream (deterministic). Needs n > c·f.
///
/// Worked example (f = 1, c = 1, all 2 coordinates): [0,0], [1,0], [0,1], [10,10]: the top
/// direction is ≈ (1,1)/√2 and [10,10] scores far highest → mean of the other three = [1/3, 1/3].
public struct DnC: Aggregator {
  public let name = "dnc"
  public let f: Int
  public let iterations: Int
  public let subsample: Int
  public let filterFraction: Double

  public init(f: Int, iterations: Int = 5, subsample: Int = 10_000, filterFraction: Double = 1) throws {
    guard f >= 0 else { throw AggregationError("f must be >= 0 for DnC: got f=\(f)") }
    guard iterations >= 1 else { throw AggregationError("niters must be >= 1 for DnC: got \(iterations)") }
    guard subsample >= 1 else { throw AggregationError("subsample must be >= 1 for DnC: got \(subsample)") }
    guard filterFraction > 0 else { throw AggregationError("c must be > 0 for DnC: got c=\(filterFraction)") }
    self.f = f; self.iterations = iterations; self.subsample = subsample; self.filterFraction = filterFraction
  }
  var removed: Int { Int((filterFraction * Double(f)).rounded(.down)) }
  public func problem(n: Int) -> String? { n > removed ? nil : "DnC needs n > c·f: got n=\(n), c·f=\(removed)" }

  public func aggregate(_ x: UpdateMatrix, context: RoundContext) throws -> AggregationResult {
    if let p = problem(n: x.rows) { throw AggregationError(p) }
    let n = x.rows, b = min(subsample, x.cols)
    var good = Set(0..<n)
    var rng = context.rng(0xD0C)
    for _ in 0..<iterations {
      var coords = Array(0..<x.cols)
      if b < x.cols {
        for i in 0..<b { coords.swapAt(i, i + rng.nextInt(below: x.cols - i)) }
        coords = Array(coords[0..<b]).sorted()
      }
      // The sampled columns, centred (buffer pointers: indices are in range by construction).
      var z = [Float](repeating: 0, count: n * b)
      var mu = [Double](repeating: 0, count: b)
      x.data.withUnsafeBufferPointer { data in
        z.withUnsafeMutableBufferPointer { z in
          mu.withUnsafeMutableBufferPointer { mu in
            coords.withUnsafeBufferPointer { coords in
              for i in 0..<n { for t in 0..<b { z[i * b + t] = data[i * x.cols + coords[t]] } }
              for i in 0..<n { for t in 0..<b { mu[t] += Double(z[i * b + t]) / Double(n) } }
              for i in 0..<n { for t in 0..<b { z[i * b + t] -= Float(mu[t]) } }
            }
          }
        }
      }
      let g = UpdateMatrix(rows: n, cols: b, data: z).gram()
      let (lambda, u) = SymmetricEigen.top(g, n)
      let scores = u.map { lambda * $0 * $0 }
      let keep = scores.indices.sorted { scores[$0] != scores[$1] ? scores[$0] < scores[$1] : $0 < $1 }.prefix(n - removed)
      good.formIntersection(keep)
    }
    let kept = good.sorted()
    guard !kept.isEmpty else { throw AggregationError("DnC removed every update (c·f too large for these rounds)") }
    var w = [Double](repeating: 0, count: n)
    for i in kept { w[i] = 1 / Double(kept.count) }
    return AggregationResult(vector: x.mean(of: kept), weights: w)
  }
}
