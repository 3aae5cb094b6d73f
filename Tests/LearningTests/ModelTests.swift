import Testing
@testable import Data
@testable import Learning
@testable import Tensor

@Suite struct ModelTests {
  let mnist = ImageShape(height: 28, width: 28, channels: 1)

  /// Parameter counts computed by hand from the architectures.
  @Test func parameterCounts() {
    // logreg: 784·10 + 10
    #expect(ModelSpec(kind: .logreg).makeNetwork(input: mnist, classes: 10, seed: 1).parameterCount == 7_850)
    // MLP 784-100-10: 784·100 + 100 + 100·10 + 10
    #expect(ModelSpec(kind: .mlp).makeNetwork(input: mnist, classes: 10, seed: 1).parameterCount == 79_510)
    // Fang CNN: conv 3·3·1·30+30, conv 3·3·30·50+50, FC 5·5·50·200+200, FC 200·10+10
    #expect(ModelSpec(kind: .cnn).makeNetwork(input: mnist, classes: 10, seed: 1).parameterCount == 300 + 13_550 + 250_200 + 2_010)
  }

  @Test func initialisationIsDeterministicFromTheSeed() {
    let a = ModelSpec(kind: .cnn).makeNetwork(input: mnist, classes: 10, seed: 5)
    let b = ModelSpec(kind: .cnn).makeNetwork(input: mnist, classes: 10, seed: 5)
    let c = ModelSpec(kind: .cnn).makeNetwork(input: mnist, classes: 10, seed: 6)
    #expect(a.parameters == b.parameters)
    #expect(a.parameters != c.parameters)
    // PyTorch-style bound: the first dense layer of the MLP has fan-in 784.
    let mlp = ModelSpec(kind: .mlp).makeNetwork(input: mnist, classes: 10, seed: 5)
    let bound = 1 / Float(784).squareRoot()
    #expect(mlp.parameters[0..<78_500].allSatisfy { abs($0) <= bound })
  }

  @Test func invalidSpecsAreExplained() {
    #expect(ModelSpec(kind: .mlp, hidden: []).problem(input: mnist) != nil)
    #expect(ModelSpec(kind: .cnn).problem(input: ImageShape(height: 8, width: 8, channels: 1))?.contains("10×10") == true)
  }

  /// A dense layer's forward pass, one input (GEMV) and a batch (GEMM), against y = W·x + b by
  /// hand: W = [[1, 2, 3], [−1, 0, 0.5]] (row per output), b = [0.5, −1], x = [1, −1, 2] → [5.5, −1];
  /// x = [0, 0.5, −2] → [−4.5, −2]. The batch's rows must equal the single inputs' outputs.
  @Test func denseForwardOneInputAndBatchWorkedExample() {
    let layer = Dense(inputs: 3, outputs: 2)
    let parameters: [Float] = [1, 2, 3, -1, 0, 0.5, 0.5, -1]
    var one = [Float](repeating: 0, count: 2), other = [Float](repeating: 0, count: 2)
    var both = [Float](repeating: 0, count: 4)
    layer.forward([1, -1, 2], &one, batch: 1, parameters: parameters)
    layer.forward([0, 0.5, -2], &other, batch: 1, parameters: parameters)
    layer.forward([1, -1, 2, 0, 0.5, -2], &both, batch: 2, parameters: parameters)
    #expect(one == [5.5, -1] && other == [-4.5, -2])
    #expect(both == one + other)
  }

  /// p=1, g=0.5, λ=0.1, μ=0.9, η=0.1, worked by hand:
  /// step 1: g' = 0.6, v = 0.6, p = 0.94; step 2: g' = 0.594, v = 1.134, p = 0.8266.
  @Test func sgdMomentumWeightDecayWorkedExample() {
    var sgd = SGD(parameterCount: 1, momentum: 0.9, weightDecay: 0.1)
    var p: [Float] = [1]
    sgd.step(&p, gradient: [0.5], learningRate: 0.1)
    #expect(abs(p[0] - 0.94) < 1e-6)
    sgd.step(&p, gradient: [0.5], learningRate: 0.1)
    #expect(abs(p[0] - 0.8266) < 1e-6)
    var plain = SGD(parameterCount: 1)
    var q: [Float] = [1]
    plain.step(&q, gradient: [0.5], learningRate: 0.1)
    #expect(abs(q[0] - 0.95) < 1e-7)
  }

  @Test func stepSchedule() {
    let s = LearningRateSchedule(base: 0.1, stepEpochs: 2, gamma: 0.5)
    #expect([0, 1, 2, 3, 4].map { s.rate(epoch: $0) } == [0.1, 0.1, 0.05, 0.05, 0.025])
    #expect(LearningRateSchedule(base: 0.1).rate(epoch: 9) == 0.1)
  }

  @Test func badConfigurationsAreExplained() {
    let base = TrainingConfiguration(epochs: 1, batchSize: 8, schedule: LearningRateSchedule(base: 0.1))
    #expect(base.problem == nil)
    var c = base; c.batchSize = 0
    #expect(c.problem?.contains("batch size") == true)
    c = base; c.momentum = 1
    #expect(c.problem?.contains("momentum") == true)
    c = base; c.schedule.base = .nan
    #expect(c.problem?.contains("learning rate") == true)
  }

  /// A separable synthetic task: class k lights up pixel block k. Every model must learn it,
  /// and the same seed must give bit-identical parameters.
  static func blocks(count: Int, seed: UInt64, shape: ImageShape) -> Dataset {
    var r = RandomStream(seed: seed)
    var x = [Float](repeating: 0, count: count * shape.size)
    var y = [Int32](repeating: 0, count: count)
    for i in 0..<count {
      let k = r.nextInt(below: 10)
      y[i] = Int32(k)
      for j in 0..<shape.size { x[i * shape.size + j] = r.nextFloat() * 0.3 }
      let row = (k / 5) * 10 + 3, col = (k % 5) * 5 + 2
      for a in 0..<4 { for b in 0..<3 { x[i * shape.size + (row + a) * shape.width + col + b] += 0.7 } }
    }
    return Dataset(features: x, labels: y, shape: shape, classes: 10)
  }

  @Test(arguments: [ModelKind.logreg, .mlp, .cnn])
  func learnsASeparableTaskDeterministically(kind: ModelKind) {
    let train = Self.blocks(count: 600, seed: 1, shape: mnist)
    let test = Self.blocks(count: 200, seed: 2, shape: mnist)
    let config = TrainingConfiguration(epochs: 2, batchSize: 32, schedule: LearningRateSchedule(base: 0.05), momentum: 0.9, seed: 3)
    func run() -> (Network, Evaluation) {
      let net = ModelSpec(kind: kind).makeNetwork(input: mnist, classes: 10, seed: 3)
      let before = net.evaluate(test)
      Trainer(network: net, configuration: config).fit(train)
      let after = net.evaluate(test)
      #expect(after.loss < before.loss)
      return (net, after)
    }
    let (a, evalA) = run()
    let (b, _) = run()
    #expect(evalA.accuracy > 0.9, "\(kind) reached only \(evalA.accuracy)")
    #expect(a.parameters == b.parameters)
  }
}
