import Foundation

/// The population stability index, PSI = Σᵢ (cᵢ − rᵢ)·ln(cᵢ/rᵢ) over bins, with rᵢ and cᵢ the
/// reference's and the current sample's proportions in bin i (the symmetrised KL divergence of
/// the binned distributions; Yurdakul 2018, "Statistical properties of population stability
/// index").
///
/// The usual binning: ten bins at the reference's deciles (bin edges at its 10th … 90th
/// percentiles, NumPy's linear interpolation; the outer bins open-ended), so the reference fills
/// each about equally. An empty bin's proportion is taken as 10⁻⁴ (the common practice; a zero
/// would make the index infinite). Conventional reading: below 0.1 stable, 0.1–0.25 a moderate
/// shift, above 0.25 a significant one (the default threshold).
public enum PSI {
  public static let emptyBinProportion = 1e-4

  /// PSI of two histograms over the same bins.
  public static func index(referenceCounts r: [Double], currentCounts c: [Double]) -> Double {
    precondition(r.count == c.count && !r.isEmpty, "PSI needs two histograms over the same bins")
    let rt = r.reduce(0, +), ct = c.reduce(0, +)
    precondition(rt > 0 && ct > 0, "PSI needs non-empty histograms")
    var psi = 0.0
    for (a, b) in zip(r, c) {
      let p = max(a / rt, emptyBinProportion), q = max(b / ct, emptyBinProportion)
      psi += (q - p) * log(q / p)
    }
    return psi
  }

  /// PSI of two samples of one feature, binned at the reference's deciles.
  public static func index(reference: [Double], current: [Double], bins: Int = 10) -> Double {
    precondition(!reference.isEmpty && !current.isEmpty && bins >= 2, "PSI needs two non-empty samples and at least two bins")
    let sorted = reference.sorted()
    let edges = (1..<bins).map { quantile(sorted, Double($0) / Double(bins)) }
    func histogram(_ x: [Double]) -> [Double] {
      var counts = [Double](repeating: 0, count: bins)
      for v in x {
        // Bin k holds edges[k−1] < v ≤ edges[k].
        var lo = 0, hi = edges.count
        while lo < hi {
          let mid = (lo + hi) / 2
          if v <= edges[mid] { hi = mid } else { lo = mid + 1 }
        }
        counts[lo] += 1
      }
      return counts
    }
    return index(referenceCounts: histogram(reference), currentCounts: histogram(current))
  }

  /// NumPy's default (linear) quantile of sorted data.
  static func quantile(_ sorted: [Double], _ q: Double) -> Double {
    let position = q * Double(sorted.count - 1)
    let low = Int(position.rounded(.down))
    let high = min(low + 1, sorted.count - 1)
    return sorted[low] + (sorted[high] - sorted[low]) * (position - Double(low))
  }
}
