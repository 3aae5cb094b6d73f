import Foundation
import Testing

@testable import Data
@testable import Learning
@testable import Tensor

/// DP-SGD's pieces against independent computations: per-sample gradients formed one sample at
/// a time by the ordinary backward pass (the thing ghost clipping avoids), a case by hand, and
/// the sampler's and noise's distributions.
@Suite struct PrivateTrainingTests {
  let mnist = ImageShape(height: 28, width: 28, channels: 1)

  /// Each sample's own gradient, one plain backward pass per sample.
  func perSampleGradients(_ net: Network, _ x: [Float], _ y: [Int32], batch: Int) -> [[Float]] {
    (0..<batch).map { i in
      Array(x[(i * net.inputSize)..<((i + 1) * net.inputSize)]).withUnsafeBufferPointer { xi in
        [y[i]].withUnsafeBufferPointer { yi in
          net.lossAndGradient(xi.baseAddress!, labels: yi.baseAddress!, batch: 1)
          return net.gradients
        }
      }
    }
  }

  func check(_ spec: ModelSpec, batch: Int, clip: Float) {
    let net = spec.makeNetwork(input: mnist, classes: 10, seed: 3)
    let (x, y) = GradientCheckTests.inputs(mnist, batch: batch, seed: 8)
    let each = perSampleGradients(net, x, y, batch: batch)
    let r = net.clippedGradientSum(x, labels: y, batch: batch, clip: clip)
    var expected = [Double](repeating: 0, count: net.parameterCount)
    var clippedCount = 0
    for (i, g) in each.enumerated() {
      let norm = g.reduce(0.0) { $0 + Double($1) * Double($1) }.squareRoot()
      #expect(abs(r.norms[i] - norm) <= 1e-4 * norm, "\(spec) sample \(i): norm \(r.norms[i]) vs \(norm)")
      let factor = min(1, Double(clip) / (norm + 1e-6))
      if factor < 1 { clippedCount += 1 }
      for j in g.indices { expected[j] += factor * Double(g[j]) }
    }
    #expect(r.clipped == clippedCount)
    let scale = expected.map(abs).max()!
    for j in expected.indices {
      #expect(abs(Double(net.gradients[j]) - expected[j]) <= 1e-4 * scale, "\(spec) parameter \(j)")
      if abs(Double(net.gradients[j]) - expected[j]) > 1e-4 * scale { break }
    }
  }

  @Test func clippedSumEqualsPerSampleGradientsClippedOneByOne() {
    check(ModelSpec(kind: .logreg), batch: 12, clip: 0.5)
    check(ModelSpec(kind: .mlp, hidden: [32, 16]), batch: 12, clip: 1)
    check(ModelSpec(kind: .cnn), batch: 5, clip: 1)
    // A clip above every norm: the plain sum.
    check(ModelSpec(kind: .mlp, hidden: [16]), batch: 7, clip: 1e6)
  }

  /// Dense 2→2 with zero parameters, x = (1, 2), label 0: p = (½, ½), the logit gradient is
  /// (−½, ½), the weight gradient its outer product with x, [[−½, −1], [½, 1]], the bias
  /// gradient (−½, ½): squared norm 2.5 + 0.5 = 3 (by hand). Clipped to 1: each entry / √3.
  @Test func aDenseLayerByHand() {
    let net = Network(layers: [Dense(inputs: 2, outputs: 2)], seed: 1)
    for i in net.parameters.indices { net.parameters[i] = 0 }
    let r = net.clippedGradientSum([1, 2], labels: [0], batch: 1, clip: 1)
    #expect(abs(r.norms[0] - 3.0.squareRoot()) < 1e-6)
    let f = Float(1 / (3.0.squareRoot() + 1e-6))
    let expected: [Float] = [-0.5 * f, -1 * f, 0.5 * f, 1 * f, -0.5 * f, 0.5 * f]
    for (a, b) in zip(net.gradients, expected) { #expect(abs(a - b) < 1e-6) }
  }

  /// Poisson sampling by geometric gaps: every index joins with probability p (per-index
  /// frequencies over 4,000 draws within 5 standard deviations), sizes average p·n.
  @Test func bernoulliIndicesAreBernoulli() {
    let n = 50, p = 0.1, draws = 4000
    var hits = [Int](repeating: 0, count: n)
    var total = 0
    for t in 0..<draws {
      var r = RandomStream(seed: 5, purpose: .privacySampling, UInt64(t))
      let picked = r.bernoulliIndices(count: n, probability: p)
      #expect(picked == picked.sorted() && Set(picked).count == picked.count && picked.allSatisfy { $0 >= 0 && $0 < n })
      for i in picked { hits[i] += 1 }
      total += picked.count
    }
    let sd = (Double(draws) * p * (1 - p)).squareRoot()
    for h in hits { #expect(abs(Double(h) - Double(draws) * p) < 5 * sd) }
    #expect(abs(Double(total) / Double(draws) - p * Double(n)) < 0.1)
    var r = RandomStream(seed: 1)
    #expect(r.bernoulliIndices(count: 5, probability: 1) == [0, 1, 2, 3, 4])
    #expect(r.bernoulliIndices(count: 5, probability: 0).isEmpty)
  }

  /// The polar method's variates: mean 0, variance 1, and the tails of a normal (P(|z| > 2) =
  /// 0.0455) over 10⁶ draws.
  @Test func addNormalsIsStandardNormal() {
    var values = [Float](repeating: 0, count: 1_000_001)
    var r = RandomStream(seed: 2, purpose: .privacyNoise, 0)
    values.withUnsafeMutableBufferPointer { r.addNormals($0, scale: 1) }
    let n = Double(values.count)
    let mean = values.reduce(0.0) { $0 + Double($1) } / n
    let variance = values.reduce(0.0) { $0 + (Double($1) - mean) * (Double($1) - mean) } / n
    let tails = Double(values.filter { abs($0) > 2 }.count) / n
    #expect(abs(mean) < 0.005 && abs(variance - 1) < 0.005 && abs(tails - 0.0455) < 0.002)
  }

  func dataset(_ count: Int, seed: UInt64) -> Dataset {
    let (x, y) = GradientCheckTests.inputs(mnist, batch: count, seed: seed)
    return Dataset(features: x, labels: y, shape: mnist, classes: 10)
  }

  /// Same seed, same model, bit for bit; another seed, another model.
  @Test func privateTrainingIsDeterministic() {
    let data = dataset(300, seed: 4)
    func train(_ seed: UInt64) -> [Float] {
      let net = ModelSpec(kind: .mlp, hidden: [16]).makeNetwork(input: mnist, classes: 10, seed: 1)
      let t = Trainer(
        network: net, configuration: TrainingConfiguration(epochs: 1, batchSize: 30, schedule: LearningRateSchedule(base: 0.1), seed: seed))
      t.trainPrivateEpoch(data, epoch: 0, privacy: DPSGDConfiguration(clip: 1, noiseMultiplier: 1.1))
      return net.parameters
    }
    #expect(train(7) == train(7))
    #expect(train(7) != train(8))
  }

  /// Without noise and with a clip no gradient reaches, a DP-SGD step is a plain SGD step on
  /// the Poisson-drawn samples, scaled by (drawn / expected batch).
  @Test func withoutNoiseAStepIsSGDOnTheDrawnSamples() {
    let data = dataset(200, seed: 6)
    let spec = ModelSpec(kind: .mlp, hidden: [16])
    let config = TrainingConfiguration(epochs: 1, batchSize: 200, schedule: LearningRateSchedule(base: 0.1), seed: 3)
    let a = spec.makeNetwork(input: mnist, classes: 10, seed: 1)
    // batch = n: q = 1, one step, every sample drawn.
    Trainer(network: a, configuration: config).trainPrivateEpoch(data, epoch: 0, privacy: DPSGDConfiguration(clip: 1e9, noiseMultiplier: 0))
    let b = spec.makeNetwork(input: mnist, classes: 10, seed: 1)
    Trainer(network: b, configuration: config).step(data, indices: 0..<200, learningRate: 0.1)
    for (u, v) in zip(a.parameters, b.parameters) { #expect(abs(u - v) <= 1e-5 * max(1, abs(v))) }
  }
}
