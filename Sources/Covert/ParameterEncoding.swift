/// Covert channel (b): white-box encodings of Song, Ristenpart & Shmatikov, "Machine Learning
/// Models that Remember Too Much", CCS 2017, §4. The malicious worker adds a term to its local
/// loss that pulls the first ℓ parameters of the flat vector towards a secret; the shared global
/// model itself then carries it, and whoever obtains the final model reads it back.
///
/// In federated training the term reaches the global model only through this worker's share of
/// the aggregate (1/n under the mean), so it needs a larger λ than in the paper's centralised
/// setting; a robust aggregator that discards or clips the worker's update also discards the term.
public protocol ParameterEncoding: Sendable {
  /// Parameters the encoding uses (a prefix of the flat parameter vector).
  var length: Int { get }
  /// The malicious term's value at `theta` (its first `length` entries are used).
  func penalty(_ theta: UnsafeBufferPointer<Float>) -> Double
  /// Adds ∂penalty/∂θ to `gradient` (first `length` entries).
  func addGradient(_ theta: UnsafeBufferPointer<Float>, to gradient: UnsafeMutableBufferPointer<Float>)
}

/// Sign encoding (Song et al. §4.3): secret bits s_i ∈ {−1, +1} (bit 1 → +1, bit 0 → −1) and
/// penalty P(θ, s) = (λ/ℓ) Σ_i max(0, −θ_i s_i), which is 0 once every sign agrees. Decoding:
/// bit_i = 1 if θ_i > 0. The paper writes |max(0, −θ_i s_i)|; the absolute value is redundant.
///
/// Worked example (λ = 2, ℓ = 4): θ = (0.5, −0.2, 0.1, −0.3), bits = (1, 1, 0, 0) →
/// s = (1, 1, −1, −1); violations: θ_2 s_2 = −0.2 and θ_3 s_3 = −0.1, so P = (2/4)(0.2 + 0.1)
/// = 0.15 and ∂P/∂θ = (0, −0.5, 0.5, 0).
public struct SignEncoding: ParameterEncoding {
  public let lambda: Double
  public let signs: [Float]
  public var length: Int { signs.count }

  public init(bits: [UInt8], lambda: Double) {
    self.lambda = lambda
    signs = bits.map { $0 != 0 ? 1 : -1 }
  }

  public func penalty(_ theta: UnsafeBufferPointer<Float>) -> Double {
    var sum = 0.0
    for i in 0..<length { sum += max(0, -Double(theta[i]) * Double(signs[i])) }
    return lambda / Double(length) * sum
  }

  public func addGradient(_ theta: UnsafeBufferPointer<Float>, to gradient: UnsafeMutableBufferPointer<Float>) {
    let g = Float(lambda / Double(length))
    for i in 0..<length where theta[i] * signs[i] < 0 { gradient[i] -= g * signs[i] }
  }

  /// The bits the first `count` parameters of `theta` carry.
  public static func decode<C: Collection>(_ theta: C, count: Int) -> [UInt8] where C.Element == Float {
    theta.prefix(count).map { $0 > 0 ? 1 : 0 }
  }
}

/// Correlated value encoding (Song et al. §4.2): penalty C(θ, s) = −λ·|ρ(θ, s)| with ρ the
/// Pearson correlation between the first ℓ parameters and the secret values s (pixels).
///
/// Gradient: with a = θ − θ̄, b = s − s̄, ρ = a·b / (‖a‖‖b‖),
/// ∂ρ/∂θ_j = b_j/(‖a‖‖b‖) − ρ·a_j/‖a‖², so ∂C/∂θ_j = −λ·sign(ρ)·∂ρ/∂θ_j.
///
/// Decoding (our stated variant; the paper maps the parameters "to the pixel range"): the
/// receiver min–max maps the parameters clipped to their 0.5th–99.5th percentiles onto
/// [0, 255]. It does not know the sign of ρ, so it takes the orientation whose median pixel is
/// darker (Fashion-MNIST images are mostly dark background).
///
/// Worked example: θ = (1, 2, 3), s = (0, 0, 3): a = (−1, 0, 1), b = (−1, −1, 2), ρ = 3/√12 =
/// 0.8660; with λ = 1, C = −0.8660.
public struct CorrelatedValueEncoding: ParameterEncoding {
  public let lambda: Double
  public let secret: [Float]
  public var length: Int { secret.count }
  let centered: [Double]
  let secretNorm: Double

  public init(secret: [UInt8], lambda: Double) throws {
    guard secret.count >= 2 else { throw CovertError("correlated_value: the secret needs at least 2 values") }
    self.lambda = lambda
    self.secret = secret.map(Float.init)
    let mean = secret.reduce(0.0) { $0 + Double($1) } / Double(secret.count)
    centered = secret.map { Double($0) - mean }
    secretNorm = centered.reduce(0) { $0 + $1 * $1 }.squareRoot()
    guard secretNorm > 0 else { throw CovertError("correlated_value: the secret is constant (no correlation to encode)") }
  }

  /// ρ(θ, s), and the centred θ with its norm.
  public func correlation(_ theta: UnsafeBufferPointer<Float>) -> (rho: Double, a: [Double], norm: Double) {
    let n = length
    var mean = 0.0
    for i in 0..<n { mean += Double(theta[i]) }
    mean /= Double(n)
    var a = [Double](repeating: 0, count: n)
    var dot = 0.0, sq = 0.0
    for i in 0..<n {
      a[i] = Double(theta[i]) - mean
      dot += a[i] * centered[i]
      sq += a[i] * a[i]
    }
    let norm = sq.squareRoot()
    return (norm > 0 ? dot / (norm * secretNorm) : 0, a, norm)
  }

  public func penalty(_ theta: UnsafeBufferPointer<Float>) -> Double { -lambda * abs(correlation(theta).rho) }

  public func addGradient(_ theta: UnsafeBufferPointer<Float>, to gradient: UnsafeMutableBufferPointer<Float>) {
    let (rho, a, norm) = correlation(theta)
    guard norm > 0 else { return }
    let sign: Double = rho >= 0 ? 1 : -1
    for j in 0..<length {
      let d = centered[j] / (norm * secretNorm) - rho * a[j] / (norm * norm)
      gradient[j] += Float(-lambda * sign * d)
    }
  }

  /// The pixel values the first `count` parameters of `theta` carry (see the type's comment).
  public static func decode<C: Collection>(_ theta: C, count: Int) -> [UInt8] where C.Element == Float {
    let v = theta.prefix(count).map(Double.init)
    guard !v.isEmpty else { return [] }
    let sorted = v.sorted()
    let lo = sorted[Int(Double(sorted.count - 1) * 0.005)], hi = sorted[Int(Double(sorted.count - 1) * 0.995)]
    guard hi > lo else { return [UInt8](repeating: 0, count: v.count) }
    func pixel(_ x: Double, flip: Bool) -> UInt8 {
      var t = (min(max(x, lo), hi) - lo) / (hi - lo)
      if flip { t = 1 - t }
      return UInt8((t * 255).rounded())
    }
    let up = v.map { pixel($0, flip: false) }
    let median = up.sorted()[up.count / 2]
    return median <= 127 ? up : v.map { pixel($0, flip: true) }
  }
}

/// Mean absolute error between two pixel arrays (0–255 units).
public func meanAbsolutePixelError(_ a: [UInt8], _ b: [UInt8]) -> Double {
  precondition(a.count == b.count)
  guard !a.isEmpty else { return 0 }
  return zip(a, b).reduce(0.0) { $0 + abs(Double($1.0) - Double($1.1)) } / Double(a.count)
}
