import Data
import Tensor

/// DP-SGD's settings (Abadi et al. 2016, "Deep Learning with Differential Privacy"), in the
/// variant Opacus implements: Poisson sampling (each sample joins a step's batch independently
/// with probability q = batch size / data set size; a step may see any number of samples,
/// none included), per-sample gradients clipped to L2 norm `clip`, Gaussian noise of standard
/// deviation `noiseMultiplier · clip` added to their sum, and the result divided by the
/// *expected* batch size q·N. Steps per epoch: N / batch size, rounded down (at least one).
public struct DPSGDConfiguration: Sendable, Equatable {
  public var clip: Float
  public var noiseMultiplier: Double

  public init(clip: Float, noiseMultiplier: Double) {
    self.clip = clip
    self.noiseMultiplier = noiseMultiplier
  }

  /// Why these settings cannot train, or nil.
  public var problem: String? {
    if !(clip > 0) || !clip.isFinite { return "the clipping norm must be a positive number: got \(clip)" }
    if !(noiseMultiplier >= 0) || !noiseMultiplier.isFinite { return "the noise multiplier must be ≥ 0: got \(noiseMultiplier)" }
    return nil
  }

  public static func sampleRate(batchSize: Int, count: Int) -> Double { min(1, Double(batchSize) / Double(max(count, 1))) }
  public static func stepsPerEpoch(batchSize: Int, count: Int) -> Int { max(1, count / max(batchSize, 1)) }
}

extension Trainer {
  /// One epoch of DP-SGD (see `DPSGDConfiguration`); the sample draw of step t comes from
  /// (seed, privacySampling, t) and its noise from (seed, privacyNoise, t), t counted from the
  /// first epoch, so the same seed gives the same model. Returns the samples processed.
  @discardableResult
  public func trainPrivateEpoch(
    _ data: Dataset, epoch: Int, privacy: DPSGDConfiguration, progress: (TrainingProgress) -> Void = { _ in }
  ) -> Int {
    precondition(privacy.problem == nil, privacy.problem ?? "")
    precondition(
      data.shape.size == network.inputSize, "data samples have \(data.shape.size) features, the network takes \(network.inputSize)")
    let n = data.count, b = configuration.batchSize
    let q = DPSGDConfiguration.sampleRate(batchSize: b, count: n)
    let steps = DPSGDConfiguration.stepsPerEpoch(batchSize: b, count: n)
    let expected = q * Double(n)
    let lr = configuration.schedule.rate(epoch: epoch)
    let start = ContinuousClock.now
    var lossSum = 0.0, seen = 0
    var processed = 0
    for k in 0..<steps {
      let t = UInt64(epoch * steps + k)
      var draw = RandomStream(seed: configuration.seed, purpose: .privacySampling, t)
      let indices = draw.bernoulliIndices(count: n, probability: q)
      let pass = gather(data, indices: indices) { x, y, count in
        network.clippedGradientSum(x, labels: y, batch: count, clip: privacy.clip)
      }
      lossSum += pass.lossSum
      seen += indices.count
      processed += indices.count
      var noise = RandomStream(seed: configuration.seed, purpose: .privacyNoise, t)
      let scale = Float(privacy.noiseMultiplier) * privacy.clip
      network.addToGradients { _, g in
        noise.addNormals(g, scale: scale)
        let inverse = Float(1 / expected)
        for j in g.indices { g[j] *= inverse }
      }
      optimizer.step(&network.parameters, gradient: network.gradients, learningRate: lr, only: trainable)
      let seconds = (ContinuousClock.now - start).seconds
      progress(
        TrainingProgress(
          epoch: epoch, epochs: configuration.epochs, batch: k + 1, batchesPerEpoch: steps,
          loss: seen > 0 ? lossSum / Double(seen) : 0, learningRate: lr,
          samplesPerSecond: seconds > 0 ? Double(processed) / seconds : 0, epochFinished: k + 1 == steps))
    }
    return processed
  }
}
