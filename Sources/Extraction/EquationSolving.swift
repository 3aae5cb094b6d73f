import Foundation

/// Equation-solving extraction of a softmax (multinomial logistic) model from its probability
/// outputs (Tramèr et al. 2016, "Stealing Machine Learning Models via Prediction APIs", §4.1).
///
/// For softmax regression, log(p_k/p_0) = (w_k − w_0)·x + (b_k − b_0): each query x gives one
/// linear equation per class k ≠ 0 in the d + 1 unknowns of (w_k − w_0, b_k − b_0), the
/// parameters identifiable up to softmax's shift. With the reference class's parameters set to
/// 0, q ≥ d + 1 queries in general position determine every class exactly (the queries serve
/// all c − 1 free classes at once). Solved per class by least squares (normal equations,
/// Cholesky, in Double; classes with the same usable queries share the factor), using only the queries where both probabilities are above zero — a
/// rounded or hidden probability gives no equation. Label-only answers give none at all, which
/// is how that policy defeats this attack.
public enum EquationSolving {
  public struct Failure: Error, CustomStringConvertible {
    public let description: String
  }

  /// The extracted weights (classes × d, row-major) and biases, class 0's all zero.
  public struct Model: Sendable {
    public var weights: [Double]
    public var biases: [Double]
    public let inputSize: Int
    public let classes: Int

    public func logits(_ x: [Float]) -> [Double] {
      (0..<classes).map { k in
        var s = biases[k]
        for j in 0..<inputSize { s += weights[k * inputSize + j] * Double(x[j]) }
        return s
      }
    }
  }

  /// `inputs` are the q queries (each d values), `answers` the probability vectors returned.
  public static func solve(inputs: [[Float]], answers: [[Double]], classes: Int) throws -> Model {
    guard let d = inputs.first?.count, inputs.count == answers.count else {
      throw Failure(description: "no queries")
    }
    var weights = [Double](repeating: 0, count: classes * d)
    var biases = [Double](repeating: 0, count: classes)
    // Classes with the same usable queries share AᵀA and its factor (all of them, when every
    // probability is shown).
    var factors: [[Int]: [Double]] = [:]
    let n = d + 1
    for k in 1..<classes {
      let rows = inputs.indices.filter { answers[$0][k] > 0 && answers[$0][0] > 0 }
      guard rows.count >= n else {
        throw Failure(
          description:
            "class \(k): \(rows.count) usable equations for \(n) unknowns (answers that hide or round probabilities to 0 give none)")
      }
      let factor: [Double]
      if let cached = factors[rows] {
        factor = cached
      } else {
        // AᵀA with A = [x, 1], then its Cholesky factor.
        var ata = [Double](repeating: 0, count: n * n)
        for r in rows {
          var a = inputs[r].map(Double.init)
          a.append(1)
          for i in 0..<n where a[i] != 0 {
            let ai = a[i]
            for j in i..<n { ata[i * n + j] += ai * a[j] }
          }
        }
        for i in 0..<n { for j in 0..<i { ata[i * n + j] = ata[j * n + i] } }
        factor = try cholesky(ata, n: n)
        factors[rows] = factor
      }
      var aty = [Double](repeating: 0, count: n)
      for r in rows {
        let y = log(answers[r][k]) - log(answers[r][0])
        for j in 0..<d { aty[j] += Double(inputs[r][j]) * y }
        aty[d] += y
      }
      let theta = solve(factor, aty, n: n)
      for j in 0..<d { weights[k * d + j] = theta[j] }
      biases[k] = theta[d]
    }
    return Model(weights: weights, biases: biases, inputSize: d, classes: classes)
  }

  /// The lower Cholesky factor L (row-major) of a symmetric positive-definite M = LLᵀ.
  static func cholesky(_ m: [Double], n: Int) throws -> [Double] {
    var l = [Double](repeating: 0, count: n * n)
    for i in 0..<n {
      for j in 0...i {
        var s = m[i * n + j]
        for k in 0..<j { s -= l[i * n + k] * l[j * n + k] }
        if i == j {
          guard s > 1e-12 * max(1, abs(m[i * n + i])) else {
            throw Failure(description: "the queries do not determine the model (a singular system): use more, or more varied, queries")
          }
          l[i * n + i] = s.squareRoot()
        } else {
          l[i * n + j] = s / l[j * n + j]
        }
      }
    }
    return l
  }

  /// x with LLᵀx = b.
  static func solve(_ l: [Double], _ b: [Double], n: Int) -> [Double] {
    var y = [Double](repeating: 0, count: n)
    for i in 0..<n {
      var s = b[i]
      for k in 0..<i { s -= l[i * n + k] * y[k] }
      y[i] = s / l[i * n + i]
    }
    var x = [Double](repeating: 0, count: n)
    for i in stride(from: n - 1, through: 0, by: -1) {
      var s = y[i]
      for k in (i + 1)..<n { s -= l[k * n + i] * x[k] }
      x[i] = s / l[i * n + i]
    }
    return x
  }
}
