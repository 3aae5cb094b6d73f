#if canImport(Glibc)
import Glibc
#else
import Darwin
#endif

/// A deterministic, splittable pseudo-random stream: xoshiro256** seeded through SplitMix64.
///
/// Every random stream in ByzSim is derived from a tuple such as
/// (seed, worker id, round, purpose), so nothing depends on thread scheduling,
/// arrival order or the standard library's unspecified algorithms: shuffles,
/// bounded integers, normals and gammas are all implemented here and are
/// stable across platforms and Swift versions.
///
/// Reference: Blackman & Vigna, "Scrambled linear pseudorandom number generators" (2021).
public struct RandomStream: RandomNumberGenerator, Sendable {
  @usableFromInline var s0, s1, s2, s3: UInt64

  /// A stream derived from `seed` and any number of further components
  /// (worker id, round, a `Purpose` raw value...). Different tuples give
  /// independent-looking streams.
  public init(seed: UInt64, _ components: UInt64...) {
    self.init(seed: seed, components: components)
  }

  public init(seed: UInt64, components: [UInt64]) {
    var mix = SplitMix64(state: seed)
    var h = mix.next()
    for c in components {
      var m = SplitMix64(state: h ^ (c &* 0x9E37_79B9_7F4A_7C15))
      h = m.next() ^ mix.next()
    }
    var sm = SplitMix64(state: h)
    s0 = sm.next(); s1 = sm.next(); s2 = sm.next(); s3 = sm.next()
    if s0 | s1 | s2 | s3 == 0 { s0 = 1 }
  }

  /// A stream from a raw xoshiro256** state (for reference-vector tests).
  init(rawState: (UInt64, UInt64, UInt64, UInt64)) {
    (s0, s1, s2, s3) = rawState
  }

  /// The next 64 random bits.
  @inlinable
  public mutating func next() -> UInt64 {
    let result = rotl(s1 &* 5, 7) &* 9
    let t = s1 << 17
    s2 ^= s0; s3 ^= s1; s1 ^= s2; s0 ^= s3
    s2 ^= t
    s3 = rotl(s3, 45)
    return result
  }

  @inlinable func rotl(_ x: UInt64, _ k: UInt64) -> UInt64 { (x << k) | (x >> (64 - k)) }

  /// Uniform integer in 0..<bound (Lemire's nearly-divisionless method, unbiased).
  @inlinable
  public mutating func nextInt(below bound: Int) -> Int {
    precondition(bound > 0, "nextInt(below:) needs bound > 0: got \(bound)")
    let b = UInt64(bound)
    var m = next().multipliedFullWidth(by: b)
    if m.low < b {
      let threshold = (0 &- b) % b
      while m.low < threshold { m = next().multipliedFullWidth(by: b) }
    }
    return Int(m.high)
  }

  /// `k` distinct indices of 0..<n (partial Fisher–Yates), in sampled order: minibatches and
  /// sampled participants.
  public mutating func sample(_ k: Int, from n: Int) -> [Int] {
    precondition(k >= 0 && k <= n, "sample(_:from:) needs 0 <= k <= n: got k=\(k), n=\(n)")
    var pool = Array(0..<n)
    for i in 0..<k { pool.swapAt(i, i + nextInt(below: n - i)) }
    return Array(pool[0..<k])
  }

  /// Uniform Double in [0, 1) with 53 random bits.
  @inlinable
  public mutating func nextDouble() -> Double {
    Double(next() >> 11) * 0x1.0p-53
  }

  /// Uniform Float in [0, 1) with 24 random bits.
  @inlinable
  public mutating func nextFloat() -> Float {
    Float(next() >> 40) * 0x1.0p-24
  }

  /// Standard normal variate (Box–Muller; one of the pair is discarded so the
  /// stream position depends only on the number of calls).
  @inlinable
  public mutating func nextNormal() -> Double {
    var u1 = nextDouble()
    while u1 <= 0 { u1 = nextDouble() }
    let u2 = nextDouble()
    return (-2 * log(u1)).squareRoot() * cos(2 * Double.pi * u2)
  }

  /// Adds `scale` × a standard normal variate to each of `values`, two variates per draw
  /// (Marsaglia's polar method: (u, v) uniform in the unit disc, s = u² + v², then u·√(−2 ln s/s)
  /// and v·√(−2 ln s/s) are independent N(0, 1)), in Float arithmetic on 24-bit uniforms (as
  /// PyTorch's float32 normal): about three times as fast per variate as `nextNormal`.
  public mutating func addNormals(_ values: UnsafeMutableBufferPointer<Float>, scale: Float) {
    var i = 0
    let n = values.count
    while i < n {
      var u: Float = 0, v: Float = 0, s: Float = 0
      repeat {
        u = 2 * nextFloat() - 1
        v = 2 * nextFloat() - 1
        s = u * u + v * v
      } while s >= 1 || s == 0
      let f = (-2 * logf(s) / s).squareRoot() * scale
      values[i] += u * f
      if i + 1 < n { values[i + 1] += v * f }
      i += 2
    }
  }

  /// The indices in 0..<count of a Bernoulli(p) draw for each (Poisson sampling), found by
  /// jumping geometric gaps — ⌊ln U / ln(1 − p)⌋ non-members before each member — so the cost is
  /// the number drawn, not `count`.
  public mutating func bernoulliIndices(count: Int, probability p: Double) -> [Int] {
    guard p > 0, count > 0 else { return [] }
    guard p < 1 else { return Array(0..<count) }
    let logQ = log1p(-p)
    var out: [Int] = []
    out.reserveCapacity(Int(Double(count) * p * 1.2) + 8)
    var i = -1
    while true {
      var u = nextDouble()
      while u <= 0 { u = nextDouble() }
      let gap = (log(u) / logQ).rounded(.down)
      guard gap < Double(count) else { break }
      i += Int(gap) + 1
      guard i < count else { break }
      out.append(i)
    }
    return out
  }

  /// Gamma(shape, 1) variate (Marsaglia & Tsang 2000; shape < 1 via the
  /// boost Gamma(shape+1)·U^(1/shape)).
  public mutating func nextGamma(shape: Double) -> Double {
    precondition(shape > 0, "gamma shape must be > 0: got \(shape)")
    if shape < 1 {
      var u = nextDouble()
      while u <= 0 { u = nextDouble() }
      return nextGamma(shape: shape + 1) * pow(u, 1 / shape)
    }
    let d = shape - 1.0 / 3.0
    let c = 1 / (9 * d).squareRoot()
    while true {
      var x: Double, v: Double
      repeat {
        x = nextNormal()
        v = 1 + c * x
      } while v <= 0
      v = v * v * v
      let u = nextDouble()
      if u < 1 - 0.0331 * x * x * x * x { return d * v }
      if u > 0, log(u) < 0.5 * x * x + d * (1 - v + log(v)) { return d * v }
    }
  }

  /// A Dirichlet(alpha, ..., alpha) sample of dimension `count`.
  public mutating func nextDirichlet(alpha: Double, count: Int) -> [Double] {
    precondition(count > 0, "Dirichlet needs count > 0")
    var g = (0..<count).map { _ in nextGamma(shape: alpha) }
    var total = g.reduce(0, +)
    if total <= 0 || !total.isFinite {
      // Every gamma underflowed (tiny alpha): put all the mass on one coordinate.
      g = [Double](repeating: 0, count: count)
      g[nextInt(below: count)] = 1
      total = 1
    }
    return g.map { $0 / total }
  }

  /// In-place Fisher–Yates shuffle with this stream (stable across toolchains).
  public mutating func shuffle<C: MutableCollection & RandomAccessCollection>(_ c: inout C) where C.Index == Int {
    let n = c.count
    if n < 2 { return }
    let base = c.startIndex
    for i in stride(from: n - 1, to: 0, by: -1) {
      let j = nextInt(below: i + 1)
      if i != j { c.swapAt(base + i, base + j) }
    }
  }

  /// A random permutation of 0..<count.
  public mutating func permutation(_ count: Int) -> [Int] {
    var p = Array(0..<count)
    shuffle(&p)
    return p
  }
}

/// Stable purpose tags for derived streams (never renumber: results depend on them).
public enum Purpose: UInt64, Sendable {
  case parameterInit = 1
  case shuffle = 2
  case partition = 3
  case dropout = 4
  case attack = 5
  case sampling = 6
  case noise = 7
  case benchmark = 8
  case covert = 9
  case privacySampling = 10
  case privacyNoise = 11
}

extension RandomStream {
  /// A stream for `purpose` derived from (seed, purpose, extra...).
  public init(seed: UInt64, purpose: Purpose, _ extra: UInt64...) {
    self.init(seed: seed, components: [purpose.rawValue] + extra)
  }
}

/// SplitMix64 (Steele, Lea & Flood 2014), used only to expand seeds.
@usableFromInline
struct SplitMix64 {
  @usableFromInline var state: UInt64
  @usableFromInline init(state: UInt64) { self.state = state }
  @usableFromInline mutating func next() -> UInt64 {
    state &+= 0x9E37_79B9_7F4A_7C15
    var z = state
    z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
    z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
    return z ^ (z >> 31)
  }
}
