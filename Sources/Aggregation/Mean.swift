/// Sample-weighted mean (FedAvg, McMahan et al. 2017): Σ nᵢ xᵢ / Σ nᵢ, with nᵢ the samples behind row i.
///
/// Worked example: rows [1,2,3], [4,5,6], [7,8,9] with samples 1, 1, 2 →
/// ([1,2,3] + [4,5,6] + 2·[7,8,9]) / 4 = [4.75, 5.75, 6.75].
public struct Mean: Aggregator {
  public let name = "mean"
  public init() {}
  public func problem(n: Int) -> String? { n >= 1 ? nil : "mean needs at least 1 update" }
  public func aggregate(_ x: UpdateMatrix, context: RoundContext) throws -> AggregationResult {
    let total = Double(x.samples.reduce(0) { $0 + max($1, 1) })
    let w = x.samples.map { Double(max($0, 1)) / total }
    return AggregationResult(vector: x.combination(w), weights: w)
  }
}

/// Coordinate-wise median (Yin et al. 2018, "Byzantine-robust distributed learning: towards
/// optimal statistical rates", ICML): [Median(x)]ₖ = median(x₁ₖ, …, xₙₖ); for even n the mean of
/// the two middle values (NumPy's convention).
///
/// Worked example: [1,2,3], [4,5,6], [7,8,90] → [4, 5, 6].
public struct CoordinateMedian: Aggregator {
  public let name = "median"
  public init() {}
  public func problem(n: Int) -> String? { n >= 1 ? nil : "median needs at least 1 update" }
  public func aggregate(_ x: UpdateMatrix, context: RoundContext) throws -> AggregationResult {
    if x.rows <= SortingNetwork.maxRows {
      return AggregationResult(
        vector: SortingNetwork.map(x, rows: nil, fused: .median, reduce: SortingNetwork.median) { v, n in Selection.median(v, n) })
    }
    return AggregationResult(vector: CoordinateWise.map(x) { v, n in Selection.median(v, n) })
  }
}

/// Coordinate-wise trimmed mean (Yin et al. 2018): per coordinate, drop the f largest and the
/// f smallest values and average the n − 2f others. Needs n > 2f.
///
/// Worked example (f = 1): [1,2,3], [4,5,60], [7,8,9] → column-wise middle values [4, 5, 9].
public struct TrimmedMean: Aggregator {
  public let name = "trimmed_mean"
  public let f: Int
  public init(f: Int) throws {
    guard f >= 0 else { throw AggregationError("f must be >= 0 for trimmed mean: got f=\(f)") }
    self.f = f
  }
  public func problem(n: Int) -> String? { n > 2 * f ? nil : "trimmed mean needs n > 2f: got n=\(n), f=\(f)" }
  public func aggregate(_ x: UpdateMatrix, context: RoundContext) throws -> AggregationResult {
    if let p = problem(n: x.rows) { throw AggregationError(p) }
    let f = self.f
    let scalar: (UnsafeMutablePointer<Float>, Int) -> Float = { v, n in
      if f > 0 {
        Selection.select(v, n, f)  // v[0..<f] are the f smallest
        Selection.select(v + f, n - f, n - 2 * f)  // then v[f..<n-f] are the middle ones
      }
      var s = 0.0
      for i in f..<(n - f) { s += Double(v[i]) }
      return Float(s / Double(n - 2 * f))
    }
    if x.rows <= SortingNetwork.maxRows {
      return AggregationResult(
        vector: SortingNetwork.map(
          x, rows: nil, fused: .trimmedMean(f: f), reduce: { SortingNetwork.trimmedMean($0, $1, f: f) }, scalar: scalar))
    }
    return AggregationResult(vector: CoordinateWise.map(x, scalar))
  }
}

/// Mean around the median, MeaMed (Xie, Koyejo & Gupta 2018, "Generalized Byzantine-tolerant
/// SGD"): per coordinate, the average of the n − f values closest to the coordinate's median.
/// Needs n > 2f.
///
/// Worked example (f = 1): [1,2,3], [4,5,6], [8,9,90]: medians [4,5,6]; per coordinate the 2 values
/// closest to the median: {4, 1} (8 is farther), {5, 2}, {6, 3} → [2.5, 3.5, 4.5].
public struct MeaMed: Aggregator {
  public let name = "meamed"
  public let f: Int
  public init(f: Int) throws {
    guard f >= 0 else { throw AggregationError("f must be >= 0 for MeaMed: got f=\(f)") }
    self.f = f
  }
  public func problem(n: Int) -> String? { n > 2 * f ? nil : "MeaMed needs n > 2f: got n=\(n), f=\(f)" }
  public func aggregate(_ x: UpdateMatrix, context: RoundContext) throws -> AggregationResult {
    if let p = problem(n: x.rows) { throw AggregationError(p) }
    return AggregationResult(vector: Self.closestToMedian(x, rows: nil, keep: x.rows - f))
  }

  /// Per coordinate, the mean of the `keep` values of `rows` closest to their median (shared with Bulyan).
  static func closestToMedian(_ x: UpdateMatrix, rows: [Int]?, keep: Int) -> [Float] {
    let n = rows?.count ?? x.rows
    if n <= SortingNetwork.maxRows {
      return SortingNetwork.map(
        x, rows: rows, fused: .closestToMedian(k: keep), reduce: { SortingNetwork.closestToMedian($0, $1, k: keep) },
        scalar: { v, n in scalarClosestToMedian(v, n, keep: keep) })
    }
    return CoordinateWise.map(x, rows: rows) { v, n in scalarClosestToMedian(v, n, keep: keep) }
  }

  /// One coordinate: the mean of the `keep` values closest to the median (sorts v in place).
  static func scalarClosestToMedian(_ v: UnsafeMutablePointer<Float>, _ n: Int, keep: Int) -> Float {
    Selection.insertionSort(v, n)
    let m = n % 2 == 1 ? v[n / 2] : Float((Double(v[n / 2 - 1]) + Double(v[n / 2])) / 2)
    var best = 0, bestCost = Float.infinity
    for s in 0...(n - keep) {
      let cost = max(m - v[s], v[s + keep - 1] - m)
      if cost < bestCost { bestCost = cost; best = s }
    }
    var sum = 0.0
    for i in best..<(best + keep) { sum += Double(v[i]) }
    return Float(sum / Double(keep))
  }
}
