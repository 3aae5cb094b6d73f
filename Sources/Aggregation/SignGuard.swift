import Tensor

/// SignGuard (Xu, Huang, Zhang & Song 2022, "Byzantine-robust federated learning through
/// collaborative malicious gradient filtering", ICDCS), Algorithm 1:
///
/// 1. Norm filter: M = median ‖xᵢ‖; S₁ = {i : L ≤ ‖xᵢ‖/M ≤ R} (L = 0.1, R = 3).
/// 2. Sign clustering: on a random fraction of the coordinates (seeded), each update's features
///    are its fractions of positive, zero and negative entries; mean-shift clustering (flat
///    kernel) and S₂ = the largest cluster.
/// 3. Output: the mean over S₁ ∩ S₂ of xᵢ·min(1, M/‖xᵢ‖).
///
/// Variant: mean shift with a flat kernel; the bandwidth, unless given, is estimated as in
/// scikit-learn's `estimate_bandwidth(quantile = 0.3)` (mean distance to the ⌊0.3n⌋-th nearest
/// neighbour, the point itself counted first). If S₁ ∩ S₂ is empty, S₁ alone.
///
/// Worked example: [1,1], [1,2], [2,1], [−50,−50]: norms 1.41, 2.24, 2.24, 70.7; M = 2.24;
/// the last has ratio 31.6 > 3 and is dropped; the others are kept and clipped to 2.24 (already
/// within) → mean [4/3, 4/3].
public struct SignGuard: Aggregator {
  public let name = "signguard"
  public let lower: Double, upper: Double, coordinateFraction: Double, bandwidth: Double

  public init(lower: Double = 0.1, upper: Double = 3, coordinateFraction: Double = 0.1, bandwidth: Double = 0) throws {
    guard lower >= 0, upper > lower else {
      throw AggregationError("SignGuard needs 0 <= lower < upper: got lower=\(lower), upper=\(upper)")
    }
    guard coordinateFraction > 0, coordinateFraction <= 1 else {
      throw AggregationError("coordinate_fraction must be in (0, 1] for SignGuard: got \(coordinateFraction)")
    }
    guard bandwidth >= 0 else { throw AggregationError("bandwidth must be >= 0 for SignGuard: got \(bandwidth)") }
    self.lower = lower; self.upper = upper; self.coordinateFraction = coordinateFraction; self.bandwidth = bandwidth
  }
  public func problem(n: Int) -> String? { n >= 1 ? nil : "SignGuard needs at least 1 update" }

  public func aggregate(_ x: UpdateMatrix, context: RoundContext) throws -> AggregationResult {
    let n = x.rows
    let norms = x.norms()
    let m = Statistics.median(norms)
    let s1 = Set((0..<n).filter { m > 0 && norms[$0] / m >= lower && norms[$0] / m <= upper })
    // Sign features on a random subset of coordinates.
    let k = max(1, Int(coordinateFraction * Double(x.cols)))
    var rng = context.rng(0x5161)
    var coords = Array(0..<x.cols)
    for i in 0..<k { coords.swapAt(i, i + rng.nextInt(below: x.cols - i)) }
    let features: [[Double]] = (0..<n).map { i in
      var pos = 0, zero = 0, neg = 0
      for j in coords[0..<k] {
        let v = x.data[i * x.cols + j]
        if v > 0 { pos += 1 } else if v < 0 { neg += 1 } else { zero += 1 }
      }
      return [Double(pos), Double(zero), Double(neg)].map { $0 / Double(k) }
    }
    let labels = MeanShift.cluster(features, bandwidth: bandwidth)
    var counts: [Int: Int] = [:]
    for l in labels { counts[l, default: 0] += 1 }
    let biggest = counts.keys.sorted().max { counts[$0]! < counts[$1]! }!
    let s2 = Set((0..<n).filter { labels[$0] == biggest })
    var chosen = s1.intersection(s2).sorted()
    if chosen.isEmpty { chosen = s1.sorted() }
    var w = [Double](repeating: 0, count: n)
    for i in chosen { w[i] = (norms[i] > m ? m / norms[i] : 1) / Double(chosen.count) }
    return AggregationResult(vector: x.combination(w), weights: w)
  }
}

/// Flat-kernel mean shift on small point sets (SignGuard's clustering).
enum MeanShift {
  static func distance(_ a: [Double], _ b: [Double]) -> Double {
    zip(a, b).reduce(0) { $0 + ($1.0 - $1.1) * ($1.0 - $1.1) }.squareRoot()
  }

  /// scikit-learn's estimate_bandwidth(quantile = 0.3).
  static func estimateBandwidth(_ p: [[Double]]) -> Double {
    let n = p.count
    let k = max(1, Int(Double(n) * 0.3))
    let total = p.indices.reduce(0.0) { acc, i in
      let d = p.indices.map { distance(p[i], p[$0]) }.sorted()
      return acc + d[min(k, n) - 1]
    }
    return total / Double(n)
  }

  /// A cluster label per point (labels are indices of distinct modes).
  static func cluster(_ p: [[Double]], bandwidth h0: Double) -> [Int] {
    let h = h0 > 0 ? h0 : estimateBandwidth(p)
    guard h > 0 else { return [Int](repeating: 0, count: p.count) }
    var modes: [([Double], Int)] = []
    for start in p {
      var c = start
      for _ in 0..<300 {
        let near = p.filter { distance($0, c) <= h }
        let next = (0..<c.count).map { j in near.reduce(0) { $0 + $1[j] } / Double(near.count) }
        let moved = distance(next, c)
        c = next
        if moved < 1e-3 * h { break }
      }
      modes.append((c, p.filter { distance($0, c) <= h }.count))
    }
    // Keep the densest modes first, dropping those within h of a kept one.
    var kept: [[Double]] = []
    for (mode, _) in modes.enumerated().sorted(by: { $0.element.1 != $1.element.1 ? $0.element.1 > $1.element.1 : $0.offset < $1.offset })
      .map({ $0.element })
    {
      if !kept.contains(where: { distance($0, mode) < h }) { kept.append(mode) }
    }
    return p.map { q in kept.indices.min { distance(kept[$0], q) < distance(kept[$1], q) }! }
  }
}
