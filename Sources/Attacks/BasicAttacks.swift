import Tensor

/// Sign flipping: each malicious worker submits −s·(its honest update), s = `scale` (1).
///
/// Worked example: [1, −2] → [−1, 2].
public struct SignFlip: UpdateAttack {
  public let name = "sign_flip"
  public let needs = Knowledge.own
  public let scale: Float
  public init(scale: Float = 1) throws {
    guard scale > 0 else { throw AttackError("scale must be > 0 for sign flipping: got \(scale)") }
    self.scale = scale
  }
  public func craft(_ input: AttackInput, rng: inout RandomStream) throws -> [Int: AttackOutput] {
    input.own.mapValues { .vector($0.map { -scale * $0 }) }
  }
}

/// Gaussian attack, Fang et al. 2020's variant fitted to the known benign updates: each
/// malicious worker draws xⱼ ~ N(μⱼ, σⱼ²) with μ, σ the coordinate-wise mean and standard
/// deviation of the benign reference set (own or leaked updates).
///
/// Worked example: benign [0, 2] and [2, 2] → μ = [1, 2], σ = [1, 0]: the second coordinate is always 2.
public struct GaussianAttack: UpdateAttack {
  public let name = "gaussian"
  public let needs = Knowledge.own
  public init() {}
  public func craft(_ input: AttackInput, rng: inout RandomStream) throws -> [Int: AttackOutput] {
    let (mu, sd) = Stats.meanStd(input.benign)
    var out: [Int: AttackOutput] = [:]
    for id in input.maliciousIDs {
      out[id] = .vector((0..<mu.count).map { Float(mu[$0] + sd[$0] * rng.nextNormal()) })
    }
    return out
  }
}

/// Scaling / model replacement (Bagdasaryan, Veit, Hua, Estrin & Shmatikov 2020, "How to
/// backdoor federated learning", AISTATS): the malicious update is boosted, x̃ = γ·x, so that it
/// survives averaging with n − 1 others (γ ≈ n/η replaces the global model). Combine it with a
/// backdoor data attack to plant the backdoor in one round.
///
/// Worked example (γ = 10): [0.1, −0.2] → [1, −2].
public struct Scaling: UpdateAttack {
  public let name = "scaling"
  public let needs = Knowledge.own
  public let gamma: Float
  public init(gamma: Float = 10) throws {
    guard gamma > 0, gamma.isFinite else { throw AttackError("gamma must be a positive boost for scaling: got \(gamma)") }
    self.gamma = gamma
  }
  public func craft(_ input: AttackInput, rng: inout RandomStream) throws -> [Int: AttackOutput] {
    input.own.mapValues { .vector($0.map { gamma * $0 }) }
  }
}

/// Inner-product manipulation, IPM (Xie, Koyejo & Gupta 2019, "Fall of empires: breaking
/// Byzantine-tolerant SGD by inner product manipulation", UAI): every malicious worker submits
/// −ε·μ, μ the mean of the benign reference set. Small ε (0.1) fools median-type rules; a large
/// ε with many attackers breaks Krum.
///
/// Worked example (ε = 0.5): benign [2, 0] and [0, 2] → μ = [1, 1] → [−0.5, −0.5].
public struct IPM: UpdateAttack {
  public let name = "ipm"
  public let needs = Knowledge.own
  public let epsilon: Double
  public init(epsilon: Double = 0.1) throws {
    guard epsilon > 0 else { throw AttackError("epsilon must be > 0 for IPM: got \(epsilon)") }
    self.epsilon = epsilon
  }
  public func craft(_ input: AttackInput, rng: inout RandomStream) throws -> [Int: AttackOutput] {
    let (mu, _) = Stats.meanStd(input.benign)
    return Stats.same(mu.map { -epsilon * $0 }, input.maliciousIDs)
  }
}

/// A little is enough, ALIE (Baruch, Baruch & Goldberg 2019, NeurIPS): every malicious worker
/// submits μ − z·σ (coordinate-wise mean and standard deviation of the benign reference set).
///
/// z, two formulas:
/// - the paper's (default): s = ⌊n/2 + 1⌋ − f, z = Φ⁻¹((n − s)/n), n participants and f attackers
///   of the round; e.g. (n, f) = (50, 12): s = 14, z = Φ⁻¹(0.72) = 0.5828; (25, 5): s = 8, z = Φ⁻¹(0.68) = 0.4677.
/// - fixed: z given (`z = 1.0` is common in follow-up work).
public struct ALIE: UpdateAttack {
  public let name = "alie"
  public let needs = Knowledge.own
  public let fixedZ: Double?
  public init(z: Double? = nil) throws {
    if let z, !(z.isFinite) { throw AttackError("z must be a finite number for ALIE: got \(z)") }
    fixedZ = z
  }

  /// The paper's z for n participants, f of them malicious.
  public static func z(n: Int, f: Int) -> Double {
    let s = (n / 2 + 1) - f
    let p = Double(n - s) / Double(n)
    return NormalQuantile.inverse(min(max(p, 1e-12), 1 - 1e-12))
  }

  public func craft(_ input: AttackInput, rng: inout RandomStream) throws -> [Int: AttackOutput] {
    let z = fixedZ ?? Self.z(n: input.participants, f: input.own.count)
    let (mu, sd) = Stats.meanStd(input.benign)
    return Stats.same((0..<mu.count).map { mu[$0] - z * sd[$0] }, input.maliciousIDs)
  }
}

/// NaN or ±Inf updates (the coordinator must reject them, counted, never aggregate them).
public struct NonFinite: UpdateAttack {
  public let name: String
  public let needs = Knowledge.own
  let value: Float
  public init(infinity: Bool) { name = infinity ? "inf" : "nan"; value = infinity ? .infinity : .nan }
  public func craft(_ input: AttackInput, rng: inout RandomStream) throws -> [Int: AttackOutput] {
    input.own.mapValues { .vector([Float](repeating: value, count: $0.count)) }
  }
}

/// Silent drop: malicious workers submit nothing (a crash-like fault).
public struct SilentDrop: UpdateAttack {
  public let name = "drop"
  public let needs = Knowledge.own
  public init() {}
  public func craft(_ input: AttackInput, rng: inout RandomStream) throws -> [Int: AttackOutput] {
    input.own.mapValues { _ in .drop }
  }
}

/// Φ⁻¹, the standard normal quantile (Acklam's rational approximation refined by one Halley
/// step on erfc; relative error < 1e-12).
public enum NormalQuantile {
  public static func inverse(_ p: Double) -> Double {
    precondition(p > 0 && p < 1, "quantile needs 0 < p < 1: got \(p)")
    let a = [
      -3.969683028665376e+01, 2.209460984245205e+02, -2.759285104469687e+02, 1.383577518672690e+02, -3.066479806614716e+01,
      2.506628277459239e+00,
    ]
    let b = [-5.447609879822406e+01, 1.615858368580409e+02, -1.556989798598866e+02, 6.680131188771972e+01, -1.328068155288572e+01]
    let c = [
      -7.784894002430293e-03, -3.223964580411365e-01, -2.400758277161838e+00, -2.549732539343734e+00, 4.374664141464968e+00,
      2.938163982698783e+00,
    ]
    let d = [7.784695709041462e-03, 3.224671290700398e-01, 2.445134137142996e+00, 3.754408661907416e+00]
    let low = 0.02425
    var x: Double
    if p < low {
      let q = (-2 * log(p)).squareRoot()
      x = (((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) / ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1)
    } else if p <= 1 - low {
      let q = p - 0.5, r = q * q
      x =
        (((((a[0] * r + a[1]) * r + a[2]) * r + a[3]) * r + a[4]) * r + a[5]) * q
        / (((((b[0] * r + b[1]) * r + b[2]) * r + b[3]) * r + b[4]) * r + 1)
    } else {
      let q = (-2 * log(1 - p)).squareRoot()
      x = -(((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) / ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1)
    }
    let e = 0.5 * erfc(-x / 2.0.squareRoot()) - p
    let u = e * (2 * Double.pi).squareRoot() * exp(x * x / 2)
    return x - u / (1 + x * u / 2)
  }
}

#if canImport(Glibc)
import Glibc
#endif
