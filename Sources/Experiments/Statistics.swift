/// Mean and 95% confidence half-width (Student's t, n − 1 degrees of freedom) of a sample.
public enum Statistics {
  /// t quantile 0.975 for 1...30 degrees of freedom (standard tables); 1.96 beyond.
  static let t975: [Double] = [
    12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228,
    2.201, 2.179, 2.160, 2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086,
    2.080, 2.074, 2.069, 2.064, 2.060, 2.056, 2.052, 2.048, 2.045, 2.042,
  ]

  /// (mean, half-width); the half-width is nil for fewer than two values.
  public static func meanCI(_ x: [Double]) -> (mean: Double, ci95: Double?)? {
    guard !x.isEmpty else { return nil }
    let n = Double(x.count)
    let mean = x.reduce(0, +) / n
    guard let sd = standardDeviation(x) else { return (mean, nil) }
    let t = x.count - 1 <= t975.count ? t975[x.count - 2] : 1.96
    return (mean, t * sd / n.squareRoot())
  }

  /// The sample standard deviation (n − 1); nil for fewer than two values.
  public static func standardDeviation(_ x: [Double]) -> Double? {
    guard x.count > 1 else { return nil }
    let n = Double(x.count)
    let mean = x.reduce(0, +) / n
    return (x.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / (n - 1)).squareRoot()
  }
}

/// What a figure's band around a mean over seeds shows (`byzsim report --band`).
public enum Band: String, CaseIterable, Sendable {
  /// The 95% confidence interval of the mean (Student's t, n − 1 degrees of freedom).
  case ci95
  /// The standard error of the mean, s/√n.
  case se
  /// The sample standard deviation s (n − 1).
  case sd
  case none

  /// The band's half-width around the mean of `x` (nil: no band — `none`, or fewer than two values).
  public func halfWidth(_ x: [Double]) -> Double? {
    guard self != .none, let sd = Statistics.standardDeviation(x) else { return nil }
    let n = Double(x.count)
    switch self {
    case .ci95: return Statistics.meanCI(x)?.ci95 ?? nil
    case .se: return sd / n.squareRoot()
    case .sd: return sd
    case .none: return nil
    }
  }

  /// The caption's words: "band: 95% CI of the mean (Student's t), n = 3".
  public func caption(n: Int) -> String {
    let what: String
    switch self {
    case .ci95: what = "95% CI of the mean (Student's t)"
    case .se: what = "± one standard error of the mean"
    case .sd: what = "± one standard deviation"
    case .none: return "no band, n = \(n)"
    }
    return n < 2 ? "n = \(n): no band" : "band: \(what), n = \(n)"
  }
}
