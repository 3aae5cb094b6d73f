import Foundation

/// The detectors that compare a window of recent inputs (and their predicted labels) with a
/// reference sample, with one scale for all of them — shared by the server's monitor and by
/// the slow-drift adversary, which runs the same tests on its own sample to stay under them.
public enum WindowDetector: String, Sendable, CaseIterable {
  case ks, mmd, psi, chi2
}

public struct WindowReading: Sendable, Equatable {
  public let detector: WindowDetector
  public let statistic: Double
  public let pValue: Double?
  public let alert: Bool
  /// 1 at the alert line: log p / log α for the tests with a p-value, statistic / threshold for PSI.
  public let level: Double
}

public struct WindowSettings: Sendable, Equatable {
  public var alpha: Double
  public var psiThreshold: Double
  public var mmdPermutations: Int
  public init(alpha: Double = 0.05, psiThreshold: Double = 0.25, mmdPermutations: Int = 50) {
    self.alpha = alpha
    self.psiThreshold = psiThreshold
    self.mmdPermutations = mmdPermutations
  }

  /// A detector's level: log p / log α (p-value detectors), else statistic / threshold.
  public static func level(statistic: Double, pValue: Double?, threshold: Double) -> Double {
    if let p = pValue { return p >= 1 ? 0 : log(max(p, 1e-300)) / log(threshold) }
    return threshold > 0 ? statistic / threshold : 0
  }
}

/// A reference sample, kept both row- and column-major, with its predicted labels.
public struct WindowReference: Sendable {
  public let rows: [[Double]]
  public let columns: [[Double]]
  public let labels: [Double]

  public init(rows: [[Double]], labels: [Double]) {
    precondition(!rows.isEmpty && rows.count == labels.count, "a reference needs rows, each with its label")
    self.rows = rows
    self.labels = labels
    columns = (0..<rows[0].count).map { j in rows.map { $0[j] } }
  }

  /// One detector on a window (`rows` of inputs, their `labels`).
  public func evaluate(_ d: WindowDetector, rows current: [[Double]], labels: [Double], settings: WindowSettings) -> WindowReading {
    func reading(_ statistic: Double, _ p: Double?, threshold: Double, alert: Bool) -> WindowReading {
      WindowReading(
        detector: d, statistic: statistic, pValue: p, alert: alert,
        level: WindowSettings.level(statistic: statistic, pValue: p, threshold: threshold))
    }
    switch d {
    case .ks:
      let columnsNow = (0..<columns.count).map { j in current.map { $0[j] } }
      let k = PerFeature.kolmogorovSmirnov(reference: columns, current: columnsNow)
      return reading(k.statistic, k.adjustedPValue!, threshold: settings.alpha, alert: k.adjustedPValue! < settings.alpha)
    case .mmd:
      let r = MMD.test(rows, current, permutations: settings.mmdPermutations, seed: 0)
      return reading(r.statistic, r.pValue, threshold: settings.alpha, alert: r.pValue < settings.alpha)
    case .psi:
      let columnsNow = (0..<columns.count).map { j in current.map { $0[j] } }
      let largest = PerFeature.psi(reference: columns, current: columnsNow).statistic
      return reading(largest, nil, threshold: settings.psiThreshold, alert: largest > settings.psiThreshold)
    case .chi2:
      let t = ChiSquare.test(reference: self.labels, current: labels)
      return reading(t.statistic, t.pValue, threshold: settings.alpha, alert: t.pValue < settings.alpha)
    }
  }
}
