import Foundation

/// Rényi-DP accounting of the Sampled Gaussian Mechanism (DP-SGD with Poisson sampling), and
/// its conversion to (ε, δ)-DP.
///
/// - RDP of one step at order α (Mironov, Talwar & Zhang 2019, "Rényi Differential Privacy of
///   the Sampled Gaussian Mechanism", §3.3): log(A_α)/(α − 1), with A_α summed in log space —
///   the binomial expansion for integer α, the two erfc-weighted series for fractional α
///   (stopped when both terms fall below e⁻³⁰). q = 1 gives α/(2σ²); q = 0 gives 0; σ = 0 gives ∞.
///   Steps compose by addition, and so do different (q, σ) phases (`compose`).
/// - Conversion to ε for a δ, minimised over the orders:
///   - `.balle2020` (the default, as Opacus's RDP accountant): Balle et al. 2020, "Hypothesis
///     testing interpretations and Rényi differential privacy", Theorem 21:
///     ε = rdp − (ln δ + ln α)/(α − 1) + ln((α − 1)/α).
///   - `.classic` (Mironov 2017, Proposition 3; TensorFlow Privacy's tutorials):
///     ε = rdp − ln δ/(α − 1).
/// - Orders: Opacus's defaults, 1.1, 1.2, …, 10.9 and 12, 13, …, 63.
///
/// Variant: this follows Opacus's `opacus/accountants/analysis/rdp.py` term by term (including
/// the stopping rule of the fractional series), so the figures match it to 1e-6; checked in
/// `Tests/PrivacyTests` against Opacus's own module and its published examples.
public struct RDPAccountant: Sendable {
  public enum Conversion: String, Sendable, CaseIterable {
    case balle2020 = "balle"
    case classic
  }

  public struct Error: Swift.Error, CustomStringConvertible {
    public let description: String
  }

  public static let defaultOrders: [Double] = (1..<100).map { 1 + Double($0) / 10 } + (12..<64).map(Double.init)

  public let orders: [Double]
  /// Accumulated RDP at each order.
  public private(set) var rdp: [Double]

  public init(orders: [Double] = RDPAccountant.defaultOrders) throws {
    guard !orders.isEmpty else { throw Error(description: "no RDP orders given") }
    for a in orders where !(a > 1) || !a.isFinite {
      throw Error(description: "RDP orders must be finite and above 1; got \(a)")
    }
    self.orders = orders
    rdp = [Double](repeating: 0, count: orders.count)
  }

  /// Adds `steps` steps of the Sampled Gaussian Mechanism with sampling rate `q` and noise
  /// multiplier `sigma` (noise standard deviation over the L2 sensitivity).
  public mutating func compose(sampleRate q: Double, sigma: Double, steps: Int) throws {
    guard q.isFinite, q >= 0, q <= 1 else { throw Error(description: "the sample rate must be in [0, 1]; got \(q)") }
    guard sigma.isFinite, sigma >= 0 else { throw Error(description: "the noise multiplier must be finite and ≥ 0; got \(sigma)") }
    guard steps >= 0 else { throw Error(description: "the number of steps must be ≥ 0; got \(steps)") }
    for i in orders.indices {
      rdp[i] += Self.rdp(sampleRate: q, sigma: sigma, order: orders[i]) * Double(steps)
    }
  }

  /// ε for `delta` and the order that gives it (∞ and nil when no order gives a finite ε).
  public func epsilon(delta: Double, conversion: Conversion = .balle2020) throws -> (epsilon: Double, order: Double?) {
    guard delta.isFinite, delta > 0, delta < 1 else { throw Error(description: "δ must be in (0, 1); got \(delta)") }
    var best: (epsilon: Double, order: Double?) = (.infinity, nil)
    for (a, r) in zip(orders, rdp) {
      let e: Double
      switch conversion {
      case .balle2020: e = r - (log(delta) + log(a)) / (a - 1) + log((a - 1) / a)
      case .classic: e = r - log(delta) / (a - 1)
      }
      if !e.isNaN, e < best.epsilon { best = (e, a) }
    }
    return best
  }

  /// ε (and its order) of one DP-SGD schedule: `steps` steps at rate `q` with noise `sigma`.
  public static func epsilon(
    sampleRate q: Double, sigma: Double, steps: Int, delta: Double, orders: [Double] = defaultOrders,
    conversion: Conversion = .balle2020
  ) throws -> (epsilon: Double, order: Double?) {
    var a = try RDPAccountant(orders: orders)
    try a.compose(sampleRate: q, sigma: sigma, steps: steps)
    return try a.epsilon(delta: delta, conversion: conversion)
  }

  /// The smallest noise multiplier whose ε is at most `target` (to a relative 10⁻¹⁰ in σ), by
  /// doubling from 10 and then bisection. Opacus's `get_noise_multiplier` does the same search
  /// but stops when ε is within 0.01 of the target, so its σ can be slightly larger.
  public static func noiseMultiplier(
    targetEpsilon target: Double, delta: Double, sampleRate q: Double, steps: Int, orders: [Double] = defaultOrders,
    conversion: Conversion = .balle2020
  ) throws -> Double {
    guard target.isFinite, target > 0 else { throw Error(description: "the target ε must be finite and > 0; got \(target)") }
    func eps(_ sigma: Double) throws -> Double {
      try epsilon(sampleRate: q, sigma: sigma, steps: steps, delta: delta, orders: orders, conversion: conversion).epsilon
    }
    var low = 0.0
    var high = 10.0
    while try eps(high) > target {
      low = high
      high *= 2
      guard high < 1e6 else { throw Error(description: "no noise multiplier below 10^6 reaches ε = \(target)") }
    }
    for _ in 0..<200 where high - low > 1e-10 * high {
      let mid = (low + high) / 2
      if try eps(mid) > target { low = mid } else { high = mid }
    }
    return high
  }

  // MARK: - One step

  /// RDP of one step of the Sampled Gaussian Mechanism at `order`.
  public static func rdp(sampleRate q: Double, sigma: Double, order a: Double) -> Double {
    if q == 0 { return 0 }
    if sigma == 0 { return .infinity }
    if q == 1 { return a / (2 * sigma * sigma) }
    if a.isInfinite { return .infinity }
    let logA = a.rounded() == a ? logAInteger(q, sigma, Int(a)) : logAFractional(q, sigma, a)
    return logA / (a - 1)
  }

  static func logAInteger(_ q: Double, _ sigma: Double, _ a: Int) -> Double {
    var logA = -Double.infinity
    for i in 0...a {
      let logCoef = lgamma(Double(a) + 1) - lgamma(Double(i) + 1) - lgamma(Double(a - i) + 1)
      let s = logCoef + Double(i) * log(q) + Double(a - i) * log(1 - q) + Double(i * i - i) / (2 * sigma * sigma)
      logA = logAdd(logA, s)
    }
    return logA
  }

  static func logAFractional(_ q: Double, _ sigma: Double, _ a: Double) -> Double {
    var logA0 = -Double.infinity
    var logA1 = -Double.infinity
    let z0 = sigma * sigma * log(1 / q - 1) + 0.5
    var i = 0.0
    // The binomial coefficient C(a, i) for real a, as log|C| and its sign, built term by term.
    var logCoef = 0.0
    var positive = true
    while true {
      let j = a - i
      let logT0 = logCoef + i * log(q) + j * log(1 - q)
      let logT1 = logCoef + j * log(q) + i * log(1 - q)
      let logE0 = log(0.5) + logErfc((i - z0) / (2.0.squareRoot() * sigma))
      let logE1 = log(0.5) + logErfc((z0 - j) / (2.0.squareRoot() * sigma))
      let logS0 = logT0 + (i * i - i) / (2 * sigma * sigma) + logE0
      let logS1 = logT1 + (j * j - j) / (2 * sigma * sigma) + logE1
      if positive {
        logA0 = logAdd(logA0, logS0)
        logA1 = logAdd(logA1, logS1)
      } else {
        logA0 = logSub(logA0, logS0)
        logA1 = logSub(logA1, logS1)
      }
      if max(logS0, logS1) < -30 { break }
      // C(a, i + 1) = C(a, i) · (a − i)/(i + 1).
      let factor = (a - i) / (i + 1)
      if factor < 0 { positive.toggle() }
      logCoef += log(abs(factor))
      i += 1
    }
    return logAdd(logA0, logA1)
  }

  static func logAdd(_ x: Double, _ y: Double) -> Double {
    let (a, b) = (min(x, y), max(x, y))
    if a == -.infinity { return b }
    return log1p(exp(a - b)) + b
  }

  /// log(eˣ − eʸ) for x ≥ y (Opacus raises on x < y; the series never asks for it, and here it
  /// gives NaN, which the conversion skips).
  static func logSub(_ x: Double, _ y: Double) -> Double {
    if x < y { return .nan }
    if y == -.infinity { return x }
    if x == y { return -.infinity }
    let d = expm1(x - y)
    return d.isInfinite ? x : log(d) + y
  }

  /// log(erfc(x)), accurate where erfc underflows: erfc directly up to x = 20, then the
  /// asymptotic series e^(−x²)/(x√π)·(1 − 1/(2x²) + 3/(4x⁴) − 15/(8x⁶) + 105/(16x⁸)), whose next
  /// term is below 3·10⁻¹² of the sum there.
  static func logErfc(_ x: Double) -> Double {
    if x < 20 { return log(erfc(x)) }
    let x2 = x * x
    let series = 1 - 1 / (2 * x2) + 3 / (4 * x2 * x2) - 15 / (8 * x2 * x2 * x2) + 105 / (16 * x2 * x2 * x2 * x2)
    return -x2 - log(x) - 0.5 * log(Double.pi) + log(series)
  }
}
