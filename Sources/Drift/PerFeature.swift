/// The multivariate forms of the per-feature detectors, shared by `byzsim drift` and the
/// server's monitor: each feature (column) tested on its own, the family corrected or reduced.
/// Samples are given column-major: `columns[j]` is feature j's observations.
public enum PerFeature {
  /// The worst of the features' results and where it came from.
  public struct Summary: Sendable, Equatable {
    /// The largest statistic over the features, and its feature.
    public let statistic: Double
    public let statisticFeature: Int
    /// The smallest p-value (where the detector has one), its feature, and that p times the
    /// number of features, capped at 1 (Bonferroni).
    public let pValue: Double?
    public let pValueFeature: Int
    public let adjustedPValue: Double?
    /// KS: whether the smallest p-value was exact.
    public let exact: Bool?
  }

  /// Two-sample KS on every feature, Bonferroni-corrected.
  public static func kolmogorovSmirnov(reference: [[Double]], current: [[Double]]) -> Summary {
    precondition(reference.count == current.count && !reference.isEmpty, "KS needs the same features in both samples")
    let results = zip(reference, current).map { KolmogorovSmirnov.test($0, $1) }
    let s = results.indices.max { results[$0].statistic < results[$1].statistic }!
    let p = results.indices.min { results[$0].pValue < results[$1].pValue }!
    return Summary(
      statistic: results[s].statistic, statisticFeature: s, pValue: results[p].pValue, pValueFeature: p,
      adjustedPValue: min(1, results[p].pValue * Double(results.count)), exact: results[p].exact)
  }

  /// The largest per-feature PSI.
  public static func psi(reference: [[Double]], current: [[Double]], bins: Int = 10) -> Summary {
    precondition(reference.count == current.count && !reference.isEmpty, "PSI needs the same features in both samples")
    let values = zip(reference, current).map { PSI.index(reference: $0, current: $1, bins: bins) }
    let s = values.indices.max { values[$0] < values[$1] }!
    return Summary(statistic: values[s], statisticFeature: s, pValue: nil, pValueFeature: s, adjustedPValue: nil, exact: nil)
  }

  /// Pearson's χ² of homogeneity on every feature's category counts (each value a category),
  /// Bonferroni-corrected; the statistic reported is the one of the smallest p-value's feature.
  public static func chiSquare(reference: [[Double]], current: [[Double]]) -> (summary: Summary, degreesOfFreedom: Int) {
    precondition(reference.count == current.count && !reference.isEmpty, "χ² needs the same features in both samples")
    let results = zip(reference, current).map { ChiSquare.test(reference: $0, current: $1) }
    let p = results.indices.min { results[$0].pValue < results[$1].pValue }!
    return (
      Summary(
        statistic: results[p].statistic, statisticFeature: p, pValue: results[p].pValue, pValueFeature: p,
        adjustedPValue: min(1, results[p].pValue * Double(results.count)), exact: nil),
      results[p].degreesOfFreedom
    )
  }
}

extension ChiSquare {
  /// The test on two samples of category values (e.g. predicted labels): each distinct value
  /// is a category.
  public static func test(reference a: [Double], current b: [Double]) -> Result {
    let categories = Array(Set(a + b)).sorted()
    let index = Dictionary(uniqueKeysWithValues: categories.enumerated().map { ($1, $0) })
    var ra = [Double](repeating: 0, count: categories.count), cb = ra
    for v in a { ra[index[v]!] += 1 }
    for v in b { cb[index[v]!] += 1 }
    return test(referenceCounts: ra, currentCounts: cb)
  }
}
