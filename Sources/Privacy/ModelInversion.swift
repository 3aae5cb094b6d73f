import Foundation
import Learning
import Tensor

/// MI-Face, the model-inversion attack of Fredrikson, Jha & Ristenpart 2015 ("Model Inversion
/// Attacks that Exploit Confidence Information and Basic Countermeasures"), Algorithm 1:
/// gradient descent from x₀ = 0 on c(x) = 1 − f_y(x), the model's confidence in class y
/// (no auxiliary term), each step followed by PROCESS — here clipping to the pixel box [0, 1]
/// (the paper's softmax models used no denoiser). It stops after α steps, when the cost has not
/// improved on the worst of the last β steps, or when c ≤ γ, and returns the best x seen.
/// Defaults: α = 5000, β = 100 and λ = 0.1 as the paper's softmax experiments; γ = 0.01, i.e.
/// stop once the model is 99% confident (the rule is the paper's, the value ours).
///
/// Gradients: white-box, ∇c = f_y·∇ₓℓ(x, y) from one backward pass (ℓ the cross-entropy); or,
/// through a prediction API, central finite differences of the confidence the API shows
/// (2d queries a step, step `h`), which an output policy that rounds or hides the confidence
/// flattens to zero — the defence the paper proposes.
public struct ModelInversion: Sendable {
  public var alpha = 5000
  public var beta = 100
  public var gamma = 0.01
  public var lambda = 0.1
  /// Finite-difference step for the numerical gradient.
  public var h = 1e-2

  public init() {}

  public struct Result: Sendable {
    public let image: [Float]
    public let cost: Double
    public let steps: Int
    public let queries: Int
  }

  /// White-box inversion of class `label`.
  public func invert(_ network: Network, label: Int) -> Result {
    let d = network.inputSize
    var x = [Float](repeating: 0, count: d)
    var gradient = [Float](repeating: 0, count: d)
    return descend(
      start: x, label: label,
      cost: { v in 1 - Self.confidence(network, v, label) },
      gradient: { v in
        let p = Self.confidence(network, v, label)
        x = v
        x.withUnsafeBufferPointer { xs in
          gradient.withUnsafeMutableBufferPointer { g in
            _ = network.inputGradients(xs.baseAddress!, labels: [Int32(label)], batch: 1, into: g.baseAddress!)
          }
        }
        return gradient.map { Double($0) * p }
      }, queriesPerStep: 1)
  }

  /// Black-box inversion through `confidence` (what the API shows for class `label`), with at
  /// most `maxQueries` queries.
  public func invert(inputSize d: Int, label: Int, maxQueries: Int, confidence: ([Float]) -> Double) -> Result {
    var queries = 0
    var budgetLeft: Bool { queries + 2 * d + 1 <= maxQueries }
    let result = descend(
      start: [Float](repeating: 0, count: d), label: label,
      cost: { v in
        queries += 1
        return 1 - confidence(v)
      },
      gradient: { v in
        guard budgetLeft else { return nil }
        var g = [Double](repeating: 0, count: d)
        for j in 0..<d {
          var plus = v, minus = v
          plus[j] = min(1, plus[j] + Float(h))
          minus[j] = max(0, minus[j] - Float(h))
          let width = Double(plus[j] - minus[j])
          guard width > 0 else { continue }
          // d(1 − f)/dx = −(f(x+) − f(x−))/width
          g[j] = -(confidence(plus) - confidence(minus)) / width
          queries += 2
        }
        return g
      }, queriesPerStep: 2 * d + 1)
    return Result(image: result.image, cost: result.cost, steps: result.steps, queries: queries)
  }

  /// Algorithm 1's loop; `gradient` returns nil when no more queries may be spent.
  func descend(
    start: [Float], label: Int, cost: ([Float]) -> Double, gradient: ([Float]) -> [Double]?, queriesPerStep: Int
  ) -> Result {
    var x = start
    var costs = [cost(x)]
    var best = (image: x, cost: costs[0])
    var steps = 0
    while steps < alpha {
      guard let g = gradient(x) else { break }
      for j in x.indices { x[j] = min(1, max(0, x[j] - Float(lambda * g[j]))) }
      steps += 1
      let c = cost(x)
      if c < best.cost { best = (x, c) }
      let window = costs.suffix(beta)
      costs.append(c)
      if steps >= beta, let worst = window.max(), c >= worst { break }
      if c <= gamma { break }
    }
    return Result(image: best.image, cost: best.cost, steps: steps, queries: steps * queriesPerStep)
  }

  static func confidence(_ network: Network, _ x: [Float], _ label: Int) -> Double {
    x.withUnsafeBufferPointer { network.probabilities($0.baseAddress!, count: 1) }[0][label]
  }
}
