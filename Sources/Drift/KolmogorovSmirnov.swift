import Foundation

/// The two-sample Kolmogorov–Smirnov test (two-sided): D = sup |F_ref − F_cur| of the two
/// empirical distribution functions, and P(D ≥ d) under the null that both samples come from
/// one continuous distribution.
///
/// p-value, as SciPy's `ks_2samp(method="auto")`: exact when the larger sample has at most
/// 10,000 observations, asymptotic above. Exact: the probability that a uniformly random
/// lattice path from (0, 0) to (m, n) — the merged order of the two samples — ever leaves the
/// band |i/m − j/n| < d (Hodges 1957), computed by dynamic programming over the path's steps
/// with their probabilities (m − i)/(m + n − i − j) and (n − j)/(m + n − i − j), so no count
/// overflows. Asymptotic: Kolmogorov's limit Q(√(mn/(m+n))·d), Q(x) = 2 Σ (−1)^(k−1) e^(−2k²x²).
/// Ties in the data (a discrete feature) make the exact p-value conservative, as in SciPy.
public enum KolmogorovSmirnov {
  public struct Result: Sendable, Equatable {
    public let statistic: Double
    public let pValue: Double
    public let exact: Bool
  }

  public static let exactLimit = 10_000

  public static func test(_ reference: [Double], _ current: [Double]) -> Result {
    precondition(!reference.isEmpty && !current.isEmpty, "KS needs two non-empty samples")
    let a = reference.sorted(), b = current.sorted()
    let d = statistic(a, b)
    let m = a.count, n = b.count
    if max(m, n) <= exactLimit {
      return Result(statistic: d, pValue: exactPValue(m: m, n: n, d: d), exact: true)
    }
    let en = Double(m) * Double(n) / Double(m + n)
    return Result(statistic: d, pValue: kolmogorovSurvival(en.squareRoot() * d), exact: false)
  }

  /// sup |F_a − F_b| over the merged sorted samples (ties stepped together).
  static func statistic(_ a: [Double], _ b: [Double]) -> Double {
    var i = 0, j = 0, d = 0.0
    let m = Double(a.count), n = Double(b.count)
    while i < a.count && j < b.count {
      let x = min(a[i], b[j])
      while i < a.count && a[i] == x { i += 1 }
      while j < b.count && b[j] == x { j += 1 }
      d = max(d, abs(Double(i) / m - Double(j) / n))
    }
    return d
  }

  /// P(D_{m,n} ≥ d) for continuous data.
  static func exactPValue(m: Int, n: Int, d: Double) -> Double {
    guard d > 0 else { return 1 }
    // A point is outside when |i/m − j/n| ≥ d, compared in integers: |i·n − j·m| ≥ d·m·n
    // (less a rounding margin, since d itself came from such a ratio).
    let bound = d * Double(m) * Double(n) - 1e-7 * Double(max(m, n))
    func inside(_ i: Int, _ j: Int) -> Bool { Double(abs(i * n - j * m)) < bound }
    // stay[j]: probability of reaching (i, j) without having left the band, row by row in i.
    var stay = [Double](repeating: 0, count: n + 1)
    stay[0] = 1
    for j in 1...n {
      let p = Double(n - (j - 1)) / Double(m + n - (j - 1))
      stay[j] = inside(0, j) ? stay[j - 1] * p : 0
    }
    for i in 1...m {
      // From (i−1, j) to (i, j) with probability (m − i + 1)/(m + n − i + 1 − j).
      stay[0] = inside(i, 0) ? stay[0] * Double(m - i + 1) / Double(m + n - i + 1) : 0
      for j in 1...n {
        guard inside(i, j) else {
          stay[j] = 0
          continue
        }
        let fromLeft = stay[j] * Double(m - i + 1) / Double(m + n - i + 1 - j)
        let fromBelow = stay[j - 1] * Double(n - j + 1) / Double(m + n - i - j + 1)
        stay[j] = fromLeft + fromBelow
      }
    }
    return min(1, max(0, 1 - stay[n]))
  }

  /// Kolmogorov's distribution's survival function Q(x) = P(K > x).
  static func kolmogorovSurvival(_ x: Double) -> Double {
    guard x > 0 else { return 1 }
    if x < 1 {
      // 1 − (√(2π)/x) Σ_{k≥1} e^(−(2k−1)²π²/(8x²)): fast where the alternating series is slow.
      var sum = 0.0
      for k in 1...20 {
        let t = Double(2 * k - 1)
        sum += exp(-t * t * Double.pi * Double.pi / (8 * x * x))
      }
      return min(1, max(0, 1 - (2 * Double.pi).squareRoot() / x * sum))
    }
    var sum = 0.0
    for k in 1...100 {
      let term = exp(-2 * Double(k * k) * x * x)
      sum += (k % 2 == 1 ? term : -term)
      if term < 1e-300 { break }
    }
    return min(1, max(0, 2 * sum))
  }
}
