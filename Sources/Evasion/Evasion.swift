import Foundation
import Learning
import Tensor

/// White-box evasion attacks on a classifier: each input moved within an ε-ball (and the
/// pixel box [0, 1]) to raise its cross-entropy loss, with input gradients computed for the
/// whole batch at once.
///
/// - FGSM (Goodfellow, Shlens & Szegedy 2015, "Explaining and Harnessing Adversarial Examples"):
///   x' = clip(x + ε·sign(∇ₓℓ), 0, 1) — one step, L∞. (For a linear binary model this is the
///   optimal L∞ attack.)
/// - PGD (Madry et al. 2018, "Towards Deep Learning Models Resistant to Adversarial Attacks"):
///   from a random start in the ball (L∞: uniform per pixel; L2: a uniform direction and radius
///   ε·U^(1/d), as Foolbox's), `steps` steps of size α along sign(∇) (L∞) or ∇/‖∇‖₂ (L2), each
///   followed by projection onto the ball and the box. α defaults to 2.5·ε/steps (Madry et al.).
///   With `restarts` R > 1, each input keeps its worst case over the R runs: a misclassified
///   point if any run found one, else the highest loss (so robust accuracy is the share of
///   inputs that every run failed to flip, as Madry et al. count it).
public struct EvasionAttack: Sendable {
  public enum Method: String, Sendable, CaseIterable { case fgsm, pgd }
  public enum Norm: String, Sendable, CaseIterable { case linf, l2 }

  public var method: Method
  public var norm: Norm
  public var eps: Float
  public var steps: Int
  public var alpha: Float
  public var restarts: Int
  public var randomStart: Bool
  public var seed: UInt64

  public init(
    method: Method, norm: Norm = .linf, eps: Float, steps: Int = 20, alpha: Float? = nil, restarts: Int = 1, randomStart: Bool = true,
    seed: UInt64 = 0
  ) {
    self.method = method
    self.norm = norm
    self.eps = eps
    self.steps = method == .fgsm ? 1 : steps
    self.alpha = alpha ?? (method == .fgsm ? eps : 2.5 * eps / Float(max(steps, 1)))
    self.restarts = method == .fgsm ? 1 : restarts
    self.randomStart = method == .pgd && randomStart
    self.seed = seed
  }

  /// Why these settings cannot run, or nil.
  public var problem: String? {
    if !(eps >= 0) || !eps.isFinite { return "ε must be a finite number ≥ 0: got \(eps)" }
    if method == .fgsm && norm != .linf { return "FGSM is an L∞ attack; use --method pgd for L2" }
    if steps < 1 || steps > 10_000 { return "steps must be in 1...10000: got \(steps)" }
    if !(alpha >= 0) || !alpha.isFinite || (eps > 0 && alpha == 0) {
      return "the step size α must be a positive number: got \(alpha)"
    }
    if restarts < 1 || restarts > 100 { return "restarts must be in 1...100: got \(restarts)" }
    return nil
  }

  public struct Outcome: Sendable {
    /// The adversarial inputs (count, inputSize).
    public var adversarial: [Float]
    public var cleanCorrect: Int
    public var robustCorrect: Int
    public var count: Int
    public var cleanAccuracy: Double { count > 0 ? Double(cleanCorrect) / Double(count) : 0 }
    public var robustAccuracy: Double { count > 0 ? Double(robustCorrect) / Double(count) : 0 }
  }

  /// Attacks `count` inputs (rows of `x`, pixels in [0, 1]) with their true `labels`, in
  /// batches of `batchSize`; `progress` gets the inputs done so far.
  public func run(
    _ network: Network, x: [Float], labels: [Int32], batchSize: Int = 256, progress: (Int) -> Void = { _ in }
  ) -> Outcome {
    precondition(problem == nil, problem ?? "")
    let d = network.inputSize, count = labels.count
    precondition(x.count == count * d, "inputs hold \(x.count) floats, expected \(count) × \(d)")
    var adversarial = x
    var clean = 0, robust = 0
    var start = 0
    while start < count {
      let n = min(batchSize, count - start)
      let xs = Array(x[(start * d)..<((start + n) * d)]), ys = Array(labels[start..<(start + n)])
      clean += zip(predict(network, xs, n), ys).filter { $0 == $1 }.count
      var best = xs
      var bestFooled = [Bool](repeating: false, count: n)
      var bestLoss = [Double](repeating: -.infinity, count: n)
      for r in 0..<restarts {
        var rng = RandomStream(seed: seed, purpose: .attack, 0x45564153, UInt64(start), UInt64(r))
        let candidate = attackBatch(network, xs, ys, n: n, rng: &rng)
        let (predicted, losses) = evaluate(network, candidate, ys, n: n)
        for i in 0..<n {
          let fooled = predicted[i] != ys[i]
          if (fooled && !bestFooled[i]) || (fooled == bestFooled[i] && losses[i] > bestLoss[i]) {
            bestFooled[i] = fooled
            bestLoss[i] = losses[i]
            for j in 0..<d { best[i * d + j] = candidate[i * d + j] }
          }
        }
      }
      robust += bestFooled.filter { !$0 }.count
      adversarial.replaceSubrange((start * d)..<((start + n) * d), with: best)
      start += n
      progress(start)
    }
    return Outcome(adversarial: adversarial, cleanCorrect: clean, robustCorrect: robust, count: count)
  }

  func attackBatch(_ network: Network, _ x: [Float], _ y: [Int32], n: Int, rng: inout RandomStream) -> [Float] {
    let d = network.inputSize
    var a = x
    if randomStart {
      for i in 0..<n {
        switch norm {
        case .linf:
          for j in 0..<d { a[i * d + j] += eps * (2 * rng.nextFloat() - 1) }
        case .l2:
          var direction = (0..<d).map { _ in Float(rng.nextNormal()) }
          let length = direction.reduce(0) { $0 + $1 * $1 }.squareRoot()
          let radius = eps * Float(pow(rng.nextDouble(), 1 / Double(d)))
          for j in 0..<d { direction[j] *= radius / max(length, 1e-12) }
          for j in 0..<d { a[i * d + j] += direction[j] }
        }
      }
      project(&a, around: x, n: n, d: d)
    }
    var gradient = [Float](repeating: 0, count: n * d)
    for _ in 0..<steps {
      a.withUnsafeBufferPointer { xa in
        y.withUnsafeBufferPointer { ya in
          gradient.withUnsafeMutableBufferPointer { g in
            _ = network.inputGradients(xa.baseAddress!, labels: ya.baseAddress!, batch: n, into: g.baseAddress!)
          }
        }
      }
      for i in 0..<n {
        switch norm {
        case .linf:
          for j in 0..<d {
            let g = gradient[i * d + j]
            a[i * d + j] += alpha * (g > 0 ? 1 : g < 0 ? -1 : 0)
          }
        case .l2:
          var length: Float = 0
          for j in 0..<d { length += gradient[i * d + j] * gradient[i * d + j] }
          length = length.squareRoot()
          guard length > 0 else { continue }
          for j in 0..<d { a[i * d + j] += alpha * gradient[i * d + j] / length }
        }
      }
      project(&a, around: x, n: n, d: d)
    }
    return a
  }

  /// Onto the ε-ball around x (L∞: per pixel; L2: scaling the perturbation), then the box [0, 1].
  func project(_ a: inout [Float], around x: [Float], n: Int, d: Int) {
    for i in 0..<n {
      switch norm {
      case .linf:
        for j in 0..<d {
          let k = i * d + j
          a[k] = min(max(a[k], x[k] - eps), x[k] + eps)
        }
      case .l2:
        var length: Float = 0
        for j in 0..<d { length += (a[i * d + j] - x[i * d + j]) * (a[i * d + j] - x[i * d + j]) }
        length = length.squareRoot()
        if length > eps {
          let f = eps / length
          for j in 0..<d { a[i * d + j] = x[i * d + j] + (a[i * d + j] - x[i * d + j]) * f }
        }
      }
      for j in 0..<d { a[i * d + j] = min(max(a[i * d + j], 0), 1) }
    }
  }

  func predict(_ network: Network, _ x: [Float], _ n: Int) -> [Int32] {
    x.withUnsafeBufferPointer { network.predict($0.baseAddress!, count: n) }
  }

  /// Predictions and per-sample losses.
  func evaluate(_ network: Network, _ x: [Float], _ y: [Int32], n: Int) -> ([Int32], [Double]) {
    let classes = network.outputSize
    var losses = [Double](repeating: 0, count: n)
    var predicted = [Int32](repeating: 0, count: n)
    x.withUnsafeBufferPointer { xa in
      let logits = network.forward(xa.baseAddress!, batch: n)
      for i in 0..<n {
        let z = logits + i * classes
        var top = z[0]
        var arg = 0
        for k in 1..<classes where z[k] > top {
          top = z[k]
          arg = k
        }
        var sum = 0.0
        for k in 0..<classes { sum += exp(Double(z[k] - top)) }
        losses[i] = log(sum) - Double(z[Int(y[i])] - top)
        predicted[i] = Int32(arg)
      }
    }
    return (predicted, losses)
  }
}

extension EvasionAttack {
  /// Adversarial training (Madry et al. 2018, §5): each training batch is replaced by this
  /// attack's adversarial examples against the model as it is at that step (the inner
  /// maximisation), then the model takes its SGD step on them (the outer minimisation). Pass
  /// the result to `Trainer.trainEpoch(_:epoch:transform:)`. Random starts come from
  /// (seed, batch number), so a training run is reproducible.
  public func trainingTransform(for network: Network) -> Trainer.BatchTransform {
    let counter = Counter()
    return { x, y, count in
      counter.value += 1
      var rng = RandomStream(seed: self.seed, purpose: .attack, 0x4D41_4452, counter.value)
      let adversarial = self.attackBatch(network, Array(x), Array(y), n: count, rng: &rng)
      for i in 0..<(count * network.inputSize) { x[i] = adversarial[i] }
    }
  }

  /// Replaces the batch `x` (n inputs, labels `y`) by its adversarial examples against
  /// `network`: the inner maximisation of one adversarial-training step, for callers that keep
  /// their own batches (federated workers); `rng` gives the random starts.
  public func perturb(_ network: Network, _ x: inout [Float], _ y: [Int32], n: Int, rng: inout RandomStream) {
    x = attackBatch(network, x, y, n: n, rng: &rng)
  }

  final class Counter: @unchecked Sendable { var value: UInt64 = 0 }
}
