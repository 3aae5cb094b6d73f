/// Krum and Multi-Krum (Blanchard, El Mhamdi, Guerraoui & Stainer 2017, "Machine learning with
/// adversaries: Byzantine tolerant gradient descent", NeurIPS).
///
/// score(i) = Σ_{j ∈ Nᵢ} ‖xᵢ − xⱼ‖², Nᵢ = the n − f − 2 nearest neighbours of xᵢ (itself excluded).
/// Krum returns the row of lowest score; Multi-Krum the mean of the m lowest-scoring rows
/// (m = n − f by default). Needs n > 2f + 2.
///
/// Variant: the paper's sum over n − f − 2 neighbours with squared distances (ByzFL averages
/// over n − f − 1 neighbours instead, which can select differently). Ties — scores within a
/// relative 1e-6, as for two mutual nearest neighbours — go to the lexicographically smaller
/// row, so the choice does not depend on the order of the rows.
/// Distances come from one Gram GEMM: ‖a − b‖² = ‖a‖² + ‖b‖² − 2a·b.
///
/// Worked example (f = 0, n = 3, so 1 neighbour): [0,0], [1,0], [5,0]: D = [[0,1,25],[1,0,16],
/// [25,16,0]]; scores 1, 1, 16 → Krum = [0,0] (tie → the smaller row); Multi-Krum with m = 2 → [0.5, 0].
public struct Krum: Aggregator {
  public let name: String
  public let f: Int
  /// Rows averaged: 1 for Krum, m for Multi-Krum (nil: n − f).
  public let m: Int?

  public init(f: Int, m: Int? = 1) throws {
    guard f >= 0 else { throw AggregationError("f must be >= 0 for Krum: got f=\(f)") }
    if let m, m < 1 { throw AggregationError("m must be >= 1 for Multi-Krum: got m=\(m)") }
    self.f = f; self.m = m
    name = m == 1 ? "krum" : "multi_krum"
  }

  public func problem(n: Int) -> String? {
    if n <= 2 * f + 2 { return "\(m == 1 ? "Krum" : "Multi-Krum") needs n > 2f + 2: got n=\(n), f=\(f)" }
    if let m, m > n { return "Multi-Krum needs m <= n: got m=\(m), n=\(n)" }
    return nil
  }

  /// Krum scores of every row from squared distances D (n×n): the sum of each row's `neighbours`
  /// smallest distances to the others.
  public static func scores(_ d: [Double], n: Int, neighbours k: Int) -> [Double] {
    (0..<n).map { i in
      var row = (0..<n).filter { $0 != i }.map { d[i * n + $0] }
      row.sort()
      return row.prefix(max(k, 0)).reduce(0, +)
    }
  }

  /// Indices ordered by ascending score; near-ties by the lexicographic order of the rows.
  static func ranking(_ scores: [Double], rows: (Int) -> ArraySlice<Float>) -> [Int] {
    scores.indices.sorted { a, b in
      let sa = scores[a], sb = scores[b]
      if abs(sa - sb) > 1e-6 * max(abs(sa), abs(sb)) { return sa < sb }
      let ra = rows(a), rb = rows(b)
      for (x, y) in zip(ra, rb) where x != y { return x < y }
      return a < b
    }
  }

  public func aggregate(_ x: UpdateMatrix, context: RoundContext) throws -> AggregationResult {
    if let p = problem(n: x.rows) { throw AggregationError(p) }
    let n = x.rows
    let s = Self.scores(x.squaredDistances(), n: n, neighbours: n - f - 2)
    let chosen = Array(Self.ranking(s, rows: { x.data[($0 * x.cols)..<(($0 + 1) * x.cols)] }).prefix(m ?? (n - f)))
    var w = [Double](repeating: 0, count: n)
    for i in chosen { w[i] = 1 / Double(chosen.count) }
    return AggregationResult(vector: chosen.count == 1 ? x.row(chosen[0]) : x.mean(of: chosen.sorted()), weights: w)
  }
}
