import Foundation
import Tensor

/// Maximum mean discrepancy with a Gaussian RBF kernel k(x, y) = exp(−‖x − y‖²/(2σ²)) and a
/// permutation test (Gretton et al. 2012, "A Kernel Two-Sample Test").
///
/// - MMD² is the unbiased estimate (Gretton et al., Lemma 6): the within-sample kernel means
///   over i ≠ j minus twice the cross mean; it can be negative.
/// - σ, when not given, is the median heuristic in Alibi Detect's variant: σ² = median of the
///   squared distances between the reference and current observations, over 2.
/// - p-value: the current and reference observations are pooled and split at random
///   `permutations` times (a seeded stream); p = (1 + #{MMD²_perm ≥ MMD²}) / (1 + permutations)
///   (Phipson & Smyth 2010: never 0; Alibi Detect reports the plain fraction).
public enum MMD {
  public struct Result: Sendable, Equatable {
    public let statistic: Double
    public let pValue: Double
    public let sigma: Double
  }

  /// Rows are observations; every row of both samples has the same length.
  public static func test(
    _ reference: [[Double]], _ current: [[Double]], sigma: Double? = nil, permutations: Int = 100, seed: UInt64 = 0
  )
    -> Result
  {
    let m = reference.count, n = current.count
    precondition(m >= 2 && n >= 2, "MMD² needs at least two observations in each sample")
    let pooled = reference + current
    let total = m + n
    var squared = [Double](repeating: 0, count: total * total)
    for i in 0..<total {
      for j in (i + 1)..<max(i + 1, total) {
        var s = 0.0
        for (a, b) in zip(pooled[i], pooled[j]) { s += (a - b) * (a - b) }
        squared[i * total + j] = s
        squared[j * total + i] = s
      }
    }
    let s: Double
    if let sigma {
      s = sigma
    } else {
      var cross: [Double] = []
      cross.reserveCapacity(m * n)
      for i in 0..<m { for j in m..<total { cross.append(squared[i * total + j]) } }
      cross.sort()
      // NumPy's median: the mean of the two middle values for an even count.
      let c = cross.count
      let median = c % 2 == 1 ? cross[c / 2] : (cross[c / 2 - 1] + cross[c / 2]) / 2
      s = max((median / 2).squareRoot(), 1e-12)
    }
    let kernel = squared.map { exp(-$0 / (2 * s * s)) }
    func statistic(_ order: [Int]) -> Double {
      var xx = 0.0, yy = 0.0, xy = 0.0
      for a in 0..<total {
        let ra = order[a] * total
        for b in 0..<total where a != b {
          let k = kernel[ra + order[b]]
          if a < m && b < m {
            xx += k
          } else if a >= m && b >= m {
            yy += k
          } else if a < m {
            xy += k
          }
        }
      }
      return xx / Double(m * (m - 1)) + yy / Double(n * (n - 1)) - 2 * xy / Double(m * n)
    }
    let observed = statistic(Array(0..<total))
    var rng = RandomStream(seed: seed, purpose: .sampling, 0x4D4D44)
    var atLeast = 0
    for _ in 0..<permutations where statistic(rng.permutation(total)) >= observed { atLeast += 1 }
    return Result(statistic: observed, pValue: Double(1 + atLeast) / Double(1 + permutations), sigma: s)
  }
}
