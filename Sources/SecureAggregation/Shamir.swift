/// Shamir's t-out-of-n secret sharing (Shamir, "How to Share a Secret", CACM 1979) over the
/// prime field GF(p), p = 2⁶¹ − 1: a secret element s is the constant term of a random
/// polynomial of degree t − 1; share i is the polynomial at x = i (never 0); any t shares give s
/// back by Lagrange interpolation at 0, fewer reveal nothing about it.
///
/// Byte secrets (32-byte keys and seeds) are split into 7-byte little-endian chunks, each one
/// field element below 2⁵⁶ < p, and every chunk is shared with its own polynomial.
public enum Shamir {
  public static let prime: UInt64 = (1 << 61) - 1

  /// One participant's share of a byte secret: its x and one y per chunk.
  public struct Share: Sendable, Equatable {
    public var x: UInt64
    public var ys: [UInt64]
    public init(x: UInt64, ys: [UInt64]) { self.x = x; self.ys = ys }
  }

  static func mul(_ a: UInt64, _ b: UInt64) -> UInt64 {
    let (hi, lo) = a.multipliedFullWidth(by: b)
    return prime.dividingFullWidth((hi, lo)).remainder
  }
  static func add(_ a: UInt64, _ b: UInt64) -> UInt64 { let s = a + b; return s >= prime ? s - prime : s }
  static func sub(_ a: UInt64, _ b: UInt64) -> UInt64 { a >= b ? a - b : a + prime - b }
  static func inverse(_ a: UInt64) -> UInt64 {
    // Fermat: a^(p−2).
    var result: UInt64 = 1, base = a % prime, e = prime - 2
    while e > 0 {
      if e & 1 == 1 { result = mul(result, base) }
      base = mul(base, base)
      e >>= 1
    }
    return result
  }

  /// The polynomial with these coefficients (constant term first) at x.
  public static func evaluate(_ coefficients: [UInt64], at x: UInt64) -> UInt64 {
    var y: UInt64 = 0
    for c in coefficients.reversed() { y = add(mul(y, x % prime), c % prime) }
    return y
  }

  /// The field element shared by `shares` (at least the threshold of them, distinct nonzero x):
  /// Lagrange interpolation at 0.
  public static func interpolate(_ points: [(x: UInt64, y: UInt64)]) -> UInt64 {
    var s: UInt64 = 0
    for (i, p) in points.enumerated() {
      var num: UInt64 = 1, den: UInt64 = 1
      for (j, q) in points.enumerated() where j != i {
        num = mul(num, q.x % prime)
        den = mul(den, sub(q.x % prime, p.x % prime))
      }
      s = add(s, mul(p.y % prime, mul(num, inverse(den))))
    }
    return s
  }

  /// The chunks (field elements) of a byte secret.
  public static func chunks(_ secret: [UInt8]) -> [UInt64] {
    stride(from: 0, to: secret.count, by: 7).map { start in
      var v: UInt64 = 0
      for (k, b) in secret[start..<min(start + 7, secret.count)].enumerated() { v |= UInt64(b) << (8 * k) }
      return v
    }
  }

  /// Splits `secret` into one share per x in `xs` (distinct, nonzero), any `threshold` of which
  /// recover it. `random` draws the polynomials' other coefficients (uniform in the field).
  public static func split<R: RandomNumberGenerator>(
    _ secret: [UInt8], threshold: Int, xs: [UInt64], using random: inout R
  ) -> [Share] {
    let polys = chunks(secret).map { c in [c] + (1..<threshold).map { _ in UInt64.random(in: 0..<prime, using: &random) } }
    return xs.map { x in Share(x: x, ys: polys.map { evaluate($0, at: x) }) }
  }

  /// The byte secret of `byteCount` bytes behind `shares`; throws when shares disagree in shape,
  /// repeat an x, or a chunk does not fit its 7 bytes (shares of something else).
  public static func recover(_ shares: [Share], byteCount: Int) throws -> [UInt8] {
    let chunkCount = (byteCount + 6) / 7
    guard !shares.isEmpty, shares.allSatisfy({ $0.ys.count == chunkCount && $0.x != 0 && $0.x < prime }) else {
      throw SecureAggregationError("shares of the wrong shape: expected \(chunkCount) values each, with x in 1..<p")
    }
    guard Set(shares.map(\.x)).count == shares.count else { throw SecureAggregationError("two shares with the same x") }
    var bytes: [UInt8] = []
    for k in 0..<chunkCount {
      let v = interpolate(shares.map { ($0.x, $0.ys[k]) })
      let width = min(7, byteCount - 7 * k)
      guard v >> (8 * UInt64(width)) == 0 else {
        throw SecureAggregationError("the shares do not interpolate to a \(byteCount)-byte secret (some are corrupt)")
      }
      for b in 0..<width { bytes.append(UInt8(truncatingIfNeeded: v >> (8 * UInt64(b)))) }
    }
    return bytes
  }
}

public struct SecureAggregationError: Error, CustomStringConvertible, Equatable {
  public let description: String
  public init(_ d: String) { description = d }
}
