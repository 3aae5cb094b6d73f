/// Bulyan (El Mhamdi, Guerraoui & Rouault 2018, "The hidden vulnerability of distributed
/// learning in Byzantium", ICML). Needs n ≥ 4f + 3.
///
/// 1. Selection: θ = n − 2f times, apply Krum to the remaining set and move its choice into S
///    (Krum scores recomputed on the shrinking set, over max(1, n' − f − 2) neighbours).
/// 2. Aggregation: per coordinate, the mean of the β = θ − 2f values of S closest to their median.
///
/// Variant: the paper's recursive Krum (not ByzFL's one-shot Multi-Krum ranking); Krum's
/// near-ties go to the lexicographically smaller row (see `Krum`).
///
/// Worked example (f = 0, so θ = β = n): every row is selected and the result is the per-coordinate
/// mean of the rows closest to the median = the plain mean; e.g. [1,2], [3,4], [5,9] → [3, 5].
public struct Bulyan: Aggregator {
  public let name = "bulyan"
  public let f: Int
  public init(f: Int) throws {
    guard f >= 0 else { throw AggregationError("f must be >= 0 for Bulyan: got f=\(f)") }
    self.f = f
  }
  public func problem(n: Int) -> String? { n >= 4 * f + 3 ? nil : "Bulyan needs n >= 4f + 3: got n=\(n), f=\(f)" }

  /// The θ = n − 2f rows chosen by recursive Krum.
  func selection(_ d: [Double], n: Int, rows: @escaping (Int) -> ArraySlice<Float>) -> [Int] {
    var remaining = Array(0..<n), chosen: [Int] = []
    while chosen.count < n - 2 * f {
      let m = remaining.count
      var sub = [Double](repeating: 0, count: m * m)
      for a in 0..<m { for b in 0..<m { sub[a * m + b] = d[remaining[a] * n + remaining[b]] } }
      let s = Krum.scores(sub, n: m, neighbours: max(1, m - f - 2))
      let best = Krum.ranking(s, rows: { rows(remaining[$0]) })[0]
      chosen.append(remaining.remove(at: best))
    }
    return chosen.sorted()
  }

  public func aggregate(_ x: UpdateMatrix, context: RoundContext) throws -> AggregationResult {
    if let p = problem(n: x.rows) { throw AggregationError(p) }
    let s = selection(x.squaredDistances(), n: x.rows, rows: { x.data[($0 * x.cols)..<(($0 + 1) * x.cols)] })
    return AggregationResult(vector: MeaMed.closestToMedian(x, rows: s, keep: s.count - 2 * f))
  }
}

/// Minimum-diameter averaging, MDA (El Mhamdi, Guerraoui, Guirguis, Hoang & Rouault 2020,
/// "Genuinely distributed Byzantine machine learning", PODC): the mean of the subset S of size
/// n − f whose diameter max_{i,j∈S} ‖xᵢ − xⱼ‖ is smallest. Exhaustive over the C(n, f) subsets
/// to leave out (refused beyond 5,000,000 of them). Needs n > 2f. Ties: the first subset in
/// lexicographic order of the left-out indices.
///
/// Worked example (f = 1): [0,0], [1,0], [9,0]: leaving out [9,0] gives diameter 1 → [0.5, 0].
public struct MDA: Aggregator {
  public let name = "mda"
  public let f: Int
  public init(f: Int) throws {
    guard f >= 0 else { throw AggregationError("f must be >= 0 for MDA: got f=\(f)") }
    self.f = f
  }
  static func binomial(_ n: Int, _ k: Int) -> Double {
    var r = 1.0
    for i in 0..<k { r = r * Double(n - i) / Double(i + 1) }
    return r
  }
  public func problem(n: Int) -> String? {
    if n <= 2 * f { return "MDA needs n > 2f: got n=\(n), f=\(f)" }
    if Self.binomial(n, f) > 5_000_000 { return "MDA would examine C(\(n), \(f)) subsets (> 5,000,000): use a smaller f or another rule" }
    return nil
  }
  public func aggregate(_ x: UpdateMatrix, context: RoundContext) throws -> AggregationResult {
    if let p = problem(n: x.rows) { throw AggregationError(p) }
    let n = x.rows
    let d = x.squaredDistances()
    var out = Array(0..<f)  // indices left out, lexicographic enumeration
    var bestOut = out, best = Double.infinity
    while true {
      let keep = (0..<n).filter { !out.contains($0) }
      var diameter = 0.0
      for a in 0..<keep.count {
        for b in (a + 1)..<keep.count where a + 1 < keep.count { diameter = max(diameter, d[keep[a] * n + keep[b]]) }
      }
      if diameter < best { best = diameter; bestOut = out }
      // next combination of f indices out of n
      var i = f - 1
      while i >= 0 && out[i] == n - f + i { i -= 1 }
      if i < 0 { break }
      out[i] += 1
      for j in (i + 1)..<f where i + 1 < f { out[j] = out[j - 1] + 1 }
    }
    let keep = (0..<n).filter { !bestOut.contains($0) }
    var w = [Double](repeating: 0, count: n)
    for i in keep { w[i] = 1 / Double(keep.count) }
    return AggregationResult(vector: x.mean(of: keep), weights: w)
  }
}

/// MoNNA (Farhadkhani, Guerraoui, Gupta, Hoang, Pinot & Stephan 2023, "Robust collaborative
/// learning with linear gradient overhead", ICML): the mean of the n − f nearest neighbours
/// (itself included) of a trusted pivot row `pivot`. Needs n > f and pivot < n.
///
/// Worked example (f = 1, pivot 0): [0,0], [1,0], [9,0] → neighbours of [0,0]: itself and [1,0] → [0.5, 0].
public struct MoNNA: Aggregator {
  public let name = "monna"
  public let f: Int
  public let pivot: Int
  public init(f: Int, pivot: Int = 0) throws {
    guard f >= 0 else { throw AggregationError("f must be >= 0 for MoNNA: got f=\(f)") }
    guard pivot >= 0 else { throw AggregationError("pivot must be >= 0 for MoNNA: got pivot=\(pivot)") }
    self.f = f; self.pivot = pivot
  }
  public func problem(n: Int) -> String? {
    if n <= f { return "MoNNA needs n > f: got n=\(n), f=\(f)" }
    if pivot >= n { return "MoNNA's pivot must be a row index < n: got pivot=\(pivot), n=\(n)" }
    return nil
  }
  public func aggregate(_ x: UpdateMatrix, context: RoundContext) throws -> AggregationResult {
    if let p = problem(n: x.rows) { throw AggregationError(p) }
    let n = x.rows
    let d = x.squaredDistances()
    let order = (0..<n).sorted { d[pivot * n + $0] != d[pivot * n + $1] ? d[pivot * n + $0] < d[pivot * n + $1] : $0 < $1 }
    let keep = Array(order.prefix(n - f)).sorted()
    var w = [Double](repeating: 0, count: n)
    for i in keep { w[i] = 1 / Double(keep.count) }
    return AggregationResult(vector: x.mean(of: keep), weights: w)
  }
}
