import Foundation

/// Membership scores from a model's outputs (higher = more likely a training member), one
/// function per attack. Inputs are per-example probability vectors as the attacker sees them
/// (after any output policy), and the true labels.
public enum MembershipScores {
  /// Yeom et al. 2018 ("Privacy Risk in Machine Learning"), the loss attack: −ℓ = log p_y
  /// (probabilities floored at 10⁻³⁰ so a rounded zero stays finite).
  public static func loss(_ p: [[Double]], labels: [Int]) -> [Double] {
    zip(p, labels).map { log(max($0[$1], 1e-30)) }
  }

  /// The confidence attack (Salem et al. 2019, "ML-Leaks", adversary 3): the largest
  /// probability, which needs no label.
  public static func confidence(_ p: [[Double]]) -> [Double] { p.map { $0.max() ?? 0 } }

  /// LiRA's statistic (Carlini et al. 2022, "Membership Inference Attacks From First
  /// Principles", §4.3): the logit-scaled confidence φ = log(p_y / (1 − p_y)), computed as
  /// log p_y − log Σ_{k≠y} p_k with both sums floored at 10⁻³⁰.
  public static func scaledConfidence(_ p: [Double], label y: Int) -> Double {
    var rest = 0.0
    for (k, v) in p.enumerated() where k != y { rest += v }
    return log(max(p[y], 1e-30)) - log(max(rest, 1e-30))
  }

  /// Gaussian fits of φ over shadow models for one example: the shadows that trained on it
  /// (IN) and those that did not (OUT).
  public struct Fit: Sendable {
    public var meanIn: Double, sdIn: Double, meanOut: Double, sdOut: Double
  }

  public enum LiRAVariant: String, Sendable, CaseIterable {
    case online, offline
  }

  /// LiRA's score of target statistic φ: online, the log-likelihood ratio
  /// log N(φ; μ_in, σ_in²) − log N(φ; μ_out, σ_out²); offline, the one-sided standardised
  /// distance (φ − μ_out)/σ_out (a monotone function of the paper's Φ, so the same ROC).
  public static func lira(_ phi: Double, fit: Fit, variant: LiRAVariant) -> Double {
    switch variant {
    case .online: logNormal(phi, fit.meanIn, fit.sdIn) - logNormal(phi, fit.meanOut, fit.sdOut)
    case .offline: (phi - fit.meanOut) / fit.sdOut
    }
  }

  /// Per-example fits from `phi[s][i]` (shadow s, example i) and `trainedOn[s][i]`. Standard
  /// deviations are per example, or with `fixedVariance` the pooled standard deviation of
  /// every IN (and every OUT) deviation from its example's mean — the paper's variant for few
  /// shadows. An example with fewer than two IN (OUT) shadows takes the pooled value.
  public static func fits(phi: [[Double]], trainedOn: [[Bool]], fixedVariance: Bool) -> [Fit] {
    let examples = phi.first?.count ?? 0
    var means: [(inn: Double, out: Double)] = []
    var sds: [(inn: Double?, out: Double?)] = []
    var pooled = (inn: 0.0, nIn: 0, out: 0.0, nOut: 0)
    for i in 0..<examples {
      var ins: [Double] = [], outs: [Double] = []
      for s in phi.indices { if trainedOn[s][i] { ins.append(phi[s][i]) } else { outs.append(phi[s][i]) } }
      let mi = ins.isEmpty ? .nan : ins.reduce(0, +) / Double(ins.count)
      let mo = outs.isEmpty ? .nan : outs.reduce(0, +) / Double(outs.count)
      means.append((mi, mo))
      let vi = ins.reduce(0) { $0 + ($1 - mi) * ($1 - mi) }, vo = outs.reduce(0) { $0 + ($1 - mo) * ($1 - mo) }
      pooled.inn += vi
      pooled.nIn += max(0, ins.count - 1)
      pooled.out += vo
      pooled.nOut += max(0, outs.count - 1)
      sds.append(
        (ins.count > 1 ? (vi / Double(ins.count - 1)).squareRoot() : nil, outs.count > 1 ? (vo / Double(outs.count - 1)).squareRoot() : nil)
      )
    }
    let globalIn = max((pooled.inn / Double(max(1, pooled.nIn))).squareRoot(), 1e-6)
    let globalOut = max((pooled.out / Double(max(1, pooled.nOut))).squareRoot(), 1e-6)
    return (0..<examples).map { i in
      Fit(
        meanIn: means[i].inn, sdIn: fixedVariance ? globalIn : max(sds[i].inn ?? globalIn, 1e-6),
        meanOut: means[i].out, sdOut: fixedVariance ? globalOut : max(sds[i].out ?? globalOut, 1e-6))
    }
  }

  static func logNormal(_ x: Double, _ mean: Double, _ sd: Double) -> Double {
    let z = (x - mean) / sd
    return -0.5 * z * z - log(sd) - 0.5 * log(2 * Double.pi)
  }
}

/// A binary logistic regression fitted by full-batch gradient descent on standardised
/// features (deterministic: zero start, fixed steps): the attack model of the shadow-model
/// attack.
public struct LogisticRegression: Sendable {
  public var weights: [Double]
  public var bias: Double
  var mean: [Double]
  var scale: [Double]

  public init(features x: [[Double]], labels y: [Bool], steps: Int = 500, learningRate: Double = 0.5, l2: Double = 1e-4) {
    let d = x.first?.count ?? 0, n = Double(x.count)
    mean = (0..<d).map { j in x.reduce(0) { $0 + $1[j] } / n }
    let m = mean
    scale = (0..<d).map { j in max((x.reduce(0) { $0 + ($1[j] - m[j]) * ($1[j] - m[j]) } / n).squareRoot(), 1e-12) }
    weights = [Double](repeating: 0, count: d)
    bias = 0
    let standardised = x.map { standardise($0) }
    for _ in 0..<steps {
      var gw = [Double](repeating: 0, count: d), gb = 0.0
      for (row, label) in zip(standardised, y) {
        var s = bias
        for j in 0..<d { s += weights[j] * row[j] }
        let err = 1 / (1 + exp(-s)) - (label ? 1 : 0)
        for j in 0..<d { gw[j] += err * row[j] }
        gb += err
      }
      for j in 0..<d { weights[j] -= learningRate * (gw[j] / n + l2 * weights[j]) }
      bias -= learningRate * gb / n
    }
  }

  func standardise(_ row: [Double]) -> [Double] { (0..<row.count).map { (row[$0] - mean[$0]) / scale[$0] } }

  /// The log-odds of class "true".
  public func score(_ row: [Double]) -> Double {
    let r = standardise(row)
    var s = bias
    for j in 0..<r.count { s += weights[j] * r[j] }
    return s
  }
}
