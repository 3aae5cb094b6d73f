import Aggregation
import Foundation

/// Norm z-score: |‖xᵢ‖ − median‖x‖| / (1.4826·MAD of the norms). Scaled updates (model
/// replacement, IPM with a large ε, Gaussian noise) stand out.
///
/// Worked example: norms 1, 1, 1, 4 → median 1, MAD 0 → floor: the last scores far above the others (0).
public struct NormZScore: Auditor {
  public let name = "norm_zscore"
  public init() {}
  public func scores(_ x: UpdateMatrix, aggregate: [Float]?) -> [Double] {
    RobustZ.normalize(x.norms()).map(abs)
  }
}

/// Cosine to the robust aggregate: 1 − cos(xᵢ, g), with g the round's aggregate (or the
/// coordinate-wise median when none is given). Direction attacks (sign flipping, IPM) score high.
///
/// Worked example: g = [1, 0]; [2, 0] → 0; [0, 1] → 1; [−1, 0] → 2.
public struct CosineToAggregate: Auditor {
  public let name = "cosine"
  public init() {}
  public func scores(_ x: UpdateMatrix, aggregate: [Float]?) -> [Double] {
    let g = aggregate ?? coordinateMedian(x)
    let gn = norm(g[...])
    return (0..<x.rows).map { i in
      let r = row(x, i), rn = norm(r)
      guard rn > 0, gn > 0 else { return 1 }
      var dot = 0.0
      for (a, b) in zip(r, g) { dot += Double(a) * Double(b) }
      return 1 - dot / (rn * gn)
    }
  }
}

/// Distance to the coordinate-wise median: ‖xᵢ − med‖.
///
/// Worked example: [0,0], [1,0], [0,1] → median [0,0] → 0, 1, 1.
public struct MedianDistance: Auditor {
  public let name = "median_distance"
  public init() {}
  public func scores(_ x: UpdateMatrix, aggregate: [Float]?) -> [Double] {
    let m = coordinateMedian(x)
    return (0..<x.rows).map { i in
      var s = 0.0
      for (a, b) in zip(row(x, i), m) { s += Double(a - b) * Double(a - b) }
      return s.squareRoot()
    }
  }
}

/// Krum score (Blanchard et al. 2017): the sum of squared distances to the n − f − 2 nearest
/// other updates (at least 1).
///
/// Worked example (f = 0, n = 3): [0,0], [1,0], [5,0] → 1, 1, 16.
public struct KrumScore: Auditor {
  public let name = "krum_score"
  public let f: Int
  public init(f: Int = 0) { self.f = f }
  public func scores(_ x: UpdateMatrix, aggregate: [Float]?) -> [Double] {
    let n = x.rows
    guard n > 1 else { return [0] }
    return Krum.scores(x.squaredDistances(), n: n, neighbours: max(1, n - f - 2))
  }
}

/// Sign agreement: 1 − the fraction of coordinates where sign(xᵢⱼ) equals the sign of the
/// coordinate-wise median (coordinates where the median is 0 are skipped).
///
/// Worked example: median [1, −1, 0, 2] (rows [1,−1,0,2] ×3 and [−1,1,5,2]): the last agrees on
/// 1 of 3 counted coordinates → 0.667; the others 0.
public struct SignAgreement: Auditor {
  public let name = "sign_agreement"
  public init() {}
  public func scores(_ x: UpdateMatrix, aggregate: [Float]?) -> [Double] {
    let m = coordinateMedian(x)
    return (0..<x.rows).map { i in
      var agree = 0, counted = 0
      for (a, b) in zip(row(x, i), m) where b != 0 {
        counted += 1
        if (a > 0) == (b > 0) && a != 0 { agree += 1 }
      }
      return counted == 0 ? 0 : 1 - Double(agree) / Double(counted)
    }
  }
}

/// FoolsGold-style historical similarity (Fung et al. 2020): each worker's updates are summed
/// over rounds; the score is the largest cosine similarity of its history with another worker's.
/// Colluding Sybils pushing one goal score near 1.
///
/// Worked example (first round): [1,0], [1,0], [0,1] → 1, 1, 0.
public struct HistorySimilarity: Auditor {
  public let name = "history_similarity"
  public private(set) var history = WorkerHistories()
  public init() {}

  public var state: [Float] { history.encoded }

  public mutating func restore(state s: [Float]) throws {
    do { history = try WorkerHistories(decoding: s, owner: "history_similarity") } catch let e as AggregationError {
      throw AuditStateError(e.message)
    }
  }

  public mutating func scores(_ x: UpdateMatrix, aggregate: [Float]?) -> [Double] {
    history.add(x)
    let hm = history.matrix(x.ids)
    let cos = hm.cosineSimilarities(), n = hm.rows
    return (0..<n).map { i in (0..<n).filter { $0 != i }.map { cos[i * n + $0] }.max() ?? 0 }
  }
}

/// Mantissa-bit test: the low `bits` bits of every float's mantissa form a histogram of 2^bits
/// bins; a row's histogram is compared by a χ² test with the workers' typical histogram (per bin,
/// the median proportion across workers, so a minority hiding data cannot shift it).
/// The score is the standardised statistic (χ² − df)/√(2·df), ≈ N(0,1) under the null.
/// Hidden payloads in the low bits (mantissa steganography) change their distribution.
public struct MantissaChiSquare: Auditor {
  public let name = "mantissa_chi2"
  public let bits: Int
  public init(bits: Int = 4) {
    precondition(bits >= 1 && bits <= 12, "mantissa bits must be 1...12: got \(bits)")
    self.bits = bits
  }
  public func scores(_ x: UpdateMatrix, aggregate: [Float]?) -> [Double] {
    let bins = 1 << bits, mask = UInt32(bins - 1)
    let hist: [[Double]] = (0..<x.rows).map { i in
      var h = [Double](repeating: 0, count: bins)
      for v in row(x, i) where v != 0 { h[Int(v.bitPattern & mask)] += 1 }
      return h
    }
    // The reference distribution: per bin, the median proportion across workers (a minority of
    // workers hiding data cannot drag it), normalised to sum to 1.
    let sums = hist.map { $0.reduce(0, +) }
    var reference = (0..<bins).map { b in RobustZ.median((0..<x.rows).map { sums[$0] > 0 ? hist[$0][b] / sums[$0] : 0 }) }
    let rs = reference.reduce(0, +)
    reference = reference.map { rs > 0 ? $0 / rs : 1 / Double(bins) }
    let df = Double(bins - 1)
    return (0..<x.rows).map { i in
      let mine = sums[i]
      guard mine > 0 else { return 0 }
      var chi2 = 0.0
      for b in 0..<bins {
        let expected = max(mine * reference[b], 0.5)
        chi2 += (hist[i][b] - expected) * (hist[i][b] - expected) / expected
      }
      return (chi2 - df) / (2 * df).squareRoot()
    }
  }
}
