import Data
import Foundation
import Learning
import Tensor

/// Learning-based extraction: train a substitute model on inputs labelled by the target's
/// answers (its argmax — the one thing every output policy shows), within a query budget.
///
/// Query strategies:
/// - `random`: images of uniform noise in [0, 1] (Tramèr et al. 2016's uniform queries);
/// - `indist`: unlabelled in-distribution images the attacker holds (here training images the
///   target's owner did not necessarily use; the labels come from the target only);
/// - `jacobian`: Papernot et al. 2017 ("Practical Black-Box Attacks against Machine Learning"),
///   §4.2: a seed of `seed` in-distribution images; each round the substitute is trained on
///   everything labelled so far, and every image x spawns x + λ·sign(∇ₓ F_y(x)) for the label y
///   the target gave it (the substitute's gradient of that class's log-probability), doubling
///   the set until the budget is spent. λ = 0.1, as the paper's MNIST runs.
/// The substitute retrains from scratch on the final labelled set (same seed), so the three
/// strategies are compared at equal queries.
public struct SubstituteTraining {
  public enum Strategy: String, Sendable, CaseIterable { case random, indist, jacobian }

  public var strategy: Strategy
  public var budget: Int
  public var spec: ModelSpec
  public var training: TrainingConfiguration
  public var seedSize = 100
  public var lambda: Float = 0.1
  public var seed: UInt64

  public init(strategy: Strategy, budget: Int, spec: ModelSpec, training: TrainingConfiguration, seed: UInt64) {
    self.strategy = strategy
    self.budget = budget
    self.spec = spec
    self.training = training
    self.seed = seed
  }

  /// `oracle` answers a batch of inputs with labels (the target behind its policy) — the first
  /// ones only, if the target stops answering (a spent budget, a refusal), after which no more
  /// is asked; `pool` is the attacker's unlabelled in-distribution data. Returns the substitute
  /// (nil if nothing was answered) and the number of queries answered.
  public func run(oracle: ([Float], Int) -> [Int32], pool: Dataset, progress: (String) -> Void = { _ in }) -> (Network?, Int) {
    let d = pool.shape.size
    var rng = RandomStream(seed: seed, purpose: .attack, 0x4558_5452)
    var x: [Float] = []
    var y: [Int32] = []
    var exhausted = false
    func ask(_ batch: [Float]) {
      let n = batch.count / d
      let answers = oracle(batch, n)
      precondition(answers.count <= n, "the oracle answered more inputs than it was asked")
      x += batch.prefix(answers.count * d)
      y += answers
      if answers.count < n { exhausted = true }
    }
    switch strategy {
    case .random:
      ask((0..<(budget * d)).map { _ in rng.nextFloat() })
    case .indist:
      let chosen = rng.sample(min(budget, pool.count), from: pool.count)
      ask(chosen.flatMap { i in pool.features[(i * d)..<((i + 1) * d)] })
    case .jacobian:
      let chosen = rng.sample(min(seedSize, budget, pool.count), from: pool.count)
      ask(chosen.flatMap { i in pool.features[(i * d)..<((i + 1) * d)] })
      var round = 0
      while y.count < budget && !exhausted && !y.isEmpty {
        round += 1
        progress("Jacobian augmentation round \(round): \(y.count) labelled images")
        let substitute = train(x, y, shape: pool.shape, classes: pool.classes)
        let count = min(y.count, budget - y.count)
        var gradient = [Float](repeating: 0, count: count * d)
        x.withUnsafeBufferPointer { xs in
          y.withUnsafeBufferPointer { ys in
            gradient.withUnsafeMutableBufferPointer { g in
              var start = 0
              while start < count {
                let n = min(256, count - start)
                substitute.inputGradients(
                  xs.baseAddress! + start * d, labels: ys.baseAddress! + start, batch: n, into: g.baseAddress! + start * d)
                start += n
              }
            }
          }
        }
        // ∇ log p_y = −∇ℓ: step against the loss gradient's sign.
        var spawned = [Float](repeating: 0, count: count * d)
        for i in 0..<(count * d) {
          let g = gradient[i]
          spawned[i] = min(1, max(0, x[i] - lambda * (g > 0 ? 1 : g < 0 ? -1 : 0)))
        }
        ask(spawned)
      }
    }
    guard !y.isEmpty else { return (nil, 0) }
    progress("training the substitute on \(y.count) labelled images")
    return (train(x, y, shape: pool.shape, classes: pool.classes), y.count)
  }

  func train(_ x: [Float], _ y: [Int32], shape: ImageShape, classes: Int) -> Network {
    let network = spec.makeNetwork(input: shape, classes: classes, seed: seed)
    Trainer(network: network, configuration: training).fit(Dataset(features: x, labels: y, shape: shape, classes: classes))
    return network
  }
}

/// Agreement of two models' labels on a test set (extraction's fidelity), and accuracy.
public enum Fidelity {
  public static func agreement(_ a: [Int32], _ b: [Int32]) -> Double {
    precondition(a.count == b.count && !a.isEmpty, "agreement needs two equal, non-empty label lists")
    return Double(zip(a, b).filter { $0 == $1 }.count) / Double(a.count)
  }
}
