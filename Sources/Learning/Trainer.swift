import Data
import Foundation
import Tensor

/// Hyper-parameters of a centralized or local training run.
public struct TrainingConfiguration: Sendable, Equatable, Codable {
  public var epochs: Int
  public var batchSize: Int
  public var schedule: LearningRateSchedule
  public var momentum: Float
  public var weightDecay: Float
  public var seed: UInt64

  public init(
    epochs: Int, batchSize: Int, schedule: LearningRateSchedule, momentum: Float = 0,
    weightDecay: Float = 0, seed: UInt64 = 0
  ) {
    self.epochs = epochs; self.batchSize = batchSize; self.schedule = schedule
    self.momentum = momentum; self.weightDecay = weightDecay; self.seed = seed
  }

  /// Why these settings cannot train, or nil.
  public var problem: String? {
    if epochs < 1 { return "epochs must be >= 1: got \(epochs)" }
    if batchSize < 1 { return "batch size must be >= 1: got \(batchSize)" }
    if !(schedule.base > 0) || !schedule.base.isFinite { return "learning rate must be a positive number: got \(schedule.base)" }
    if !(momentum >= 0 && momentum < 1) { return "momentum must be in [0, 1): got \(momentum)" }
    if !(weightDecay >= 0) || !weightDecay.isFinite { return "weight decay must be >= 0: got \(weightDecay)" }
    if let s = schedule.stepEpochs, s < 0 { return "learning-rate step must be >= 0 epochs: got \(s)" }
    if !(schedule.gamma > 0) { return "learning-rate gamma must be > 0: got \(schedule.gamma)" }
    return nil
  }
}

/// A snapshot handed to the progress callback after every batch.
public struct TrainingProgress: Sendable {
  public let epoch: Int  // 0-based
  public let epochs: Int
  public let batch: Int  // 1-based within the epoch
  public let batchesPerEpoch: Int
  /// Mean training loss over the batches of this epoch so far.
  public let loss: Double
  public let learningRate: Float
  /// Training samples per second since the start of this epoch.
  public let samplesPerSecond: Double
  public let epochFinished: Bool
}

/// Test-set metrics.
public struct Evaluation: Sendable, Equatable, Codable {
  public let accuracy: Double
  public let loss: Double
  public let count: Int

  public init(accuracy: Double, loss: Double, count: Int) {
    self.accuracy = accuracy
    self.loss = loss
    self.count = count
  }
}

/// Mini-batch SGD over a `Dataset`: shuffle each epoch (stream derived from (seed, epoch)),
/// gather a batch, forward + backward, optimizer step.
public final class Trainer {
  public let network: Network
  public let configuration: TrainingConfiguration
  public internal(set) var optimizer: SGD
  /// The parameters training may change (nil: all): fine-tuning only the last layer.
  public var trainable: Range<Int>?
  private var batchFeatures: [Float] = []
  private var batchLabels: [Int32] = []

  public init(network: Network, configuration: TrainingConfiguration) {
    if let problem = configuration.problem { preconditionFailure(problem) }
    self.network = network
    self.configuration = configuration
    optimizer = SGD(
      parameterCount: network.parameterCount, momentum: configuration.momentum,
      weightDecay: configuration.weightDecay)
  }

  /// Trains for `configuration.epochs` epochs; returns the number of samples processed.
  @discardableResult
  public func fit(_ data: Dataset, progress: (TrainingProgress) -> Void = { _ in }) -> Int {
    var processed = 0
    for epoch in 0..<configuration.epochs {
      processed += trainEpoch(data, epoch: epoch, progress: progress)
    }
    return processed
  }

  /// One pass over `data` in the order of a permutation derived from (seed, epoch). Returns the
  /// samples processed.
  @discardableResult
  public func trainEpoch(
    _ data: Dataset, epoch: Int, transform: BatchTransform? = nil, progress: (TrainingProgress) -> Void = { _ in }
  ) -> Int {
    precondition(
      data.shape.size == network.inputSize, "data samples have \(data.shape.size) features, the network takes \(network.inputSize)")
    let n = data.count, b = configuration.batchSize
    let batches = (n + b - 1) / b
    var rng = RandomStream(seed: configuration.seed, purpose: .shuffle, UInt64(epoch))
    let order = rng.permutation(n)
    let lr = configuration.schedule.rate(epoch: epoch)
    let start = ContinuousClock.now
    var lossSum = 0.0
    for k in 0..<batches {
      let indices = order[(k * b)..<min(n, (k + 1) * b)]
      lossSum += step(data, indices: indices, learningRate: lr, transform: transform)
      let seconds = (ContinuousClock.now - start).seconds
      let done = min(n, (k + 1) * b)
      progress(
        TrainingProgress(
          epoch: epoch, epochs: configuration.epochs, batch: k + 1, batchesPerEpoch: batches,
          loss: lossSum / Double(k + 1), learningRate: lr,
          samplesPerSecond: seconds > 0 ? Double(done) / seconds : 0, epochFinished: k + 1 == batches))
    }
    return n
  }

  /// One SGD step on the samples at `indices`; returns the batch's mean loss.
  @discardableResult
  public func step<C: Collection>(
    _ data: Dataset, indices: C, learningRate: Float, transform: BatchTransform? = nil
  ) -> Double where C.Element == Int {
    let loss = gather(data, indices: indices, transform: transform) { x, y, count in network.lossAndGradient(x, labels: y, batch: count) }
    optimizer.step(&network.parameters, gradient: network.gradients, learningRate: learningRate, only: trainable)
    return loss
  }

  /// Rewrites a gathered batch in place before its step (features, labels, count): adversarial
  /// training replaces each batch by its adversarial examples.
  public typealias BatchTransform = (UnsafeMutableBufferPointer<Float>, UnsafeBufferPointer<Int32>, Int) -> Void

  /// Copies the samples at `indices` into one contiguous batch and hands it to `body`.
  func gather<C: Collection, R>(
    _ data: Dataset, indices: C, transform: BatchTransform? = nil, _ body: (UnsafePointer<Float>, UnsafePointer<Int32>, Int) -> R
  ) -> R where C.Element == Int {
    let d = data.shape.size, count = indices.count
    if batchFeatures.count < max(1, count) * d { batchFeatures = [Float](repeating: 0, count: max(1, count) * d) }
    if batchLabels.count < max(1, count) { batchLabels = [Int32](repeating: 0, count: max(1, count)) }
    data.features.withUnsafeBufferPointer { src in
      batchFeatures.withUnsafeMutableBufferPointer { dst in
        for (k, i) in indices.enumerated() {
          (dst.baseAddress! + k * d).update(from: src.baseAddress! + i * d, count: d)
          batchLabels[k] = data.labels[i]
        }
      }
    }
    if let transform {
      batchFeatures.withUnsafeMutableBufferPointer { x in
        batchLabels.withUnsafeBufferPointer { y in
          transform(UnsafeMutableBufferPointer(rebasing: x[0..<(count * d)]), UnsafeBufferPointer(rebasing: y[0..<count]), count)
        }
      }
    }
    return batchFeatures.withUnsafeBufferPointer { x in
      batchLabels.withUnsafeBufferPointer { y in body(x.baseAddress!, y.baseAddress!, count) }
    }
  }
}

extension Network {
  /// Softmax probabilities (in Double) of `count` flat inputs, in chunks of 256: what a
  /// prediction API computes before its output policy.
  public func probabilities(_ x: UnsafePointer<Float>, count: Int) -> [[Double]] {
    let classes = outputSize, d = inputSize
    var out: [[Double]] = []
    out.reserveCapacity(count)
    var start = 0
    while start < count {
      let n = min(256, count - start)
      let logits = forward(x + start * d, batch: n)
      for i in 0..<n {
        let z = logits + i * classes
        var top = -Double.infinity
        for k in 0..<classes { top = max(top, Double(z[k])) }
        var p = (0..<classes).map { exp(Double(z[$0]) - top) }
        let total = p.reduce(0, +)
        for k in p.indices { p[k] /= total }
        out.append(p)
      }
      start += n
    }
    return out
  }

  /// Accuracy and mean cross-entropy over `data`, in chunks of `batchSize`.
  public func evaluate(_ data: Dataset, batchSize: Int = 256) -> Evaluation {
    precondition(data.shape.size == inputSize, "data samples have \(data.shape.size) features, the network takes \(inputSize)")
    let n = data.count, d = inputSize, classes = outputSize
    var correct = 0
    var lossSum = 0.0
    var predictions = [Int32](repeating: 0, count: batchSize)
    data.features.withUnsafeBufferPointer { x in
      data.labels.withUnsafeBufferPointer { y in
        predictions.withUnsafeMutableBufferPointer { pred in
          var start = 0
          while start < n {
            let count = min(batchSize, n - start)
            let logits = forward(x.baseAddress! + start * d, batch: count)
            lossSum += Kernels.softmaxCrossEntropy(
              logits: logits, labels: y.baseAddress! + start, rows: count, classes: classes, gradient: nil)
            Kernels.argmaxRows(logits, rows: count, cols: classes, into: pred.baseAddress!)
            for k in 0..<count where pred[k] == y[start + k] { correct += 1 }
            start += count
          }
        }
      }
    }
    return Evaluation(accuracy: n > 0 ? Double(correct) / Double(n) : 0, loss: n > 0 ? lossSum / Double(n) : 0, count: n)
  }
}

extension Duration {
  /// This duration in seconds as a Double.
  public var seconds: Double {
    let c = components
    return Double(c.seconds) + Double(c.attoseconds) * 1e-18
  }
}
