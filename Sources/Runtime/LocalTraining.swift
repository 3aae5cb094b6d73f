import Covert
import Data
import Evasion
import Learning
import Tensor

/// How a participant turns the global model into an update on its own data: FedSGD gradient
/// (local_steps = 1) or FedAvg delta after k local SGD steps. Used by every worker and by the
/// coordinator's FLTrust root dataset. Round r's batches come from a stream derived from
/// (seed, stream, r), so an update depends only on the model and the round.
final class LocalTraining {
  let data: CompactDataset
  let network: Network
  let training: TrainingSettings
  let seed: UInt64
  let stream: UInt64
  /// A covert parameter encoding whose gradient joins every local step's (Song et al. 2017).
  var encoding: (any ParameterEncoding)?
  /// PGD adversarial training: every local batch is replaced by its adversarial examples.
  let adversarial: EvasionAttack?
  /// DP-SGD: every local step is a private one (Poisson sampling, clipping, noise).
  let privacy: DPSGDConfiguration?

  /// - network: the network to train in (a pool process shares one among its clients); nil: a new one.
  init(
    data: CompactDataset, topology: Topology, stream: UInt64, localSteps: Int? = nil, encoding: (any ParameterEncoding)? = nil,
    network: Network? = nil
  ) {
    self.data = data
    var t = topology.training
    if let localSteps { t.localSteps = localSteps }
    training = t
    seed = topology.seed
    self.stream = stream
    self.encoding = encoding
    privacy = t.dp.map { DPSGDConfiguration(clip: $0.clip, noiseMultiplier: $0.noiseMultiplier) }
    adversarial = t.adversarial.map {
      EvasionAttack(method: .pgd, norm: EvasionAttack.Norm(rawValue: $0.norm) ?? .linf, eps: $0.eps, steps: $0.steps)
    }
    self.network = network ?? topology.model.makeNetwork(input: data.shape, classes: data.classes, seed: topology.seed)
  }

  var parameterCount: Int { network.parameterCount }

  /// The samples of round `round`'s first local batch (what a FedSGD update is the gradient of;
  /// under DP-SGD, its Poisson batch).
  func firstBatch(round: Int) -> [Int] {
    if privacy != nil { return poissonBatch(round: round, step: 0) }
    var rng = RandomStream(seed: seed, purpose: .sampling, stream, UInt64(round))
    return rng.sample(min(training.batchSize, data.count), from: data.count)
  }

  func update(model: [Float], round: Int) -> (vector: [Float], samples: Int) {
    var rng = RandomStream(seed: seed, purpose: .sampling, stream, UInt64(round))
    let batch = min(training.batchSize, data.count)
    network.parameters = model
    func gradient(on drawn: [Int], step: Int) {
      if let privacy {
        privateGradient(privacy, round: round, step: step)
        return
      }
      let indices = drawn
      var x = data.materialize(indices)
      if let adversarial {
        // Random starts from (seed, stream, round, step): a resumed run draws the same ones.
        var starts = RandomStream(seed: seed, purpose: .attack, 0x4D41_4452, stream, UInt64(round), UInt64(step))
        adversarial.perturb(network, &x.features, x.labels, n: batch, rng: &starts)
      }
      x.features.withUnsafeBufferPointer { f in
        x.labels.withUnsafeBufferPointer { l in _ = network.lossAndGradient(f.baseAddress!, labels: l.baseAddress!, batch: batch) }
      }
      if let encoding { network.addToGradients { p, g in encoding.addGradient(p, to: g) } }
    }
    if training.localSteps == 1 {
      gradient(on: rng.sample(batch, from: data.count), step: 0)
      return (network.gradients, batch)
    }
    var local = SGD(parameterCount: network.parameterCount, momentum: training.momentum, weightDecay: training.weightDecay)
    for step in 0..<training.localSteps {
      gradient(on: rng.sample(batch, from: data.count), step: step)
      local.step(&network.parameters, gradient: network.gradients, learningRate: training.learningRate)
    }
    var delta = network.parameters
    for i in delta.indices { delta[i] -= model[i] }
    return (delta, batch * training.localSteps)
  }

  /// One DP-SGD step's gradient in `network.gradients`: the shard Poisson-sampled at rate
  /// batch / shard size (the draw from seed, stream, round and step), per-sample gradients
  /// clipped, Gaussian noise σ·C added to their sum, divided by the expected batch.
  func privateGradient(_ privacy: DPSGDConfiguration, round: Int, step: Int) {
    let q = DPSGDConfiguration.sampleRate(batchSize: training.batchSize, count: data.count)
    let indices = poissonBatch(round: round, step: step)
    if indices.isEmpty {
      network.addToGradients { _, g in for j in g.indices { g[j] = 0 } }
    } else {
      let x = data.materialize(indices)
      x.features.withUnsafeBufferPointer { f in
        x.labels.withUnsafeBufferPointer { l in
          _ = network.clippedGradientSum(f.baseAddress!, labels: l.baseAddress!, batch: indices.count, clip: privacy.clip)
        }
      }
    }
    var noise = RandomStream(seed: seed, purpose: .privacyNoise, stream, UInt64(round), UInt64(step))
    let scale = Float(privacy.noiseMultiplier) * privacy.clip, inverse = Float(1 / (q * Double(data.count)))
    network.addToGradients { _, g in
      noise.addNormals(g, scale: scale)
      for j in g.indices { g[j] *= inverse }
    }
  }

  /// DP-SGD's batch of a local step: every sample with probability batch / shard size, drawn
  /// from (seed, stream, round, step).
  func poissonBatch(round: Int, step: Int) -> [Int] {
    let q = DPSGDConfiguration.sampleRate(batchSize: training.batchSize, count: data.count)
    var draw = RandomStream(seed: seed, purpose: .privacySampling, stream, UInt64(round), UInt64(step))
    return draw.bernoulliIndices(count: data.count, probability: q)
  }
}
