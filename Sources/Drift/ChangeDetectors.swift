/// Sequential change detectors on one number per observation (a prediction's confidence, or
/// 1/0 for a correct/incorrect prediction once its label arrives). Each is fed one value at a
/// time and reports when its statistic first crosses the threshold; `reset` starts over (after
/// an alert is handled).

/// Two-sided tabular CUSUM (Page 1954, "Continuous inspection schemes"; Montgomery's tabular
/// form): with target mean μ₀, slack k and threshold h,
/// C⁺ₜ = max(0, C⁺ₜ₋₁ + xₜ − μ₀ − k), C⁻ₜ = max(0, C⁻ₜ₋₁ + μ₀ − k − xₜ); alarm when either
/// exceeds h. The customary choice is k = σ/2 and h = 5σ for the in-control σ (`fromReference`).
public struct CUSUM: Sendable, Equatable {
  public let target: Double
  public let slack: Double
  public let threshold: Double
  public private(set) var upper = 0.0
  public private(set) var lower = 0.0
  public private(set) var count = 0

  public init(target: Double, slack: Double, threshold: Double) {
    precondition(slack >= 0 && threshold > 0, "CUSUM needs slack ≥ 0 and a positive threshold")
    self.target = target
    self.slack = slack
    self.threshold = threshold
  }

  /// μ₀ and σ from an in-control reference sample; k = `slackSigmas`·σ, h = `thresholdSigmas`·σ.
  public static func fromReference(_ reference: [Double], slackSigmas: Double = 0.5, thresholdSigmas: Double = 5) -> CUSUM {
    precondition(reference.count >= 2, "CUSUM needs at least two reference values")
    let mean = reference.reduce(0, +) / Double(reference.count)
    let sd = (reference.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(reference.count - 1)).squareRoot()
    let sigma = max(sd, 1e-12)
    return CUSUM(target: mean, slack: slackSigmas * sigma, threshold: thresholdSigmas * sigma)
  }

  /// The larger of the two sums.
  public var statistic: Double { max(upper, lower) }
  public var alarm: Bool { statistic > threshold }

  /// Adds one observation; returns whether the detector is in alarm.
  @discardableResult
  public mutating func add(_ x: Double) -> Bool {
    upper = max(0, upper + x - target - slack)
    lower = max(0, lower + target - slack - x)
    count += 1
    return alarm
  }

  public mutating func reset() {
    upper = 0
    lower = 0
    count = 0
  }
}

/// The Page–Hinkley test for a decrease of the mean (Page 1954; Hinkley 1971; the form of Gama
/// et al. 2014's survey): with the running mean x̄ₜ and tolerance δ,
/// mₜ = Σᵢ≤ₜ (x̄ᵢ − xᵢ − δ), Mₜ = min over i ≤ t of mᵢ (M₀ = 0), alarm when mₜ − Mₜ > λ. Watching
/// a confidence or an accuracy, the harmful change is a drop; `increase` watches the other way.
public struct PageHinkley: Sendable, Equatable {
  public let delta: Double
  public let lambda: Double
  public let increase: Bool
  public private(set) var mean = 0.0
  public private(set) var cumulative = 0.0
  public private(set) var minimum = 0.0
  public private(set) var count = 0

  public init(delta: Double, lambda: Double, increase: Bool = false) {
    precondition(delta >= 0 && lambda > 0, "Page–Hinkley needs δ ≥ 0 and a positive λ")
    self.delta = delta
    self.lambda = lambda
    self.increase = increase
  }

  public var statistic: Double { cumulative - minimum }
  public var alarm: Bool { statistic > lambda }

  @discardableResult
  public mutating func add(_ x: Double) -> Bool {
    count += 1
    mean += (x - mean) / Double(count)
    cumulative += (increase ? x - mean : mean - x) - delta
    minimum = min(minimum, cumulative)
    return alarm
  }

  public mutating func reset() {
    mean = 0
    cumulative = 0
    minimum = 0
    count = 0
  }
}
