import Foundation

/// Pearson's χ² test of homogeneity on category counts (predicted labels): the 2 × k table of
/// the reference's and the current sample's counts, expected counts from its margins,
/// χ² = Σ (O − E)²/E over k − 1 degrees of freedom; categories seen in neither sample are
/// dropped. No continuity correction (SciPy's `chi2_contingency` applies Yates's only to 2 × 2
/// tables by default; here never), as Alibi Detect's ChiSquareDrift for k > 2.
public enum ChiSquare {
  public struct Result: Sendable, Equatable {
    public let statistic: Double
    public let pValue: Double
    public let degreesOfFreedom: Int
  }

  public static func test(referenceCounts r: [Double], currentCounts c: [Double]) -> Result {
    precondition(r.count == c.count, "the two count vectors must have one entry per category")
    var pairs = zip(r, c).filter { $0.0 + $0.1 > 0 }
    if pairs.isEmpty { pairs = [(0, 0)] }
    let rt = pairs.reduce(0) { $0 + $1.0 }, ct = pairs.reduce(0) { $0 + $1.1 }
    let total = rt + ct
    precondition(rt > 0 && ct > 0, "χ² needs observations in both samples")
    var x2 = 0.0
    for (a, b) in pairs {
      let column = a + b
      let ea = rt * column / total, eb = ct * column / total
      x2 += (a - ea) * (a - ea) / ea + (b - eb) * (b - eb) / eb
    }
    let df = pairs.count - 1
    guard df > 0 else { return Result(statistic: 0, pValue: 1, degreesOfFreedom: 0) }
    return Result(statistic: x2, pValue: SpecialFunctions.upperRegularizedGamma(Double(df) / 2, x2 / 2), degreesOfFreedom: df)
  }
}

/// Special functions the tests' p-values need.
public enum SpecialFunctions {
  /// Q(a, x) = Γ(a, x)/Γ(a), the χ² survival function at 2x with 2a degrees of freedom: the
  /// power series of P for x < a + 1, Lentz's continued fraction for Q above (both to 1e-15).
  public static func upperRegularizedGamma(_ a: Double, _ x: Double) -> Double {
    precondition(a > 0, "Q(a, x) needs a > 0")
    if x <= 0 { return 1 }
    let logPrefix = a * log(x) - x - lgamma(a)
    if x < a + 1 {
      var term = 1 / a, sum = term, n = a
      for _ in 0..<10_000 {
        n += 1
        term *= x / n
        sum += term
        if abs(term) < abs(sum) * 1e-16 { break }
      }
      return max(0, 1 - sum * exp(logPrefix))
    }
    let tiny = 1e-300
    var b = x + 1 - a, c = 1 / tiny, d = 1 / b, h = d
    for i in 1..<10_000 {
      let an = -Double(i) * (Double(i) - a)
      b += 2
      d = an * d + b
      if abs(d) < tiny { d = tiny }
      c = b + an / c
      if abs(c) < tiny { c = tiny }
      d = 1 / d
      let delta = d * c
      h *= delta
      if abs(delta - 1) < 1e-16 { break }
    }
    return min(1, exp(logPrefix) * h)
  }
}
